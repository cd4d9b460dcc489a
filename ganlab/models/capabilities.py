"""What a model can do, declared by the classes it inherits.

The commands and callbacks ask ``isinstance(model, ImageGenerator)`` (and so on) instead of
probing for methods: a new model says what it offers by its bases, and the type checker sees
the same thing as the code. ``GAN`` is an ``ImageGenerator``, ``ConditionalGAN`` a
``LabelConditioned`` one, ``CycleGAN`` an ``ImageTranslator``, ``Pix2Pix`` a ``Restorer``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn


class ImageGenerator(ABC):
    """Images from latent vectors: ``ganlab-sample``, ``ganlab-eval`` and the evaluation
    callback draw with these."""

    @abstractmethod
    def sample_z(
        self, n: int, generator: torch.Generator | None = None, truncation: float | None = None
    ) -> torch.Tensor:
        """``n`` latent vectors on the model's device (``generator``: a seeded CPU one)."""

    @abstractmethod
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for ``z``, in eval mode."""

    # False: ``sample`` runs the trained G even where an EMA exists (``ganlab-eval ema=false``
    # measures both from one checkpoint).
    sample_with_ema: bool = True

    @property
    @abstractmethod
    def sampling_generator(self) -> nn.Module:
        """The net ``sample`` runs: an averaged (EMA) generator, or the trained one."""

    @property
    def uses_ema(self) -> bool:
        """Whether ``sample`` runs an averaged copy of G rather than G itself."""
        return self.sampling_generator is not self.generator


class LabelConditioned(ImageGenerator):
    """Images of given labels: ``ganlab-sample label=... per_class=true`` and the downstream
    measures that ask for images of each class. ``num_classes`` and ``multi_label`` say
    what the labels are (classes, or {0, 1} attribute vectors)."""

    num_classes: int
    multi_label: bool

    @abstractmethod
    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1] for ``z`` and ``labels`` (the model's default labels if None)."""

    @abstractmethod
    def parse_labels(self, value: Any, n: int) -> torch.Tensor:
        """``label=...`` as typed on the command line, as ``n`` labels."""

    @abstractmethod
    def per_class(self, n: int, seed: int) -> tuple[torch.Tensor, int]:
        """A grid of one row per class and the same z in each column; (images, row length)."""


class ImageTranslator(ABC):
    """Images from images: ``ganlab-sample input=DIR``, ``ganlab-eval``'s translation
    protocol, and the translation evaluation callback."""

    @abstractmethod
    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """``images`` in [-1, 1] translated in ``direction`` ("a2b" or "b2a")."""


class Reconstructor(ABC):
    """Images encoded and decoded again: the sample grid callback's reconstruction grid."""

    @abstractmethod
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` in [-1, 1] through the model and back (eval mode, no randomness: the
        posterior's mean decoded), in [-1, 1]."""


class LikelihoodModel(ABC):
    """A model with an estimate of log p(x): ``ganlab-eval metrics=[nll]``."""

    @abstractmethod
    def log_likelihood(
        self, images: torch.Tensor, k: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """A lower bound on log p(x) per image, in nats, from ``k`` samples (eval mode):
        tighter as ``k`` grows."""

    @abstractmethod
    def check_likelihood_data(self, images: torch.Tensor) -> None:
        """Raise a ConfigError when log p of ``images`` is not what it claims (a Bernoulli
        decoder's probability of grey levels, say)."""


class Restorer(ABC):
    """Clean images from degraded ones (``data/degrade``): the preview grid, the restoration
    evaluation and ``ganlab-sample input=DIR``."""

    @abstractmethod
    def restore(self, degraded: torch.Tensor) -> torch.Tensor:
        """The model's restoration of ``degraded`` inputs (the degradation's channels, in
        [-1, 1]), in eval mode, as images in [-1, 1]."""
