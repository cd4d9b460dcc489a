"""Generator and discriminator architectures: plain ``nn.Module``s, no Lightning."""

from ganlab.nets.cyclegan import PatchDiscriminator, ResnetGenerator
from ganlab.nets.dcgan import DCGANDiscriminator, DCGANGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "PatchDiscriminator", "ResnetGenerator"]
