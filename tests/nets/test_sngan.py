import pytest
import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.nets import SNGANDiscriminator, SNGANGenerator
from ganlab.nets.sngan import DBlock

SIZES = (28, 32, 48, 64, 128)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def sn_layers(module: nn.Module) -> tuple[int, int]:
    """(convs and linears, those with a spectral-norm parametrization)."""
    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return len(layers), sum(hasattr(m, "parametrizations") for m in layers)


# At the paper's widths (ngf/ndf None), 3 channels. For 32, 48, 64 and 128 these equal the
# parameter counts of mimicry's SNGANGenerator{S} / SNGANDiscriminator{S}, checked by building
# those classes from kwotsin/mimicry's source with torch 2.x (their forward passes matched ours
# exactly with the same weights, given the D ReLU difference noted in ganlab/nets/sngan.py).
# 28 has no mimicry counterpart: 32's layout less one G block, with a 7x7 start.
@pytest.mark.parametrize(
    "size,g_params,d_params",
    [
        (28, 4_119_555, 1_053_825),
        (32, 4_276_739, 1_053_825),
        (48, 4_878_083, 10_141_441),
        (64, 12_220_675, 10_141_441),
        (128, 32_150_787, 29_017_857),
    ],
)
def test_parameter_counts_at_the_papers_widths(size, g_params, d_params):
    assert n_params(SNGANGenerator(size)) == g_params
    assert n_params(SNGANDiscriminator(size)) == d_params


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_size(size, channels):
    torch.manual_seed(0)
    g = SNGANGenerator(size, channels, nz=16, ngf=16)
    d = SNGANDiscriminator(size, channels, ndf=16)
    assert g.nz == 16
    images = g(4 * torch.randn(3, 16))  # large z: tanh saturates, and stays within [-1, 1]
    assert images.shape == (3, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (3,)


@pytest.mark.parametrize("size", [40, 16, 256])
def test_unsupported_size_is_a_clear_error(size):
    for net in (SNGANGenerator, SNGANDiscriminator):
        with pytest.raises(ConfigError, match=r"data.image_size.*28, 32, 48, 64, 128"):
            net(size)


def test_widths_the_layout_cannot_divide_and_unknown_upsampling_are_clear_errors():
    with pytest.raises(ConfigError, match="ndf divisible by 16"):
        SNGANDiscriminator(64, ndf=8)  # 64's first D block is ndf / 16 wide
    with pytest.raises(ConfigError, match="ngf divisible by 16"):
        SNGANGenerator(128, ngf=24)
    with pytest.raises(ConfigError, match="bilinear.*nearest"):
        SNGANGenerator(32, ngf=8, upsample="bicubic")


def test_nearest_upsampling_builds_the_same_layers_with_other_outputs():
    torch.manual_seed(0)
    bilinear = SNGANGenerator(32, 1, nz=8, ngf=8)
    nearest = SNGANGenerator(32, 1, nz=8, ngf=8, upsample="nearest")
    nearest.load_state_dict(bilinear.state_dict())
    z = torch.randn(2, 8)
    assert nearest(z).shape == bilinear(z).shape
    assert not torch.allclose(nearest(z), bilinear(z))


@pytest.mark.parametrize("size,layers", [(28, 11), (32, 11), (128, 18)])
def test_spectral_norm_on_every_discriminator_layer_and_only_there(size, layers):
    # 32: 3 convs per block with a learnable shortcut (the first two), 2 per identity one, 1 linear
    assert sn_layers(SNGANDiscriminator(size, ndf=16)) == (layers, layers)
    assert sn_layers(SNGANDiscriminator(size, ndf=16, spectral_norm=False)) == (layers, 0)
    assert sn_layers(SNGANGenerator(size, ngf=16))[1] == 0


def test_discriminator_block_leaves_its_input_alone():
    # The shortcut must see x, not ReLU(x) (the paper's Chainer code; mimicry's in-place ReLU
    # rectifies it). Identity shortcut: the block's output is residual + x.
    block = DBlock(4, 4, downsample=False, sn=False)
    x = torch.randn(2, 4, 6, 6)
    x0 = x.clone()
    out = block(x)
    assert torch.equal(x, x0)
    assert torch.allclose(out - block.residual(x), x0)


def test_one_optimisation_step_changes_every_parameter():
    torch.manual_seed(0)
    g, d = SNGANGenerator(32, 3, nz=16, ngf=16), SNGANDiscriminator(32, 3, ndf=16)
    params = [*g.parameters(), *d.parameters()]
    before = [p.detach().clone() for p in params]
    # eps far below any gradient: each parameter then moves by about lr, however small its
    # gradient (a conv bias before BatchNorm has almost none, and with the default 1e-8 its
    # step fell below float32's resolution in a single-threaded run).
    opt = torch.optim.Adam(params, lr=2e-4, betas=(0.0, 0.9), eps=1e-30)
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    # The logistic D loss: softplus never saturates to a zero gradient (the hinge can), and
    # unlike a difference of means it does not cancel D's output bias.
    fake = d(g(torch.randn(4, 16)))
    loss = nn.functional.softplus(-d(real)).mean() + nn.functional.softplus(fake).mean()
    loss.backward()
    opt.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, params))
