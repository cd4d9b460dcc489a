"""The conditional SNGAN nets: SNGAN's with the label paths added."""

import pytest
import torch

from ganlab.nets import (
    ConditionalSNGANGenerator,
    ProjectionSNGANDiscriminator,
    SNGANDiscriminator,
    SNGANGenerator,
)


def count(net) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("size", [28, 32])
def test_generator_adds_per_label_gains_and_biases_to_every_norm(size):
    plain, cond = (
        SNGANGenerator(size, 1, nz=8, ngf=16),
        ConditionalSNGANGenerator(size, 1, nz=8, ngf=16, num_classes=10),
    )
    blocks = len(plain.blocks)
    # Each block's two norms and the output norm: 10 classes x (gain + bias) x width, where
    # the plain norms had one affine pair each.
    norms = 2 * blocks + 1
    assert count(cond) - count(plain) == norms * 2 * 16 * (10 - 1)
    z = torch.randn(4, 8)
    images = cond(z, torch.tensor([0, 1, 2, 3]))
    assert images.shape == (4, 1, size, size) and images.abs().max() <= 1


def test_generator_output_depends_on_the_label():
    torch.manual_seed(0)
    g = ConditionalSNGANGenerator(32, 3, nz=8, ngf=16, num_classes=3)
    for norm in [g.out_norm, *(n for b in g.blocks for n in (b.norm1, b.norm2))]:
        torch.nn.init.normal_(norm.gain.weight, 0, 0.5)  # trained gains, not the identity
    z = torch.randn(1, 8).expand(3, -1)
    images = g(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(images[0], images[1]) and not torch.allclose(images[1], images[2])


@pytest.mark.parametrize("multi_label", [False, True])
def test_projection_discriminator_adds_the_label_term(multi_label):
    torch.manual_seed(0)
    d = ProjectionSNGANDiscriminator(32, 3, ndf=16, num_classes=4, multi_label=multi_label)
    x = torch.randn(2, 3, 32, 32)
    y = torch.tensor([[1.0, 0, 1, 0], [0, 1, 0, 0]]) if multi_label else torch.tensor([1, 3])
    out = d(x, y)
    assert out.shape == (2,)
    d.eval()  # spectral norm's power iteration frozen: the same weights for both calls
    h = d.features(x)
    embed = d.embed(y) if multi_label else d.embed.weight[y]
    assert torch.allclose(d(x, y), d.fc(h).view(-1) + (embed * h).sum(1), atol=1e-5)
    assert hasattr(d.embed, "parametrizations")  # spectrally normalised, as the paper does
    plain = SNGANDiscriminator(32, 3, ndf=16)
    assert count(d) - count(plain) == 4 * 16
