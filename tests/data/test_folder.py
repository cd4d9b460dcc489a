"""FolderDataModule: recursive discovery, mode/size handling, and bad-image detection."""

from __future__ import annotations

import PIL.Image
import pytest
import torch
from PIL import ImageFile

from ganlab.data import FolderDataModule, LabelSpec
from ganlab.errors import ConfigError, DatasetError


@pytest.fixture
def folder(tmp_path, make_image):
    """5 good images of mixed formats, modes and sizes in nested folders, plus files to ignore."""
    root = tmp_path / "images"
    make_image(root / "a" / "rgba.png", "RGBA", (50, 80))
    make_image(root / "a" / "b" / "photo.JPG", "RGB", (100, 60), "JPEG")
    make_image(root / "gray.png", "L", (64, 64))
    make_image(root / "c" / "palette.png", "P", (70, 70))
    make_image(root / "c" / "d" / "e" / "tiny.jpeg", "RGB", (20, 30), "JPEG")
    (root / "notes.txt").write_text("not an image extension: ignored")
    make_image(root / ".thumbs" / "hidden.png", "RGB", (8, 8))  # hidden folder: ignored
    return root


def test_finds_images_recursively_sorted(folder):
    dm = FolderDataModule(folder)
    dm.setup("fit")
    relative = [p.relative_to(folder).as_posix() for p in dm.train_set.paths]
    assert relative == [
        "a/b/photo.JPG",
        "a/rgba.png",
        "c/d/e/tiny.jpeg",
        "c/palette.png",
        "gray.png",
    ]


@pytest.mark.parametrize("channels", [3, 1])
def test_every_mode_and_size_becomes_a_square_in_range(folder, channels):
    dm = FolderDataModule(folder, channels=channels)
    dm.setup("fit")
    for i in range(len(dm.train_set)):
        image, target = dm.train_set[i]
        assert image.shape == (channels, 64, 64) and image.dtype == torch.float32
        assert image.min() >= -1 and image.max() <= 1 and target == 0


def test_no_splits_and_loader_drops_last(folder):
    dm = FolderDataModule(folder, image_size=16, batch_size=2, num_workers=0, repeat=1)
    assert dm.get_dataset("val") is dm.get_dataset("test") is dm.get_dataset("train")
    batches = list(dm.train_dataloader())
    assert [tuple(x.shape) for x, _ in batches] == [(2, 3, 16, 16)] * 2  # 5 // 2, rest dropped
    assert torch.equal(batches[0][1], torch.zeros(2, dtype=torch.int64))


def test_extensions_filter_case_insensitively(folder):
    dm = FolderDataModule(folder, extensions=[".PNG"])  # a list, as Hydra passes it
    assert len(dm.get_dataset("train")) == 3


def test_bad_images_listed_in_one_error(folder, make_truncated_jpeg):
    truncated = make_truncated_jpeg(folder / "a" / "cut.jpg")
    fake = folder / "c" / "fake.png"
    fake.write_bytes(b"this is text, not a PNG")
    with pytest.raises(DatasetError, match="2 of 7 images") as err:
        FolderDataModule(folder).setup("fit")
    message = str(err.value)
    assert str(truncated) in message and str(fake) in message
    assert "data.on_bad_image=skip" in message


def test_skip_drops_bad_images_with_a_warning(folder, make_truncated_jpeg):
    make_truncated_jpeg(folder / "cut.jpg")
    (folder / "fake.png").write_bytes(b"\x00" * 64)
    dm = FolderDataModule(folder, on_bad_image="skip")
    with pytest.warns(UserWarning, match="Skipping 2 unreadable image"):
        dm.setup("fit")
    assert len(dm.train_set) == 5
    assert all(dm.train_set[i][0].shape == (3, 64, 64) for i in range(5))


def test_check_ignores_global_truncated_setting(folder, make_truncated_jpeg, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    make_truncated_jpeg(folder / "cut.jpg")
    with pytest.raises(DatasetError, match="cut.jpg"):
        FolderDataModule(folder).setup("fit")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored


def test_many_bad_images_are_summarised(tmp_path, make_image):
    make_image(tmp_path / "ok.png", "RGB", (8, 8))
    for i in range(23):
        (tmp_path / f"bad{i:02d}.png").write_bytes(b"x")
    with pytest.raises(DatasetError) as err:
        FolderDataModule(tmp_path).setup("fit")
    message = str(err.value)
    assert "bad19.png" in message and "bad20.png" not in message
    assert "... and 3 more" in message


def test_unchecked_bad_image_fails_with_its_path(folder):
    fake = folder / "fake.png"
    fake.write_bytes(b"text")
    dm = FolderDataModule(folder, check_images=False)
    dm.setup("fit")
    index = [p.name for p in dm.train_set.paths].index("fake.png")
    with pytest.raises(DatasetError, match="Cannot read image") as err:
        dm.train_set[index]
    assert str(fake) in str(err.value)


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="No images in .*empty"):
        FolderDataModule(tmp_path / "empty").setup("fit")
    with pytest.raises(DatasetError, match="does not exist; set data.root"):
        FolderDataModule(tmp_path / "nowhere").setup("fit")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"on_bad_image": "ignore"},
            "data.on_bad_image='ignore' is not a choice; use one of error, skip",
        ),
        ({"channels": 2}, "data.channels must be 1 or 3"),
        ({"labels": "folder"}, "data.labels='folder' is not a choice; use null .* or subfolder"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        FolderDataModule(tmp_path, **kwargs)


def test_progress_bar_path_finds_the_same_bad_files(folder, monkeypatch):
    import ganlab.data.folder as folder_mod

    monkeypatch.setattr(folder_mod, "PROGRESS_MIN_FILES", 1)  # normally only for big folders
    (folder / "fake.png").write_bytes(b"x")
    dm = FolderDataModule(folder, on_bad_image="skip")
    with pytest.warns(UserWarning, match="Skipping 1 unreadable image"):
        dm.setup("fit")
    assert len(dm.train_set) == 5


def test_no_labels_by_default(folder):
    assert FolderDataModule(folder).label_spec() is None


def test_subfolder_labels(folder, make_image):
    (folder / "gray.png").unlink()
    (folder / "b").mkdir()
    (folder / "b" / "fake.png").write_bytes(b"x")  # b's only image is unreadable
    (folder / "notes").mkdir()
    (folder / "notes" / "readme.txt").write_text("no images: not a class")
    dm = FolderDataModule(folder, labels="subfolder", on_bad_image="skip", batch_size=4, repeat=1)
    with pytest.warns(UserWarning, match="Skipping 1 unreadable image"):
        spec = dm.label_spec()
    # b stays class 1 although its image is skipped, so skipping never renumbers c.
    assert spec == LabelSpec(3, False, ("a", "b", "c"))
    relative = [p.relative_to(folder).as_posix() for p in dm.get_dataset("train").paths]
    assert relative == ["a/b/photo.JPG", "a/rgba.png", "c/d/e/tiny.jpeg", "c/palette.png"]
    assert [dm.get_dataset("train")[i][1] for i in range(4)] == [0, 0, 2, 2]
    (_, labels), *rest = list(dm.train_dataloader())
    assert not rest and labels.dtype == torch.int64 and sorted(labels.tolist()) == [0, 0, 2, 2]


def test_subfolder_labels_refuse_loose_images(folder):
    with pytest.raises(DatasetError) as err:
        FolderDataModule(folder, labels="subfolder").setup("fit")
    assert str(err.value) == (
        f"data.labels=subfolder takes each image's class from its folder, but 1 image(s) lie "
        f"directly in {folder}, e.g. {folder / 'gray.png'}. Expected layout: "
        f"{folder}/<class>/*.png (e.g. {folder}/cat/001.png); move them into class folders."
    )


@pytest.mark.parametrize("workers", [0, 2])
def test_limit_keeps_the_first_images_of_a_folder(folder, workers):
    full = FolderDataModule(folder, image_size=16, num_workers=workers, persistent_workers=False)
    first = [full.get_dataset("train")[i][0] for i in range(3)]
    dm = FolderDataModule(folder, image_size=16, batch_size=3, num_workers=workers,
                          persistent_workers=False, limit=3, repeat=2)  # fmt: skip
    batches = [images for images, _ in dm.train_dataloader()]
    assert len(batches) == 2  # 2 passes of 3 images
    for images in batches:  # each pass is the first 3 images, in its own order
        assert sorted(map(tuple, images.flatten(1).tolist())) == sorted(
            map(tuple, torch.stack(first).flatten(1).tolist())
        )


def test_memory_mode_decodes_once_into_the_same_pixels(folder, monkeypatch):
    files = FolderDataModule(folder, image_size=16, prepared="never", num_workers=0)
    decoded = files.get_dataset("train")
    expected = torch.stack([decoded[i][0] for i in range(len(decoded))])
    memory = FolderDataModule(folder, image_size=16, batch_size=2, num_workers=2,
                              prepared="memory", persistent_workers=False)  # fmt: skip
    dataset = memory.get_dataset("train")
    assert torch.equal(torch.stack([dataset[i][0] for i in range(len(dataset))]), expected)
    opened = []
    original = PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: opened.append(a) or original(*a, **k))
    torch.manual_seed(0)
    batch = next(iter(memory.train_dataloader()))[0]
    assert batch.dtype == torch.uint8  # read as a prepared array: scaled on the device
    # Evaluation's loader has 2 workers: the images travel to them with the dataset.
    assert torch.equal(torch.cat([x for x, _ in memory.dataloader("train")]), expected)
    assert opened == []  # no file decoded after setup


def test_odd_images_decode_as_viewed_and_prepare_gives_the_same_pixels(tmp_path):
    import numpy as np

    root = tmp_path / "odd"
    root.mkdir()
    PIL.Image.fromarray(np.full((12, 12), 40000, dtype=np.uint16)).save(root / "deep.png")
    exif = PIL.Image.Exif()
    exif[0x0112] = 6
    PIL.Image.new("RGB", (16, 8), (200, 10, 10)).save(root / "phone.png", exif=exif)
    PIL.Image.new("RGBA", (12, 12), (0, 0, 255, 0)).save(root / "clear.png")
    PIL.Image.new("CMYK", (12, 12), (0, 255, 255, 0)).save(root / "print.jpg")
    PIL.Image.new("RGB", (3, 2), (0, 200, 0)).save(root / "small.png")
    settings = {"image_size": 8, "num_workers": 0}
    with pytest.warns(UserWarning) as caught:
        files = FolderDataModule(root, prepared="never", **settings).get_dataset("train")
    # one warning: the count and an example of what is upscaled
    expected = (
        f"1 of 5 images in {root} are smaller than data.image_size=8 (e.g. {root / 'small.png'}, "
        "3x2) and are upscaled. data.min_source_size=8 leaves them out (with "
        "data.on_bad_image=skip) or stops on them."
    )
    assert [str(w.message) for w in caught] == [expected]
    images = {p.name: files[i][0] for i, p in enumerate(files.paths)}
    to_uint8 = lambda x: ((x + 1) * 127.5).round().to(torch.uint8)
    assert to_uint8(images["deep.png"]).unique().tolist() == [156]  # 40000 * 255 / 65535
    assert to_uint8(images["clear.png"]).unique().tolist() == [255]  # transparent: white
    assert to_uint8(images["print.jpg"])[:, 4, 4].tolist() == [255, 0, 0]  # CMYK red
    # the same pixels from a ganlab-prepare array
    with pytest.warns(UserWarning, match="smaller than data.image_size"):
        FolderDataModule(root, **settings).prepare_images()
    prepared = FolderDataModule(root, prepared="always", **settings).get_dataset("train")
    for i in range(len(files)):
        assert torch.equal(prepared[i][0], files[i][0]), files.paths[i]
    # a minimum source size: an error naming the file, or (skip) training without it
    with pytest.raises(DatasetError, match=r"small.png \(3x2 pixels, smaller than data.min"):
        FolderDataModule(root, prepared="never", min_source_size=8, **settings).setup("fit")
    kept = FolderDataModule(
        root, prepared="never", min_source_size=8, on_bad_image="skip", **settings
    )
    with pytest.warns(UserWarning, match="Skipping 1 unreadable image"):
        assert "small.png" not in {p.name for p in kept.get_dataset("train").paths}
