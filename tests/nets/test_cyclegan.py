import pytest
import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.nets import PatchDiscriminator, ResnetGenerator
from ganlab.nets.cyclegan import cyclegan_init, receptive_field


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv(k: int, c_in: int, c_out: int, bias: bool = True) -> int:
    """Parameters of a k x k (transposed) conv."""
    return k * k * c_in * c_out + (c_out if bias else 0)


# The reference's totals, derived layer by layer (instance norm has no parameters).
RESNET_BLOCK_256 = 2 * conv(3, 256, 256)  # 1,180,160
G_NO_BLOCKS = (
    conv(7, 3, 64)  # 9,472
    + conv(3, 64, 128)  # 73,856 (stride-2 down)
    + conv(3, 128, 256)  # 295,168
    + conv(3, 256, 128)  # 295,040 (transposed, up)
    + conv(3, 128, 64)  # 73,792
    + conv(7, 64, 3)  # 9,411
)
D_70 = conv(4, 3, 64) + conv(4, 64, 128) + conv(4, 128, 256) + conv(4, 256, 512) + conv(4, 512, 1)


def test_parameter_counts_are_the_references():
    # The reference prints 11.378 M (resnet_9blocks) and 2.765 M (basic D) with --norm instance.
    assert G_NO_BLOCKS + 9 * RESNET_BLOCK_256 == 11_378_179
    assert n_params(ResnetGenerator(3, 3, 64, n_blocks=9)) == 11_378_179
    assert G_NO_BLOCKS + 6 * RESNET_BLOCK_256 == 7_837_699
    assert n_params(ResnetGenerator(3, 3, 64, n_blocks=6)) == 7_837_699
    assert D_70 == 2_764_737
    assert n_params(PatchDiscriminator(3, 64, 3)) == 2_764_737


def test_parameter_counts_with_batch_norm():
    # BatchNorm: the convs it follows lose their bias (c) and the norm adds a scale and a shift
    # (2c), so each normalised layer gains c parameters: the reference's 11.383 M and 2.766 M.
    g_normalised = 64 + 128 + 256 + 18 * 256 + 128 + 64
    assert n_params(ResnetGenerator(norm="batch")) == 11_378_179 + g_normalised == 11_383_427
    d_normalised = 128 + 256 + 512
    assert n_params(PatchDiscriminator(norm="batch")) == 2_764_737 + d_normalised == 2_765_633


def test_mnist_config_parameter_count():
    expected = (
        conv(7, 1, 32)
        + conv(3, 32, 64)
        + conv(3, 64, 128)
        + 6 * 2 * conv(3, 128, 128)
        + conv(3, 128, 64)
        + conv(3, 64, 32)
        + conv(7, 32, 1)
    )
    assert expected == 1_958_785
    assert n_params(ResnetGenerator(1, ngf=32, n_blocks=6)) == expected


def test_generator_keeps_the_size_and_discriminator_gives_a_30x30_map_at_256():
    g, d = ResnetGenerator(3, ngf=8, n_blocks=2), PatchDiscriminator(3, ndf=8)
    out = g(torch.randn(1, 3, 256, 256))
    assert out.shape == (1, 3, 256, 256)
    assert d(out).shape == (1, 1, 30, 30)


def test_mnist_config_shapes():
    g = ResnetGenerator(1, ngf=32, n_blocks=6, image_size=32)
    assert g(torch.randn(2, 1, 32, 32)).shape == (2, 1, 32, 32)
    # 32 -> 16 -> 8 -> 4 (three stride-2 convs) -> 3 -> 2 (two stride-1 4x4 convs, pad 1)
    d = PatchDiscriminator(1, ndf=8, n_layers=3)
    assert d(torch.randn(2, 1, 32, 32)).shape == (2, 1, 2, 2)


@pytest.mark.parametrize("size,n_layers,side", [(256, 1, 126), (256, 2, 62), (256, 4, 14)])
def test_patch_map_size(size, n_layers, side):
    d = PatchDiscriminator(1, ndf=4, n_layers=n_layers)
    assert d(torch.randn(1, 1, size, size)).shape == (1, 1, side, side)
    assert side == size // 2**n_layers - 2


def test_in_and_out_channels():
    g = ResnetGenerator(1, 3, ngf=4, n_blocks=1)
    assert g(torch.randn(2, 1, 16, 16)).shape == (2, 3, 16, 16)
    assert ResnetGenerator(3, ngf=4, n_blocks=1).out_channels == 3  # None: same as the input


@pytest.mark.parametrize("n_layers,rf", [(1, 16), (2, 34), (3, 70), (4, 142)])
def test_receptive_field_values(n_layers, rf):
    assert receptive_field(n_layers) == rf


def test_receptive_field_needs_a_layer():
    with pytest.raises(ConfigError, match=r"model\.discriminator_a/b\.n_layers must be an integer"):
        receptive_field(0)


def input_window(n_layers: int, i: int, size: int) -> tuple[int, int]:
    """Rows [first, last] of a size x size input that output row i sees, clipped at the borders.

    The net's total stride is 2**n_layers; its paddings (1 per conv) add up, in input pixels, to
    1 + 2 + ... + 2**(n_layers - 1) for the stride-2 convs and 2**n_layers for each stride-1 one.
    """
    stride = 2**n_layers
    first = i * stride - (3 * stride - 1)
    last = first + receptive_field(n_layers) - 1
    return max(first, 0), min(last, size - 1)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_each_logit_sees_exactly_its_receptive_field(n_layers):
    # Without a norm: instance norm's mean and variance are taken over the whole feature map,
    # so with it every logit depends (weakly) on every pixel: see
    # test_instance_norm_makes_every_logit_depend_on_every_pixel.
    torch.manual_seed(0)
    d = PatchDiscriminator(1, ndf=4, n_layers=n_layers, norm="none").double()
    size = 128
    x = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = d(x)
    side = out.shape[-1]
    rf = receptive_field(n_layers)
    for i, j in [(0, 0), (side // 2, side // 3), (side - 1, side - 1)]:
        (grad,) = torch.autograd.grad(out[0, 0, i, j], x, retain_graph=True)
        expected = torch.zeros(size, size, dtype=torch.bool)
        (r0, r1), (c0, c1) = input_window(n_layers, i, size), input_window(n_layers, j, size)
        expected[r0 : r1 + 1, c0 : c1 + 1] = True
        assert torch.equal(grad[0, 0] != 0, expected)
        if 0 < i < side - 1:  # an interior unit: the full window, unclipped
            assert r1 - r0 + 1 == rf


def test_changing_one_pixel_changes_only_the_logits_whose_patch_covers_it():
    torch.manual_seed(0)
    d = PatchDiscriminator(1, ndf=4, n_layers=3, norm="none").double()
    x = torch.randn(1, 1, 96, 96, dtype=torch.float64)
    y = x.clone()
    r, c = 50, 20
    y[0, 0, r, c] += 1.0
    changed = (d(x) != d(y))[0, 0]
    side = changed.shape[0]
    covers = lambda i, p: input_window(3, i, 96)[0] <= p <= input_window(3, i, 96)[1]
    expected = torch.tensor(
        [[covers(i, r) and covers(j, c) for j in range(side)] for i in range(side)]
    )
    assert torch.equal(changed, expected)
    # Row 50 lies in the windows of rows 1..9 (70 / 8: 8 or 9 per axis); column 20, near the
    # border, in those of columns 0..5 only.
    assert expected.sum() == 9 * 6


def test_instance_norm_makes_every_logit_depend_on_every_pixel():
    torch.manual_seed(0)
    d = PatchDiscriminator(1, ndf=4, n_layers=3).double()
    x = torch.randn(1, 1, 128, 128, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(d(x)[0, 0, 0, 0], x)
    assert (grad != 0).all()


def test_output_range_and_different_inputs_give_different_outputs():
    torch.manual_seed(0)
    g = ResnetGenerator(3, ngf=8, n_blocks=2)
    x = torch.randn(4, 3, 32, 32) * 10  # far outside [-1, 1]: the tanh still bounds it
    out = g(x)
    assert out.abs().max() <= 1
    assert out.std() > 0.01
    for a in range(4):
        for b in range(a + 1, 4):
            assert (out[a] - out[b]).abs().max() > 1e-3


def test_instance_norm_keeps_the_samples_of_a_batch_independent():
    torch.manual_seed(0)
    g, d = ResnetGenerator(3, ngf=8, n_blocks=2), PatchDiscriminator(3, ndf=8)
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(g(x)[1:2], g(x[1:2]))
    torch.testing.assert_close(d(x)[1:2], d(x[1:2]))
    g.eval()  # no running statistics: eval mode normalises exactly as training does
    torch.testing.assert_close(g(x), g.train()(x))


def test_dropout_only_when_asked():
    assert not any(isinstance(m, nn.Dropout) for m in ResnetGenerator(ngf=4).modules())
    torch.manual_seed(0)
    g = ResnetGenerator(3, ngf=8, n_blocks=3, dropout=0.5)
    drops = [m for m in g.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3 and all(m.p == 0.5 for m in drops)
    x = torch.randn(2, 3, 16, 16)
    assert not torch.equal(g(x), g(x))  # training: a fresh mask each call
    g.eval()
    assert torch.equal(g(x), g(x))


NORM_KINDS = {
    "instance": nn.InstanceNorm2d,
    "batch": nn.BatchNorm2d,
    "layer": nn.GroupNorm,
    "none": None,
}
ALL_NORMS = (nn.InstanceNorm2d, nn.BatchNorm2d, nn.GroupNorm)


@pytest.mark.parametrize("norm", list(NORM_KINDS))
def test_every_norm_builds_and_runs(norm):
    kind = NORM_KINDS[norm]
    g = ResnetGenerator(1, ngf=4, n_blocks=2, norm=norm)
    d = PatchDiscriminator(1, ndf=4, n_layers=3, norm=norm)
    # G: stem + 2 down + 2 per block + 2 up = 9 norms; D: one per inner conv = 3.
    for net, count in [(g, 9), (d, 3)]:
        norms = [m for m in net.modules() if isinstance(m, ALL_NORMS)]
        assert len(norms) == (0 if kind is None else count)
        assert all(isinstance(m, kind) for m in norms)
    assert g(torch.randn(2, 1, 16, 16)).shape == (2, 1, 16, 16)
    assert d(torch.randn(2, 1, 32, 32)).shape == (2, 1, 2, 2)
    # Conv biases only where no affine norm follows (and always on the output convs).
    biased = [
        m.bias is not None for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    assert biased == [norm in ("instance", "none")] * 9 + [True]
    biased = [m.bias is not None for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert biased == [True] + [norm in ("instance", "none")] * 3 + [True]


def test_instance_norm_is_the_references_not_dcgans():
    for net in (ResnetGenerator(ngf=4, n_blocks=1), PatchDiscriminator(ndf=4)):
        norms = [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
        assert norms and all(not m.affine and not m.track_running_stats for m in norms)


def test_unknown_norm():
    with pytest.raises(ConfigError, match=r"model\.generator_ab/ba\.norm 'group'.*instance"):
        ResnetGenerator(norm="group")
    with pytest.raises(ConfigError, match=r"model\.discriminator_a/b\.norm.*batch.*layer.*none"):
        PatchDiscriminator(norm="spectral")


@pytest.mark.parametrize("n_layers", [1, 3])
def test_spectral_norm_on_every_conv(n_layers):
    d = PatchDiscriminator(1, ndf=4, n_layers=n_layers, spectral_norm=True)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == n_layers + 2 and all(hasattr(m, "parametrizations") for m in convs)
    for _ in range(30):  # power iteration converges in training mode
        d(torch.randn(2, 1, 32, 32))
    d.eval()
    for m in convs:
        sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)
    plain = PatchDiscriminator(1, ndf=4, n_layers=n_layers)
    assert not any(hasattr(m, "parametrizations") for m in plain.modules())


def test_init():
    torch.manual_seed(0)
    g = ResnetGenerator()  # the reference's 9-block G
    block_conv = g.model[10].block[1]  # 256 -> 256 3x3: 589,824 weights
    assert block_conv.weight.numel() == 589_824
    assert block_conv.weight.std().item() == pytest.approx(0.02, rel=0.02)
    assert block_conv.weight.mean().item() == pytest.approx(0.0, abs=1e-4)
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert len(convs) == 24 and all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in convs)
    big = PatchDiscriminator(ndf=64).model[8]  # 256 -> 512 4x4 stride 1: 2M weights
    assert big.weight.std().item() == pytest.approx(0.02, rel=0.02)
    bn = [m for m in ResnetGenerator(norm="batch").modules() if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight.detach() for m in bn])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.005)
    assert scales.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in bn)


def test_init_reaches_the_weight_under_spectral_norm():
    # With spectral norm ``weight`` is computed from ``parametrizations.weight.original``: the
    # init must draw the original, else it would write into a temporary and be lost.
    torch.manual_seed(0)
    d = PatchDiscriminator(ndf=64, spectral_norm=True)
    original = d.model[8].parametrizations.weight.original
    original.data.fill_(1.0)
    cyclegan_init(d.model[8])
    assert original.std().item() == pytest.approx(0.02, rel=0.02)
    assert torch.equal(d.model[8].bias, torch.zeros_like(d.model[8].bias))


def test_biases_before_instance_norm_get_no_gradient():
    # Instance norm subtracts each channel's mean, so the bias of the conv before it cancels:
    # the reference keeps these parameters (they are in its counts) but they never learn.
    torch.manual_seed(0)
    g = ResnetGenerator(1, ngf=4, n_blocks=1).double()
    g(torch.randn(2, 1, 16, 16, dtype=torch.float64)).square().mean().backward()
    for name, p in g.named_parameters():
        cancelled = name.endswith("bias") and name != f"model.{len(g.model) - 2}.bias"
        assert (p.grad.abs().max().item() < 1e-12) == cancelled, name


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"ngf": 0}, r"model\.generator_ab/ba\.ngf must be an integer >= 1, got 0"),
        ({"n_blocks": -1}, r"n_blocks must be an integer >= 0, got -1"),
        ({"n_downsampling": 1.5}, r"n_downsampling must be an integer >= 0, got 1\.5"),
        ({"in_channels": 0}, r"in_channels must be an integer >= 1"),
        ({"dropout": 1.0}, r"model\.generator_ab/ba\.dropout must be in \[0, 1\), got 1\.0"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\)"),
        ({"dropout": "0.5"}, r"dropout must be a number"),
    ],
)
def test_generator_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ResnetGenerator(**kwargs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"ndf": 0}, r"model\.discriminator_a/b\.ndf must be an integer >= 1, got 0"),
        ({"n_layers": 0}, r"model\.discriminator_a/b\.n_layers must be an integer >= 1, got 0"),
        ({"channels": True}, r"channels must be an integer >= 1, got True"),
    ],
)
def test_discriminator_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PatchDiscriminator(**kwargs)


def test_n_blocks_zero_is_allowed():
    g = ResnetGenerator(1, ngf=4, n_blocks=0, image_size=8)
    assert g(torch.randn(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_image_size_not_a_multiple_of_the_downsampling():
    msg = (
        r"model\.generator_ab/ba\.image_size=30 is not a multiple of 2\*\*n_downsampling = 4: "
        r"the generator would return 32x32 images, not 30x30\. Use a multiple of 4 that is "
        r">= 8 \(e\.g\. 28 or 32\), via data\.image_size"
    )
    with pytest.raises(ConfigError, match=msg):
        ResnetGenerator(1, ngf=4, n_blocks=1, image_size=30)
    # What it guards against: without image_size, 30x30 silently becomes 32x32.
    assert ResnetGenerator(1, ngf=4, n_blocks=1)(torch.randn(1, 1, 30, 30)).shape[-1] == 32
    with pytest.raises(ConfigError, match=r"multiple of 8 .*\(e\.g\. 24 or 32\)"):
        ResnetGenerator(1, ngf=4, n_downsampling=3, image_size=28)


@pytest.mark.parametrize("n_downsampling,smallest", [(0, 4), (1, 4), (2, 8), (3, 16)])
@pytest.mark.parametrize("n_blocks", [0, 1])
def test_smallest_image_size_is_what_the_network_needs(n_downsampling, smallest, n_blocks):
    kwargs = {"ngf": 2, "n_blocks": n_blocks, "n_downsampling": n_downsampling}
    g = ResnetGenerator(1, image_size=smallest, **kwargs)
    assert g(torch.randn(1, 1, smallest, smallest)).shape[-1] == smallest
    smaller = smallest - 2**n_downsampling  # the next size down that divides evenly
    with pytest.raises(ConfigError, match=f"too small: .*Use image_size >= {smallest}"):
        ResnetGenerator(1, image_size=smaller, **kwargs)
    # torch agrees: at that size a reflection pad or an instance norm fails
    with pytest.raises((RuntimeError, ValueError), match="Padding size|more than 1 spatial"):
        g(torch.randn(1, 1, smaller, smaller))
