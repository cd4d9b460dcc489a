"""Generator and discriminator architectures: plain ``nn.Module``s, no Lightning."""

from ganlab.nets.cdcgan import (
    CBNDCGANGenerator,
    ConcatDiscriminator,
    ConditionalDCGANGenerator,
    ProjectionDiscriminator,
)
from ganlab.nets.csngan import ConditionalSNGANGenerator, ProjectionSNGANDiscriminator
from ganlab.nets.cyclegan import PatchDiscriminator, ResnetGenerator
from ganlab.nets.dcgan import DCGANDiscriminator, DCGANEncoder, DCGANGenerator
from ganlab.nets.sngan import SNGANDiscriminator, SNGANGenerator
from ganlab.nets.unet import UnetGenerator

__all__ = [
    "CBNDCGANGenerator",
    "ConcatDiscriminator",
    "ConditionalDCGANGenerator",
    "ConditionalSNGANGenerator",
    "DCGANDiscriminator",
    "DCGANEncoder",
    "DCGANGenerator",
    "PatchDiscriminator",
    "ProjectionDiscriminator",
    "ProjectionSNGANDiscriminator",
    "ResnetGenerator",
    "SNGANDiscriminator",
    "SNGANGenerator",
    "UnetGenerator",
]
