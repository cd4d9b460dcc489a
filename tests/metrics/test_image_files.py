"""A folder of images read pixel for pixel for ganlab-eval fake_dir= / real_dir=."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.errors import ConfigError, DatasetError
from ganlab.metrics.image_files import ImageFiles
from ganlab.pixels import to_uint8


def write(folder, n=3, size=(8, 8), mode="L", start=0):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(start)
    shape = size[::-1] if mode == "L" else (*size[::-1], 3)
    arrays = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]
    for i, a in enumerate(arrays):
        Image.fromarray(a, mode).save(folder / f"{start + i:02d}.png")
    return arrays


def test_pixels_unchanged_in_order_and_gray_stays_one_channel(tmp_path):
    arrays = write(tmp_path / "g", n=3, size=(8, 6))
    files = ImageFiles(tmp_path / "g")
    assert (len(files), files.channels, files.image_size) == (3, 1, (6, 8))
    batch = files.batches(2)(2)
    assert batch.shape == (2, 1, 6, 8) and batch.dtype == torch.float32
    assert torch.equal(to_uint8(batch)[:, 0], torch.from_numpy(np.stack(arrays[:2])))
    assert torch.equal(to_uint8(files.batches(3)(3))[2, 0], torch.from_numpy(arrays[2]))


def test_one_colour_image_makes_the_folder_rgb(tmp_path):
    write(tmp_path / "m", n=2)
    rgb = write(tmp_path / "m", n=1, mode="RGB", start=5)
    files = ImageFiles(tmp_path / "m")
    assert files.channels == 3
    assert torch.equal(to_uint8(files[2]).permute(1, 2, 0), torch.from_numpy(rgb[0]))


def test_cache_name_follows_the_files(tmp_path):
    write(tmp_path / "c", n=2)
    before = ImageFiles(tmp_path / "c").cache_name
    assert before == ImageFiles(tmp_path / "c").cache_name and before.startswith("files-")
    write(tmp_path / "c", n=1, start=7)
    assert ImageFiles(tmp_path / "c").cache_name != before


def test_errors_name_the_folder_and_the_files(tmp_path):
    with pytest.raises(ConfigError, match=r"real_dir=.*nope: there is no such folder"):
        ImageFiles(tmp_path / "nope", "real_dir")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"fake_dir=.*empty holds no images \(.jpg"):
        ImageFiles(tmp_path / "empty")
    write(tmp_path / "sizes", n=1, size=(8, 8))
    write(tmp_path / "sizes", n=1, size=(16, 8), start=1)
    with pytest.raises(DatasetError, match=r"differ in size \(.*00.png is 8x8, .*01.png is 16x8\)"):
        ImageFiles(tmp_path / "sizes")
    write(tmp_path / "bad", n=1)
    (tmp_path / "bad" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"1 images cannot be read \(.*broken.png: "):
        ImageFiles(tmp_path / "bad")
