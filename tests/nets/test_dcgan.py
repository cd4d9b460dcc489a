import pytest
import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.nets import DCGANDiscriminator, DCGANEncoder, DCGANGenerator
from ganlab.nets.dcgan import stages


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# The PyTorch examples' DCGAN (examples/dcgan/main.py), written out here to pin ours to it.
def reference_generator(nz=100, ngf=64, nc=3):
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def reference_discriminator(ndf=64, nc=3):
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        nn.Sigmoid(),
    )


def test_64x64_matches_pytorch_examples_dcgan_exactly():
    g, d = DCGANGenerator(64, 3, 100, 64), DCGANDiscriminator(64, 3, 64)
    assert n_params(g) == n_params(reference_generator()) == 3_576_704
    assert n_params(d) == n_params(reference_discriminator()) == 2_765_568
    shapes = lambda m: [tuple(p.shape) for p in m.parameters()]
    assert shapes(g) == shapes(reference_generator())
    assert shapes(d) == shapes(reference_discriminator())


@pytest.mark.parametrize("size,start,k", [(28, 7, 2), (32, 4, 3), (64, 4, 4), (128, 4, 5)])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_resolution(size, start, k, channels):
    assert stages(size) == (start, k)
    g = DCGANGenerator(size, channels, nz=16, ngf=8)
    d = DCGANDiscriminator(size, channels, ndf=8)
    images = g(torch.randn(5, 16))
    assert images.shape == (5, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (5,)


@pytest.mark.parametrize("size", [16 * 7 + 1, 100, 7, 256 * 9])
def test_unsupported_size_is_a_clear_error(size):
    with pytest.raises(ConfigError, match="data.image_size"):
        DCGANGenerator(size, 1)


@pytest.mark.parametrize(
    "norm,kind",
    [("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm), ("instance", nn.InstanceNorm2d)],
)
def test_discriminator_norm_choice(norm, kind):
    d = DCGANDiscriminator(32, 1, ndf=8, norm=norm)
    assert sum(isinstance(m, kind) for m in d.modules()) == 2  # 32 = 4 * 2**3: two inner blocks
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules()) or norm == "batch"


def test_no_norm_and_unknown_norm():
    d = DCGANDiscriminator(32, 1, ndf=8, norm="none")
    assert not any(
        isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) for m in d.modules()
    )
    with pytest.raises(ConfigError, match="batch.*layer.*instance.*none"):
        DCGANDiscriminator(32, 1, norm="group")


def test_spectral_norm_bounds_every_conv():
    d = DCGANDiscriminator(32, 1, ndf=8, spectral_norm=True)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4 and all(hasattr(m, "parametrizations") for m in convs)
    for _ in range(30):  # power iteration converges in training mode
        d(torch.randn(2, 1, 32, 32))
    d.eval()
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)


def test_dcgan_init():
    torch.manual_seed(0)
    g = DCGANGenerator(64, 3)
    conv = g.main[3]  # 512 -> 256 transposed conv: 2M weights, a tight estimate of the std
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.01)
    assert conv.weight.mean().item() == pytest.approx(0.0, abs=1e-4)
    bn = g.main[1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(bn.bias, torch.zeros_like(bn.bias))


def test_one_optimisation_step_changes_every_parameter():
    torch.manual_seed(0)
    g, d = DCGANGenerator(32, 1, nz=16, ngf=8), DCGANDiscriminator(32, 1, ndf=8)
    before = [p.detach().clone() for p in [*g.parameters(), *d.parameters()]]
    opt = torch.optim.Adam([*g.parameters(), *d.parameters()], lr=1e-3)
    d(g(torch.randn(4, 16))).mean().backward()
    opt.step()
    after = list(g.parameters()) + list(d.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("size", [28, 32, 64])
def test_vae_encoder_and_raw_decoder(size):
    encoder = DCGANEncoder(size, 1, nz=6, ndf=8)
    mu, logvar = encoder(torch.randn(3, 1, size, size))
    assert mu.shape == logvar.shape == (3, 6) and encoder.nz == 6
    decoder = DCGANGenerator(size, 1, nz=6, ngf=8, output="none")
    out = decoder(mu)
    assert out.shape == (3, 1, size, size) and out.abs().max() > 0
    # The same layers as the tanh generator: only the last activation differs.
    tanh = DCGANGenerator(size, 1, nz=6, ngf=8)
    tanh.load_state_dict(decoder.state_dict())
    assert torch.allclose(tanh.eval()(mu), torch.tanh(decoder.eval()(mu)))
    with pytest.raises(ConfigError, match="unknown generator output 'relu'"):
        DCGANGenerator(size, 1, output="relu")


def test_discriminator_features_are_its_last_hidden_layer():
    d = DCGANDiscriminator(28, 1, ndf=8).eval()
    x = torch.randn(2, 1, 28, 28)
    features = d.features(x)
    assert features.shape == (2, 16 * 7 * 7)
    last = d.main[-1]
    assert torch.allclose(d(x), last(features.view(2, 16, 7, 7)).view(-1))
