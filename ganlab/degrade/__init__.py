"""Degradations: clean images -> the inputs of a restoration model (``data/degrade`` group)."""

from ganlab.degrade.base import Degradation, NoDegradation, generators
from ganlab.degrade.blur import Blur
from ganlab.degrade.downsample import Downsample
from ganlab.degrade.jpeg import JPEG
from ganlab.degrade.mask import Mask
from ganlab.degrade.noise import Noise

__all__ = [
    "JPEG",
    "Blur",
    "Degradation",
    "Downsample",
    "Mask",
    "NoDegradation",
    "Noise",
    "generators",
]
