import pytest
import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.nets.unet import UnetBlock, UnetGenerator, auto_num_downs


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv(c_in: int, c_out: int, bias: bool = True) -> int:
    """Parameters of a 4x4 (transposed) conv."""
    return 16 * c_in * c_out + (c_out if bias else 0)


# The reference's unet_256 (models/networks.py, UnetGenerator(3, 3, 8, 64)), written down from
# its UnetSkipConnectionBlock: (c_in, c_out) of each conv, the down convs outermost level first.
REF_DOWN = [(3, 64), (64, 128), (128, 256), (256, 512), (512, 512), (512, 512), (512, 512),
            (512, 512)]  # fmt: skip
# The up convs innermost first (module order): each takes the level below's output concatenated
# with its skip (2x the channels), except the innermost one.
REF_UP = [(512, 512), (1024, 512), (1024, 512), (1024, 512), (1024, 256), (512, 128), (256, 64),
          (128, 3)]  # fmt: skip
# Norms (with --norm batch: a scale and a shift each): after every down conv but the outermost
# and the innermost, after every up conv but the outermost.
REF_NORMS = [128, 256, 512, 512, 512, 512] + [512, 512, 512, 512, 256, 128, 64]
# --norm batch: use_bias is False, so only the output conv (outermost up) keeps its bias.
UNET_256_BATCH = sum(conv(i, o, False) for i, o in REF_DOWN + REF_UP) + 3 + 2 * sum(REF_NORMS)
# --norm instance: every conv has a bias and the (non-affine) norms have no parameters.
UNET_256_INSTANCE = sum(conv(i, o) for i, o in REF_DOWN + REF_UP)


@pytest.fixture(scope="module")
def unet_256() -> UnetGenerator:
    torch.manual_seed(0)
    return UnetGenerator(3, 3, 64, num_downs=8, norm="batch", dropout=0.5)


def convs_of(net: nn.Module) -> list[nn.Module]:
    """Convs in module order: the down convs from the outermost in, then the up convs out."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


def test_unet_256_parameter_count_is_the_references(unet_256):
    assert UNET_256_BATCH == 54_413_955
    assert round(UNET_256_BATCH / 1e6, 3) == 54.414  # what the reference prints ('%.3f M')
    assert n_params(unet_256) == UNET_256_BATCH
    assert UNET_256_INSTANCE == 54_409_603
    assert n_params(UnetGenerator(3, 3, 64, num_downs=8, norm="instance")) == UNET_256_INSTANCE


def test_unet_256_layers_are_the_references(unet_256):
    convs = convs_of(unet_256)
    assert [(m.in_channels, m.out_channels) for m in convs] == REF_DOWN + REF_UP
    assert all(
        m.kernel_size == (4, 4) and m.stride == (2, 2) and m.padding == (1, 1) for m in convs
    )
    assert [m.bias is not None for m in convs] == [False] * 15 + [True]
    norms = [m.num_features for m in unet_256.modules() if isinstance(m, nn.BatchNorm2d)]
    assert sorted(norms) == sorted(REF_NORMS)
    outer = unet_256.model.model
    assert isinstance(outer[0], nn.Conv2d) and isinstance(outer[-1], nn.Tanh)  # no norm, no act.


def test_small_depth_uses_the_same_width_rule():
    # 28x28: two levels, widths ngf and 2 ngf; the innermost up conv is the only normalised one.
    g = UnetGenerator(1, 3, ngf=8, image_size=28)
    expected = conv(1, 8, False) + conv(8, 16, False) + conv(16, 8, False) + 2 * 8 + conv(16, 3)
    assert g.num_downs == 2 and n_params(g) == expected == 5_011


@pytest.mark.parametrize(
    "size,c_in,c_out,ngf,batch,downs",
    [(28, 1, 3, 8, 2, 2), (32, 3, 1, 8, 2, 5), (64, 4, 3, 4, 2, 6), (256, 3, 2, 4, 1, 8)],
)
def test_output_shape_and_range(size, c_in, c_out, ngf, batch, downs):
    torch.manual_seed(0)
    g = UnetGenerator(c_in, c_out, ngf=ngf, image_size=size)
    assert g.num_downs == downs and (g.in_channels, g.out_channels) == (c_in, c_out)
    out = g(torch.randn(batch, c_in, size, size) * 10)  # far outside [-1, 1]
    assert out.shape == (batch, c_out, size, size)
    assert out.abs().max() <= 1 and out.std() > 0.01


def test_out_channels_default_to_in_channels():
    g = UnetGenerator(4, ngf=2, num_downs=2)
    assert g.out_channels == 4 and g(torch.randn(1, 4, 8, 8)).shape == (1, 4, 8, 8)


@pytest.mark.parametrize(
    "size,downs", [(28, 2), (32, 5), (64, 6), (256, 8), (128, 7), (96, 5), (512, 8), (6, 1)]
)
def test_auto_num_downs(size, downs):
    assert auto_num_downs(size) == downs
    g = UnetGenerator(1, ngf=1, image_size=size)
    assert g.num_downs == downs
    assert len([m for m in g.modules() if isinstance(m, UnetBlock)]) == downs


def test_one_level_unet_runs():
    g = UnetGenerator(1, ngf=2, image_size=6)  # 6 -> 3 -> 6: the outermost level is innermost
    assert not any(isinstance(m, nn.BatchNorm2d) for m in g.modules())
    assert g(torch.randn(2, 1, 6, 6)).shape == (2, 1, 6, 6)


def test_no_norm_sees_the_1x1_bottleneck():
    g = UnetGenerator(1, ngf=1, image_size=256)
    sides: dict[str, list[int]] = {"norm": [], "conv": []}
    for m in g.modules():
        kind = (
            "norm" if isinstance(m, nn.BatchNorm2d) else "conv" if isinstance(m, nn.Conv2d) else ""
        )
        if kind:
            m.register_forward_hook(lambda m, i, o, k=kind: sides[k].append(o.shape[-1]))
    g(torch.randn(1, 1, 256, 256))  # training mode, batch 1
    assert sides["conv"] == [128, 64, 32, 16, 8, 4, 2, 1]  # the down convs
    assert min(sides["norm"]) == 2 and len(sides["norm"]) == 2 * 8 - 3
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm2d(1)(torch.randn(1, 1, 1, 1))  # what a norm there would do


@pytest.mark.parametrize("downs,levels", [(5, []), (6, [4]), (8, [4, 5, 6])])
def test_dropout_in_the_8ngf_levels_next_to_the_innermost(downs, levels):
    g = UnetGenerator(1, ngf=1, num_downs=downs, dropout=0.3)
    blocks = [m for m in g.modules() if isinstance(m, UnetBlock)]  # outermost first
    dropped = [i for i, b in enumerate(blocks) if isinstance(b.model[-1], nn.Dropout)]
    assert dropped == levels  # the reference's num_downs - 5 blocks
    assert all(blocks[i].model[-1].p == 0.3 for i in levels)
    assert all(isinstance(blocks[i].model[-2], nn.BatchNorm2d) for i in levels)  # after the norm
    off = UnetGenerator(1, ngf=1, num_downs=downs, dropout=0.0)
    assert not any(isinstance(m, nn.Dropout) for m in off.modules())


def test_dropout_is_noise_in_training_only():
    torch.manual_seed(0)
    g = UnetGenerator(1, ngf=2, image_size=64)  # 6 levels: one with dropout
    x = torch.randn(2, 1, 64, 64)
    assert not torch.equal(g(x), g(x))
    g.eval()
    assert torch.equal(g(x), g(x))


def test_each_skip_concatenates_the_block_input_unchanged():
    torch.manual_seed(0)
    g = UnetGenerator(3, ngf=2, image_size=32)
    seen = []
    for b in [m for m in g.modules() if isinstance(m, UnetBlock)][1:]:
        # Clones: the parent's up path starts with an in-place ReLU on this very tensor.
        b.register_forward_hook(lambda m, i, o: seen.append((i[0].clone(), o.clone())))
    g(torch.randn(2, 3, 32, 32))
    assert len(seen) == 4
    for x, out in seen:
        assert out.shape[1] == 2 * x.shape[1]  # input channels + as many from the level below
        assert torch.equal(out[:, : x.shape[1]], x)


def test_skips_carry_the_input_when_the_deep_path_is_dead():
    # Zero every weight below the outermost level: without skips the output would be a
    # constant; through the first skip each output pixel sees only its own neighbourhood.
    torch.manual_seed(0)
    g = UnetGenerator(1, ngf=4, image_size=32, norm="none", dropout=0.0)
    with torch.no_grad():
        for p in g.model.model[1].parameters():
            p.zero_()
    x = torch.randn(1, 1, 32, 32, requires_grad=True)
    out = g(x)
    assert (out - g(torch.randn(1, 1, 32, 32))).abs().max() > 1e-3
    for i, j in [(10, 10), (17, 22)]:
        (grad,) = torch.autograd.grad(out[0, 0, i, j], x, retain_graph=True)
        assert grad[0, 0, i, j] != 0
        far = torch.ones(32, 32, dtype=torch.bool)
        far[i - 3 : i + 4, j - 3 : j + 4] = False  # a 4x4 down conv, then a 4x4 up conv
        assert (grad[0, 0][far] == 0).all()


def test_output_depends_on_the_same_input_pixel():
    torch.manual_seed(0)
    g = UnetGenerator(3, ngf=4, image_size=64)
    x = torch.randn(1, 3, 64, 64, requires_grad=True)
    out = g(x)
    for i, j in [(0, 0), (31, 40), (63, 5)]:
        (grad,) = torch.autograd.grad(out[0, 0, i, j], x, retain_graph=True)
        assert (grad[0, :, i, j] != 0).all()


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_one_optimisation_step_changes_every_parameter(norm):
    torch.manual_seed(0)
    g = UnetGenerator(4, 3, ngf=4, image_size=32, norm=norm)
    params = list(g.parameters())
    before = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    (g(torch.randn(2, 4, 32, 32)) - target).abs().mean().backward()  # pix2pix's L1 term
    assert all(p.grad is not None and p.grad.abs().max() > 0 for p in params)
    opt.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, params))


@pytest.mark.parametrize("norm,kind", [("instance", nn.InstanceNorm2d), ("layer", nn.GroupNorm)])
def test_other_norms_and_their_biases(norm, kind):
    g = UnetGenerator(1, ngf=2, image_size=32, norm=norm)
    assert len([m for m in g.modules() if isinstance(m, kind)]) == 2 * 5 - 3
    # As cyclegan.py's BIASED_NORMS: biases only with instance norm (and none) and on the output.
    assert [m.bias is not None for m in convs_of(g)] == [norm == "instance"] * 9 + [True]
    assert g(torch.randn(1, 1, 32, 32)).shape == (1, 1, 32, 32)
    none = UnetGenerator(1, ngf=2, image_size=32, norm="none")
    assert all(m.bias is not None for m in convs_of(none))


def test_init(unet_256):
    big = convs_of(unet_256)[9]  # an up conv, 1024 -> 512: 8M weights
    assert big.weight.numel() == 8_388_608
    assert big.weight.std().item() == pytest.approx(0.02, rel=0.01)
    assert big.weight.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert torch.equal(convs_of(unet_256)[-1].bias, torch.zeros(3))
    bn = [m for m in unet_256.modules() if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight.detach() for m in bn])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.005)
    assert scales.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in bn)


K = r"model\.generator\."


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            {"image_size": 100, "num_downs": 3},
            K + r"image_size=100 is not a multiple of 2\*\*num_downs = 8: .*Use 96 or 104 via "
            r"data\.image_size, or set model\.generator\.num_downs=null",
        ),
        ({"image_size": 28, "num_downs": 3}, K + r"image_size=28 .* Use 24 or 32 via"),
        ({"image_size": 4, "num_downs": 3}, K + r"image_size=4 .* Use 8 via"),
        ({"num_downs": 0}, K + r"num_downs must be an integer >= 1, got 0"),
        ({"num_downs": 2.5}, K + r"num_downs must be an integer >= 1, got 2\.5"),
        ({"num_downs": None}, K + r"num_downs=null .* needs model\.generator\.image_size"),
        ({"image_size": 27}, K + r"image_size=27 is odd: .*e\.g\. 26\) via data\.image_size"),
        ({"image_size": 0}, K + r"image_size must be an integer >= 1, got 0"),
        ({"norm": "group"}, r"unknown model\.generator\.norm 'group'; choose one of .*batch"),
        ({"dropout": 1.0}, K + r"dropout must be in \[0, 1\), got 1\.0"),
        ({"dropout": -0.1}, K + r"dropout must be in \[0, 1\)"),
        ({"dropout": "0.5"}, K + r"dropout must be a number"),
        ({"dropout": True}, K + r"dropout must be a number"),
        ({"ngf": 0}, K + r"ngf must be an integer >= 1, got 0"),
        ({"in_channels": True}, K + r"in_channels must be an integer >= 1, got True"),
        ({"out_channels": 0}, K + r"out_channels must be an integer >= 1, got 0"),
    ],
)
def test_errors(kwargs, message):
    kwargs = {"ngf": 1, **kwargs}
    if "num_downs" not in kwargs and "image_size" not in kwargs:
        kwargs["num_downs"] = 2
    with pytest.raises(ConfigError, match=message):
        UnetGenerator(**kwargs)


def test_input_size_the_depth_cannot_halve():
    g = UnetGenerator(1, ngf=1, num_downs=3)
    with pytest.raises(ConfigError, match=r"got 28x28 images, but with num_downs=3 both sides "
                       r"must be multiples of 8: set model\.generator\.image_size"):  # fmt: skip
        g(torch.randn(1, 1, 28, 28))
