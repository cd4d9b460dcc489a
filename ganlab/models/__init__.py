"""LightningModules (manual optimization)."""

from ganlab.models.conditional_gan import ConditionalGAN
from ganlab.models.cyclegan import CycleGAN
from ganlab.models.gan import GAN
from ganlab.models.pix2pix import Pix2Pix
from ganlab.models.vae import VAE
from ganlab.models.vaegan import VAEGAN

__all__ = ["GAN", "VAE", "VAEGAN", "ConditionalGAN", "CycleGAN", "Pix2Pix"]
