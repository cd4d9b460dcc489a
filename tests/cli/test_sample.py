"""ganlab-sample on a checkpoint that a real (tiny) training run wrote."""

import pytest
import torch
from PIL import Image

from ganlab.errors import CheckpointError
from ganlab.models.sampling import generate, load_model
from tests.conftest import run_cli


@pytest.fixture
def ckpt(run_train):
    _, out = run_train(max_iters=2)
    return out / "checkpoints" / "last.ckpt"


def test_grid_and_folder_from_a_trained_checkpoint(ckpt, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    res = run_cli("sample", f"ckpt_path={ckpt}", "n=16", "nrow=4", "out=grid.png", cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert "iteration 2" in res.stdout
    assert Image.open(cwd / "grid.png").size == (4 * 30 + 2, 4 * 30 + 2)
    res = run_cli("sample", f"ckpt_path={ckpt}", "n=5", "out=imgs", cwd=cwd)
    assert res.returncode == 0, res.stderr
    files = sorted((cwd / "imgs").iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(5)]
    assert Image.open(files[0]).size == (28, 28)
    assert sorted(p.name for p in cwd.iterdir()) == ["grid.png", "imgs"]  # no log files


def test_loaded_model_reproduces_the_trained_generator(ckpt):
    model = load_model(ckpt)
    state = torch.load(ckpt, weights_only=False)["state_dict"]
    assert torch.equal(model.generator.main[0].weight, state["generator.main.0.weight"])
    assert model.g_steps == 2 and not model.generator.training
    a, b = generate(model, 10, seed=7, batch_size=4), generate(model, 10, seed=7, batch_size=10)
    assert a.shape == (10, 1, 28, 28) and torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, generate(model, 10, seed=8, batch_size=10))


@pytest.mark.parametrize("content", [None, b"not a checkpoint", "dict"])
def test_bad_checkpoint_paths_are_clear_errors(tmp_path, content):
    path = tmp_path / "x.ckpt"
    if content == "dict":
        torch.save({"state_dict": {}}, path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=str(path)):
        load_model(path)


def test_cli_bad_checkpoint_is_one_line(tmp_path):
    res = run_cli("sample", f"ckpt_path={tmp_path}/missing.ckpt", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip() == (
        f"ganlab: error: checkpoint not found: {tmp_path}/missing.ckpt. "
        "Runs keep theirs in <run_dir>/checkpoints/last.ckpt."
    )


def test_interpolation_strips_run_between_two_latents(ckpt, tmp_path):
    from ganlab.models.sampling import interpolation_strips, slerp

    model = load_model(ckpt)
    strips = interpolation_strips(model, rows=3, steps=5, seed=1)
    assert strips.shape == (15, 1, 28, 28)
    gen = torch.Generator().manual_seed(1)
    a, b = model.sample_z(3, gen), model.sample_z(3, gen)
    assert torch.allclose(strips[0::5], model.sample(a), atol=1e-5)  # each row starts at a
    assert torch.allclose(strips[4::5], model.sample(b), atol=1e-5)  # ... and ends at b
    mid = slerp(a, b * a.norm(dim=1, keepdim=True) / b.norm(dim=1, keepdim=True), torch.tensor(0.5))
    assert torch.allclose(mid.norm(dim=1), a.norm(dim=1), rtol=1e-4)  # no dip in the norm
    res = run_cli(
        "sample", f"ckpt_path={ckpt}", "n=2", "interpolate=4", "out=strips.png", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert Image.open(tmp_path / "strips.png").size == (4 * 30 + 2, 2 * 30 + 2)


def test_truncation_bounds_the_latents(ckpt):
    model = load_model(ckpt)
    z = model.sample_z(2000, torch.Generator().manual_seed(0), truncation=0.5)
    assert z.abs().max() <= 0.5 and z.std() < 0.35  # N(0,1) cut to [-0.5, 0.5]: std 0.28
    plain = generate(model, 8, seed=0, batch_size=8)
    assert not torch.allclose(plain, generate(model, 8, seed=0, batch_size=8, truncation=0.5))


def test_a_full_disk_leaves_no_half_written_image_and_names_it(tmp_path, monkeypatch):
    import errno

    from ganlab.cli import sample
    from ganlab.cli.common import user_error

    written = []

    def full_at_the_third(image, path, **grid):
        Image.new("L", (2, 2)).save(path)
        written.append(path)
        if len(written) == 3:  # PIL reports a full disk without the file's name
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sample, "save_image", full_at_the_third)
    out = tmp_path / "imgs"
    with pytest.raises(OSError) as err:
        sample.write(torch.zeros(5, 1, 4, 4), out, nrow=5)
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png"]
    assert str(user_error(err.value)) == (
        f"No space left on device ({out / '000002.png'}). Make room on that disk, or write to "
        "another one (runs go under GANLAB_LOG_DIR, or paths.log_dir), and run again."
    )


def test_a_checkpoint_one_may_not_read_says_so(tmp_path, monkeypatch):
    import errno

    from ganlab.models import loading

    path = tmp_path / "x.ckpt"
    path.write_bytes(b"PK")

    def denied(file, mode="r"):  # root reads anything: the OS's answer to another user
        raise PermissionError(errno.EACCES, "Permission denied", str(file))

    monkeypatch.setattr(loading, "open", denied, raising=False)
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    assert str(err.value) == f"cannot read checkpoint {path}: Permission denied."
