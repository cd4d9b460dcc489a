"""Conditional DCGAN nets: shapes for class and attribute labels, that labels matter, and
the projection discriminator's formula."""

from functools import partial

import pytest
import torch

from ganlab.errors import ConfigError
from ganlab.nets import (
    CBNDCGANGenerator,
    ConcatDiscriminator,
    ConditionalDCGANGenerator,
    DCGANGenerator,
    ProjectionDiscriminator,
)
from ganlab.nets.cdcgan import LabelEmbedding, label_planes

GENERATORS = [
    ConditionalDCGANGenerator,
    partial(ConditionalDCGANGenerator, embed_dim=6),
    CBNDCGANGenerator,
]
DISCRIMINATORS = [ProjectionDiscriminator, ConcatDiscriminator]


def labels(multi_label: bool, n: int = 4, k: int = 5) -> torch.Tensor:
    if multi_label:
        return torch.tensor([[1, 0, 1, 0, 0], [0, 1, 0, 0, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])[
            :n
        ].float()
    return torch.tensor([0, 3, 4, 1])[:n]


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3)])
def test_generator_shapes(make, multi_label, size, channels):
    g = make(
        image_size=size, channels=channels, nz=16, ngf=8, num_classes=5, multi_label=multi_label
    )
    out = g(torch.randn(4, 16), labels(multi_label))
    assert out.shape == (4, channels, size, size)
    assert out.abs().max() <= 1


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("make", DISCRIMINATORS)
def test_discriminator_shapes(make, multi_label):
    d = make(image_size=32, channels=3, ndf=8, num_classes=5, multi_label=multi_label)
    assert d(torch.randn(4, 3, 32, 32), labels(multi_label)).shape == (4,)


@pytest.mark.parametrize("make", GENERATORS)
def test_different_classes_give_different_images_for_the_same_z(make):
    torch.manual_seed(0)
    # Train mode: batch norm scales the label's effect up to the images' range (a fresh
    # net in eval mode makes images of about 1e-4, where every difference is tiny).
    g = make(image_size=28, channels=1, nz=16, ngf=8, num_classes=10).train()
    for p in g.parameters():  # CBN starts as the identity: move it off, as training would
        if p.dim() == 2:  # the label embeddings
            torch.nn.init.normal_(p, 0.0, 0.5)
    z = torch.randn(1, 16).expand(10, -1)
    images = g(z, torch.arange(10))
    for a in range(10):
        for b in range(a + 1, 10):
            assert (images[a] - images[b]).abs().max() > 1e-3, (a, b)
    # ... and the same class, the same image.
    assert torch.equal(g(z[:2], torch.tensor([3, 3]))[0], g(z[:2], torch.tensor([3, 3]))[1])


def test_cbn_generator_starts_as_the_unconditional_one():
    """Conditional batch norm's gains and biases start at 1 and 0: every class alike."""
    g = CBNDCGANGenerator(image_size=28, channels=1, nz=16, ngf=8, num_classes=10).eval()
    z = torch.randn(1, 16).expand(10, -1)
    images = g(z, torch.arange(10))
    assert torch.equal(images[0].expand_as(images), images)


def test_projection_term():
    """D(x, y) = psi(phi(x)) + <embed(y), sum-pooled phi(x)>, the paper's formula."""
    torch.manual_seed(0)
    d = ProjectionDiscriminator(image_size=28, channels=1, ndf=8, num_classes=10).eval()
    x, y = torch.randn(3, 1, 28, 28), torch.tensor([2, 7, 7])
    h = d.features(x)
    expected = d.head(h).view(-1) + (d.embed.weight[y] * h.sum(dim=(2, 3))).sum(1)
    assert torch.allclose(d(x, y), expected, atol=1e-6)
    # The unconditional part is the same for every label; only the projection differs.
    diff = d(x, torch.tensor([2, 2, 2])) - d(x, torch.tensor([5, 5, 5]))
    proj = ((d.embed.weight[2] - d.embed.weight[5]) * h.sum(dim=(2, 3))).sum(1)
    assert torch.allclose(diff, proj, atol=1e-6)


def test_multi_label_embedding_is_the_sum_of_the_present_attributes():
    emb = LabelEmbedding(5, 3, multi_label=True)
    y = torch.tensor([[1.0, 0, 1, 0, 0], [0, 0, 0, 0, 0]])
    out = emb(y)
    assert torch.allclose(out[0], emb.weight[0] + emb.weight[2])
    assert torch.equal(out[1], torch.zeros(3))


def test_label_planes():
    x = torch.zeros(2, 3, 4, 4)
    planes = label_planes(torch.tensor([1, 0]), 3, False, x)
    assert planes.shape == (2, 3, 4, 4)
    assert planes[0, 1].eq(1).all() and planes[0, [0, 2]].eq(0).all() and planes[1, 0].eq(1).all()
    attrs = label_planes(torch.tensor([[1.0, 0.0], [1.0, 1.0]]), 2, True, x)
    assert attrs[:, :, 2, 3].tolist() == [[1.0, 0.0], [1.0, 1.0]]


def test_concat_generator_is_dcgan_on_z_and_the_labels():
    g = ConditionalDCGANGenerator(image_size=28, channels=1, nz=16, ngf=8).eval()
    assert isinstance(g.net, DCGANGenerator) and g.net.nz == 26 and g.embed is None
    z, y = torch.randn(2, 16), torch.tensor([4, 9])
    one_hot = torch.zeros(2, 10)
    one_hot[0, 4] = one_hot[1, 9] = 1
    assert torch.equal(g(z, y), g.net(torch.cat([z, one_hot], 1)))
    attrs = ConditionalDCGANGenerator(28, 1, nz=16, ngf=8, num_classes=3, multi_label=True).eval()
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert torch.equal(attrs(z, y), attrs.net(torch.cat([z, y], 1)))
    learned = ConditionalDCGANGenerator(image_size=28, channels=1, nz=16, ngf=8, embed_dim=6).eval()
    assert learned.net.nz == 22
    z, y = torch.randn(2, 16), torch.tensor([4, 9])
    assert torch.equal(learned(z, y), learned.net(torch.cat([z, learned.embed.weight[y]], 1)))


def test_wrong_label_shapes_and_counts_are_refused():
    emb = LabelEmbedding(5, 3)
    with pytest.raises(ValueError, match=r"expected \(B,\) class indices, got \(2, 5\)"):
        emb(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"expected \(B, 5\) labels, got \(2,\)"):
        LabelEmbedding(5, 3, multi_label=True)(torch.zeros(2))
    with pytest.raises(ConfigError, match="num_classes must be >= 1"):
        LabelEmbedding(0, 3)
