"""LightningModules (manual optimization)."""

from ganlab.models.conditional_gan import ConditionalGAN
from ganlab.models.cyclegan import CycleGAN
from ganlab.models.gan import GAN

__all__ = ["GAN", "ConditionalGAN", "CycleGAN"]
