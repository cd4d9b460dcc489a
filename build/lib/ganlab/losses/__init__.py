"""Adversarial losses: one file per loss, all with the ``AdversarialLoss`` interface."""

from ganlab.losses.base import AdversarialLoss
from ganlab.losses.hinge import HingeLoss
from ganlab.losses.js import JSLoss
from ganlab.losses.ls import LSLoss
from ganlab.losses.wgan import WGANLoss
from ganlab.losses.wgan_gp import WGANGPLoss, gradient_penalty

__all__ = [
    "AdversarialLoss",
    "HingeLoss",
    "JSLoss",
    "LSLoss",
    "WGANGPLoss",
    "WGANLoss",
    "gradient_penalty",
]
