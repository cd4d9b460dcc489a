import inspect
import io
from functools import partial
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ganlab.augment import ADA, Augment, DiffAugment, NoAugment, diffaug
from ganlab.augment.diffaug import brightness, contrast, saturation
from ganlab.cli.check_config import check_targets
from ganlab.cli.common import CONF_DIR
from ganlab.errors import ConfigError


def rand(*shape, seed=0):
    """Uniform in [-1, 1): distinct values, so each can be found again after a shift."""
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def marked(b, h, w, at):
    """Channel 0 zero but for a 10 at ``at``; channels 1-2 random: the 10 shows the shift."""
    x = rand(b, 3, h, w)
    x[:, 0] = 0
    x[:, 0, at[0], at[1]] = 10
    return x


def marker_shift(out, at):
    """Where each image's 10 moved to, minus where it was: (B, 2) (rows, columns)."""
    flat = out[:, 0].flatten(1).argmax(1)
    w = out.shape[-1]
    return torch.stack((flat // w - at[0], flat % w - at[1]), 1)


def shifted(x, my, mx):
    """``x`` (C, H, W) with its content moved by (my, mx), zero filled."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    out[:, max(my, 0) : h + min(my, 0), max(mx, 0) : w + min(mx, 0)] = x[
        :, max(-my, 0) : h + min(-my, 0), max(-mx, 0) : w + min(-mx, 0)
    ]
    return out


def test_adaptive_is_declared():
    assert not NoAugment.adaptive and not DiffAugment.adaptive and ADA.adaptive
    assert issubclass(ADA, Augment) and NoAugment().logs() == {} == DiffAugment().logs()


def test_none_and_p_zero_are_the_identity():
    x = rand(4, 3, 16, 16)
    assert torch.equal(NoAugment().draw(x)(x), x)
    assert torch.equal(DiffAugment(p=0.0).draw(x)(x), x)
    assert torch.equal(ADA().draw(x)(x), x)  # p_init = 0


def test_translation_stays_within_diffaugment_ranges_and_is_exact():
    torch.manual_seed(0)
    at = (8, 12)  # H 16: shifts up to int(16 / 8 + 0.5) = 2 rows; W 24: int(3.5) = 3 columns
    x = marked(256, 16, 24, at)
    out = DiffAugment("translation").draw(x)(x)
    shift = marker_shift(out, at)
    assert set(shift[:, 0].tolist()) == set(range(-2, 3))
    assert set(shift[:, 1].tolist()) == set(range(-3, 4))
    for b in range(0, 256, 17):
        assert torch.equal(out[b], shifted(x[b], *shift[b].tolist()))


def test_one_draw_applies_to_every_batch():
    torch.manual_seed(0)
    x = rand(16, 3, 16, 16)
    move = DiffAugment("translation").draw(x)
    assert torch.equal(move(-x), -move(x))
    cut = DiffAugment("cutout").draw(x)
    assert torch.equal(cut(x + 5) == 0, cut(x - 5) == 0)
    assert (cut(x + 5) == 0).any()
    # Colour is affine per image: a constant added to the input comes out added.
    color = DiffAugment("color", p=0.5).draw(x)
    assert torch.allclose(color(x + 0.25), color(x) + 0.25, atol=1e-5)
    full = DiffAugment().draw(x)
    assert torch.equal(full(x), full(x))
    with pytest.raises(ValueError, match="a draw for a batch of"):
        full(x[:8])


def test_images_of_a_batch_get_their_own_draws():
    torch.manual_seed(0)
    at = (8, 8)
    x = marked(1, 16, 16, at).expand(16, -1, -1, -1)
    shifts = marker_shift(DiffAugment("translation")(x), at)
    assert len({tuple(s) for s in shifts.tolist()}) > 8  # of 5 x 5 possible
    holes = DiffAugment("cutout")(x + 2) == 0
    assert len({tuple(h.nonzero()[0].tolist()) for h in holes}) > 8
    colours = DiffAugment("color")(x).mean((1, 2, 3))
    assert len({round(float(v), 4) for v in colours}) == 16


@pytest.mark.parametrize("size,side", [(16, 8), (14, 7)])  # int(size / 2 + 0.5), even and odd
def test_cutout_zeroes_a_square_clipped_at_the_borders(size, side):
    torch.manual_seed(0)
    x = torch.ones(512, 1, size, size)
    holes = DiffAugment("cutout").draw(x)(x)[:, 0] == 0
    centres = []
    for hole in holes:
        rows, cols = hole.any(1).nonzero()[:, 0], hole.any(0).nonzero()[:, 0]
        r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
        assert hole.sum() == (r1 - r0 + 1) * (c1 - c0 + 1)  # a filled rectangle
        for lo, hi in ((r0, r1), (c0, c1)):
            assert hi - lo + 1 == side or (lo == 0 or hi == size - 1) and hi - lo + 1 < side
        top = r0 if r0 > 0 else r1 - side + 1
        centres.append(int(top) + side // 2)
    # DiffAugment's centres: 0 .. size - side % 2.
    assert min(centres) == 0 and max(centres) == size - side % 2


def test_colour_functions_on_known_values():
    x = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    u = torch.full((1, 1, 1, 1), 0.25)
    expected = torch.tensor([0.3, 0.4, 0.5]).view(1, 3, 1, 1)
    assert torch.allclose(brightness(x, u), x - 0.25)
    assert torch.allclose(saturation(x, u), expected)  # x 2u around the channel mean
    assert torch.allclose(contrast(x, u.new_zeros(1, 1, 1, 1)), expected)  # x (u + 0.5)
    gray = torch.tensor([0.5, -0.5]).view(1, 1, 1, 2)
    assert torch.equal(saturation(gray, u), gray)
    assert torch.allclose(contrast(gray, u), 0.75 * gray)


def test_colour_draws_one_uniform_per_image_and_operation(monkeypatch):
    torch.manual_seed(0)
    drawn = {}
    for name in ("brightness", "saturation", "contrast"):
        monkeypatch.setattr(diffaug, name, partial(record, drawn, name))
    x = rand(2000, 3, 2, 2)
    assert torch.equal(DiffAugment("color")(x), x)
    assert list(drawn) == ["brightness", "saturation", "contrast"]  # DiffAugment's order
    for u in drawn.values():
        assert u.shape == (2000, 1, 1, 1) and 0 <= u.min() < 0.01 and 0.99 < u.max() < 1
    assert not torch.equal(drawn["brightness"], drawn["saturation"])


def test_colour_draws_cover_diffaugments_ranges():
    torch.manual_seed(0)
    color = DiffAugment("color")
    # A constant image: saturation and contrast leave it; brightness adds U[-0.5, 0.5).
    offset = color(torch.full((2000, 3, 2, 2), 0.1))[..., 0, 0, 0] - 0.1
    assert -0.5 - 1e-6 <= offset.min() < -0.49 and 0.49 < offset.max() < 0.5
    # One channel, pixels +-a: saturation leaves them; contrast scales by [0.5, 1.5).
    out = color(torch.tensor([0.2, -0.2]).view(1, 1, 1, 2).expand(2000, 1, 1, 2))
    scale = (out[..., 0] - out[..., 1]).flatten() / 0.4
    assert 0.5 - 1e-6 <= scale.min() < 0.51 and 1.49 < scale.max() < 1.5 + 1e-6


def test_p_applies_each_operation_to_that_share_of_images():
    torch.manual_seed(0)
    x = torch.ones(4000, 1, 8, 8)
    cut = (DiffAugment("cutout", p=0.3)(x) == 0).flatten(1).any(1).float().mean()
    assert cut == pytest.approx(0.3, abs=0.03)


def test_gradients_reach_the_input_exactly():
    torch.manual_seed(0)
    x = rand(8, 3, 16, 16).requires_grad_(True)
    out = DiffAugment("translation")(x)
    out.sum().backward()
    # 1 for the pixels still in view (each value of x appears once in out), 0 for the others.
    seen = torch.stack([torch.isin(x[b], out[b]) for b in range(8)]).float()
    assert torch.equal(x.grad, seen) and 0 < seen.mean() < 1
    x.grad = None
    out = DiffAugment("cutout")(x + 2)
    out.sum().backward()
    assert torch.equal(x.grad, (out != 0).float()) and 0 < x.grad.mean() < 1
    x.grad = None
    DiffAugment()(x).square().sum().backward()
    assert x.grad.isfinite().all() and x.grad.abs().sum() > 0


def test_dtype_is_kept():
    x = rand(4, 3, 8, 8).bfloat16()
    assert DiffAugment(p=0.5)(x).dtype == torch.bfloat16


def test_no_host_sync_in_draw_apply_and_observe():
    # Meta tensors have no values: .item(), bool(tensor) or a branch on one would raise.
    ada = ADA(p_init=0.5, interval=2).to("meta")
    x = torch.empty(4, 3, 16, 16, device="meta")
    assert ada(x).shape == x.shape
    for _ in range(4):
        ada.observe(torch.empty((), device="meta"), 4)
    assert ada.logs()["augment_p"].device.type == "meta"


def record(drawn, name, x, u):
    drawn[name] = u
    return x


def observe(ada, values, n=64):
    for r_t in values:
        ada.observe(torch.tensor(float(r_t)), n)


def test_ada_p_follows_the_overfitting_heuristic():
    ada = ADA(kimg=1, target=0.5)  # one step: 4 D steps * 64 images / 1000 = 0.256
    observe(ada, [1] * 3)
    assert ada.p == 0  # only every interval (4) calls
    observe(ada, [1])
    assert ada.p.item() == pytest.approx(0.256)
    observe(ada, [1] * 4)
    assert ada.p.item() == pytest.approx(0.512)
    observe(ada, [0.5] * 4)  # r_t at the target: no change
    assert ada.p.item() == pytest.approx(0.512)
    # The mean over the interval counts, not the first or last value: 0 < 0.5.
    observe(ada, [1, -1, -1, 1])
    assert ada.p.item() == pytest.approx(0.256)
    observe(ada, [-1] * 8)
    assert ada.p == 0
    assert ada.logs() == {"augment_p": ada.p} and ada.logs()["augment_p"] is not ada.p


def test_ada_weights_r_t_by_images_and_clamps_at_p_max():
    ada = ADA(interval=2, kimg=0.1, p_max=0.5)
    ada.observe(torch.tensor(1.0), 30)
    ada.observe(torch.tensor(0.0), 10)  # (30 * 1 + 10 * 0) / 40 = 0.75: up by 40 / 100
    assert ada.p.item() == pytest.approx(0.4)
    observe(ada, [1, 1], n=10)
    assert ada.p.item() == 0.5  # p_max, not 0.6
    observe(ada, [1, 1])
    assert ada.p.item() == 0.5
    big = ADA(interval=2, kimg=1)
    observe(big, [0.75, 0.75], n=250)  # each r_t a mean over 250 images: 0.75 > 0.6
    assert big.p.item() == pytest.approx(0.5)


def test_ada_sums_over_processes_before_updating(monkeypatch):
    calls = []

    def all_reduce(totals):  # a second process that saw 256 images all scored "fake"
        calls.append(totals.clone())
        totals += torch.tensor([-256.0, 256.0])

    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "all_reduce", all_reduce)
    ada = ADA(kimg=1, p_init=0.6)
    observe(ada, [1] * 4)
    # Only once per interval; (256 - 256) / 512 < 0.6: down by 512 / 1000.
    assert len(calls) == 1 and calls[0].tolist() == [256, 256]
    assert ada.p.item() == pytest.approx(0.088)


def test_ada_state_dict_round_trip_continues_identically():
    a = ADA(kimg=1, p_init=0.1)
    observe(a, [1] * 6)  # one update (+0.256), two calls into the next interval
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    b = ADA(kimg=1)
    b.load_state_dict(torch.load(buffer, weights_only=True))
    assert b.calls == 6 and b.p.item() == pytest.approx(0.356)
    assert b.sign_sum == a.sign_sum == 128 and b.seen == a.seen == 128
    # (1 + 1 + 1 + 0) / 4 > 0.6 at the 8th call: up. Without the saved counter b would not
    # update; without the saved sums it would go down (1 + 0) / 2 < 0.6.
    observe(a, [1, 0])
    observe(b, [1, 0])
    assert b.p == a.p and a.p.item() == pytest.approx(0.612)


def test_policy_names_and_errors():
    both = DiffAugment(["translation", "cutout"]).policy
    assert both == DiffAugment("translation, cutout").policy == ("translation", "cutout")
    assert DiffAugment(OmegaConf.create(["color"])).policy == ("color",)
    with pytest.raises(ConfigError, match=r"augment\.policy.*color, translation, cutout.*color\?"):
        DiffAugment("colour,cutout")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": 1.0},
        {"target": 0},
        {"interval": 0},
        {"kimg": 0},
        {"p_init": 0.6, "p_max": 0.5},
        {"p_max": 1.5},
        {"p_init": -0.1},
        {"translation": -0.1},
    ],
)
def test_ada_rejects_bad_settings(kwargs):
    with pytest.raises(ConfigError, match="augment."):
        ADA(**kwargs)


@pytest.mark.parametrize("name", ["none", "diffaug", "ada"])
def test_configs_instantiate_with_the_python_defaults(name):
    cfg = OmegaConf.load(Path(CONF_DIR, "augment", f"{name}.yaml"))
    check_targets(OmegaConf.create({"augment": cfg}), keys=("augment",))
    augment = instantiate(cfg)
    assert isinstance(augment, Augment)
    defaults = inspect.signature(type(augment)).parameters
    for key, value in cfg.items():
        if key != "_target_":
            default = defaults[key].default
            if key == "policy":
                value = ",".join(value)
            assert value == default, key
