"""LightningModules (manual optimization)."""

from ganlab.models.conditional_gan import ConditionalGAN
from ganlab.models.cyclegan import CycleGAN
from ganlab.models.gan import GAN
from ganlab.models.vae import VAE

__all__ = ["GAN", "VAE", "ConditionalGAN", "CycleGAN"]
