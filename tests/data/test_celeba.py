"""CelebADataModule on a 6-image fixture in the official folder layout and file formats."""

from __future__ import annotations

import pytest
import torch
import torchvision

from ganlab.data import CelebADataModule, LabelSpec
from ganlab.data.celeba import per_identity_split
from ganlab.errors import ConfigError, DatasetError

IDENTITY = (2880, 2937, 8692, 5805, 9295, 4153)  # as written by the fixture


def test_official_splits(celeba_root):
    root, _ = celeba_root
    dm = CelebADataModule(root)
    assert [len(dm.get_dataset(s)) for s in ("train", "val", "test")] == [3, 2, 1]


def test_images_are_centre_cropped_and_in_range(celeba_root):
    root, _ = celeba_root
    dm = CelebADataModule(root)
    dm.setup("fit")
    image, _ = dm.train_set[0]
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32
    assert image.min() >= -1 and image.max() <= 1
    # The fixture's face is white inside the 178x178 centre and black in the bands around it;
    # without the crop a quarter-ish of the image would be near -1.
    assert image.min() > 0.8 and image.mean() == pytest.approx(1.0, abs=0.01)


def test_targets_are_attributes_and_identity(celeba_root):
    root, info = celeba_root
    dm = CelebADataModule(root)
    written = torch.tensor(info["attrs"])
    for split, rows in (("train", [0, 1, 2]), ("val", [3, 4]), ("test", [5])):
        dataset = dm.get_dataset(split)
        assert dataset.attr_names[:2] == ["5_o_Clock_Shadow", "Arched_Eyebrows"]
        assert len(dataset.attr_names) == 40  # the header line parsed as torchvision expects
        for i, row in enumerate(rows):
            _, (attr, identity) = dataset[i]
            assert torch.equal(attr, (written[row] + 1) // 2)  # {-1, 1} -> {0, 1}
            assert int(identity) == IDENTITY[row]


def test_single_and_empty_target_type(celeba_root):
    root, _ = celeba_root
    _, identity = CelebADataModule(root, target_type="identity").get_dataset("test")[0]
    assert int(identity) == IDENTITY[5]
    _, target = CelebADataModule(root, target_type=[]).get_dataset("test")[0]
    assert target == 0  # None would break the default collate


def test_grayscale_and_loader(celeba_root):
    root, _ = celeba_root
    dm = CelebADataModule(root, channels=1, image_size=32, batch_size=2, num_workers=0, repeat=1)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 1 and batches[0][0].shape == (2, 1, 32, 32)
    attr, identity = batches[0][1]
    assert attr.shape == (2, 40) and identity.shape == (2,)


@pytest.mark.parametrize("missing", ["list_eval_partition.txt", "identity_CelebA.txt"])
def test_missing_file_is_listed(celeba_root, missing):
    root, _ = celeba_root
    (root / "celeba" / missing).unlink()
    with pytest.raises(DatasetError) as err:
        CelebADataModule(root).setup("fit")
    message = str(err.value)
    assert f"missing {missing}." in message
    assert "img_align_celeba/*.jpg" in message and "list_bbox_celeba.txt" in message  # layout
    assert "data.download=true" in message and "Google Drive" in message


def test_missing_image_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"missing img_align_celeba/, list_attr_celeba.txt"):
        CelebADataModule(tmp_path).setup("fit")


def test_prepare_data_skips_download_when_off_or_present(celeba_root, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("must not download")

    monkeypatch.setattr(torchvision.datasets, "CelebA", fail)
    root, _ = celeba_root
    CelebADataModule(root, download=True).prepare_data()  # files present
    CelebADataModule(root / "empty", download=False).prepare_data()  # download off


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    def quota(*args, **kwargs):
        raise RuntimeError("Too many users have viewed or downloaded this file recently")

    monkeypatch.setattr(torchvision.datasets, "CelebA", quota)
    with pytest.raises(DatasetError, match="The download failed .*Too many users"):
        CelebADataModule(tmp_path, download=True).prepare_data()


def test_unreadable_image_names_its_path(celeba_root):
    root, info = celeba_root
    path = root / "celeba" / "img_align_celeba" / info["names"][5]
    path.write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="Cannot read CelebA image") as err:
        CelebADataModule(root).get_dataset("test")[0]
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channels": 4}, "data.channels must be 1 or 3"),
        ({"target_type": ["attr", "pose"]}, r"Unknown CelebA target_type \['pose'\]"),
        ({"crop_size": 0}, "data.crop_size must be an integer >= 1"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        CelebADataModule(tmp_path, **kwargs)


def test_empty_split_and_malformed_annotations(celeba_root):
    root, info = celeba_root
    partition = root / "celeba" / "list_eval_partition.txt"
    partition.write_text("".join(f"{n} 0\n" for n in info["names"]))  # everything is train
    dm = CelebADataModule(root)
    assert len(dm.get_dataset("train")) == 6
    with pytest.raises(DatasetError, match="The val split .* has no images"):
        dm.dataloader("val")
    partition.write_text("000001.jpg train\n")
    with pytest.raises(DatasetError, match="could not be parsed"):
        CelebADataModule(root).setup("fit")


# -- labels for conditional models ------------------------------------------------------------
# 16 faces of 5 people. Train images per identity: 101: 5, 55: 3, 7: 2, 300: 1, 9999: 0; in
# all: 101: 6 (one in test), 55: 5 (two in valid), 7: 2, 300: 2 (one in test), 9999: 1 (valid).
PEOPLE = (101, 55, 101, 7, 101, 55, 300, 101, 55, 7, 101, 55, 9999, 101, 300, 55)
PEOPLE_PARTITION = (0,) * 11 + (1, 1, 2, 2, 1)


@pytest.fixture
def people(tmp_path, make_celeba):
    make_celeba(tmp_path, identity=PEOPLE, partition=PEOPLE_PARTITION)
    return tmp_path


def files(dataset) -> list[int]:
    """The image numbers of a split, 1-based as in the file names."""
    return [int(name[:6]) for name in dataset.filename]


def targets(dataset) -> list:
    return [dataset[i][1].tolist() for i in range(len(dataset))]


def test_attribute_labels_are_the_chosen_columns(tmp_path, make_celeba):
    # Attribute j of face i is present iff (i + j) % 3 == 0.
    attrs = [[1 if (i + j) % 3 == 0 else -1 for j in range(40)] for i in range(6)]
    make_celeba(tmp_path, attrs)
    names = ["Smiling", "Male", "Eyeglasses", "Blond_Hair", "Young"]  # columns 31, 20, 15, 9, 39
    dm = CelebADataModule(tmp_path, labels="attr", attributes=names)
    assert dm.label_spec() == LabelSpec(5, True, tuple(names))
    train = dm.get_dataset("train")
    assert targets(train) == [[0, 0, 1, 1, 1], [0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]
    _, label = train[0]
    assert label.dtype == torch.float32 and label.shape == (5,)
    assert targets(dm.get_dataset("test")) == [[1, 0, 0, 0, 0]]  # face 5: like face 2

    every = CelebADataModule(tmp_path, labels="attr")  # attributes=null: all 40, file order
    spec = every.label_spec()
    assert (spec.num_classes, spec.multi_label) == (40, True)
    assert spec.names[:3] == ("5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive")
    assert spec.names[-1] == "Young" and spec.names[31] == "Smiling"
    written = (torch.tensor(attrs)[3:5] + 1) / 2
    assert torch.equal(torch.stack([x for _, x in every.get_dataset("val")]), written)


def test_attribute_labels_batch_as_float_vectors(celeba_root):
    root, info = celeba_root
    dm = CelebADataModule(root, labels="attr", attributes=["Male", "Young"], batch_size=3, repeat=1)
    (images, labels), *rest = list(dm.train_dataloader())
    assert not rest and images.shape == (3, 3, 64, 64)
    assert labels.dtype == torch.float32 and labels.shape == (3, 2)
    expected = (torch.tensor(info["attrs"])[:3][:, [20, 39]] + 1) / 2
    assert sorted(labels.tolist()) == sorted(expected.tolist())  # the loader shuffles


def test_identity_labels_are_sorted_class_indices(people):
    dm = CelebADataModule(people, labels="identity")
    # 9999 has no train image, so it is not a class; its image is dropped from valid.
    assert dm.label_spec() == LabelSpec(4, False, ("7", "55", "101", "300"))
    train, val, test = (dm.get_dataset(s) for s in ("train", "val", "test"))
    assert files(train) == list(range(1, 12))
    assert targets(train) == [2, 1, 2, 0, 2, 1, 3, 2, 1, 0, 2]
    assert (files(val), targets(val)) == ([12, 16], [1, 1])
    assert (files(test), targets(test)) == ([14, 15], [2, 3])
    assert train[0][1].dtype == torch.int64 and train[0][1].shape == ()
    assert train.identity[:, 0].tolist()[:3] == [101, 55, 101]  # the originals stay available


def test_min_images_per_identity_counts_train_images(people):
    dm = CelebADataModule(people, labels="identity", min_images_per_identity=2)
    assert dm.label_spec() == LabelSpec(3, False, ("7", "55", "101"))  # 300: 1 train image
    train, val, test = (dm.get_dataset(s) for s in ("train", "val", "test"))
    assert files(train) == [1, 2, 3, 4, 5, 6, 8, 9, 10, 11]
    assert targets(train) == [2, 1, 2, 0, 2, 1, 2, 1, 0, 2]
    assert (files(val), targets(val)) == ([12, 16], [1, 1])
    assert (files(test), targets(test)) == ([14], [2])  # 300's test image is dropped too
    three = CelebADataModule(people, labels="identity", min_images_per_identity=3)
    assert three.label_spec().names == ("55", "101")
    assert targets(three.get_dataset("train")) == [1, 0, 1, 1, 0, 1, 0, 1]


def test_relabelled_reads_the_same_faces_with_other_labels(people):
    attrs = CelebADataModule(
        people, image_size=16, channels=1, crop_size=150, labels="attr", num_workers=0,
        batch_size=5, attributes=["Smiling"],
    )  # fmt: skip
    ids = attrs.relabelled(labels="identity", min_images_per_identity=2)
    assert (ids.root, ids.image_size, ids.channels, ids.crop_size) == (people, 16, 1, 150)
    assert (ids.num_workers, ids.batch_size, ids.labels) == (0, 5, "identity")
    assert ids.label_spec() == LabelSpec(3, False, ("7", "55", "101"))
    image, label = ids.get_dataset("train")[0]
    assert image.shape == (1, 16, 16) and int(label) == 2
    assert attrs.relabelled(labels="attr").label_spec().num_classes == 40


def test_no_qualifying_identity(people):
    dm = CelebADataModule(people, labels="identity", min_images_per_identity=6)
    with pytest.raises(DatasetError) as err:
        dm.setup("fit")
    assert str(err.value) == (
        "No CelebA identity has at least 6 images in the train split "
        "(data.min_images_per_identity): its 4 identities have at most 5 each; "
        "lower data.min_images_per_identity."
    )


def test_per_identity_split(people):
    dm = CelebADataModule(
        people, labels="identity", min_images_per_identity=2, identity_split="per_identity"
    )
    assert dm.label_spec() == LabelSpec(3, False, ("7", "55", "101"))
    train, val, test = (dm.get_dataset(s) for s in ("train", "val", "test"))
    # 101 (6 images): 1 test, 1 val, 4 train; 55 (5 images, 2 of them official valid): 1 test,
    # 1 val, 3 train; 7 (2 images): 1 test, 1 train; the last files go to test.
    assert (files(train), targets(train)) == ([1, 2, 3, 4, 5, 6, 8, 9], [2, 1, 2, 0, 2, 1, 2, 1])
    assert (files(val), targets(val)) == ([11, 12], [2, 1])
    assert (files(test), targets(test)) == ([10, 14, 16], [0, 2, 1])
    splits = [set(files(d)) for d in (train, val, test)]
    assert sum(map(len, splits)) == len(set.union(*splits)) == 13  # disjoint
    kept = {i + 1 for i, p in enumerate(PEOPLE) if p in (7, 55, 101)}
    assert set.union(*splits) == kept


def test_per_identity_split_sizes():
    sizes = (1, 2, 4, 5, 8, 13)
    # File names in reverse order of the list, so the sort by name decides what is held out.
    filenames = [f"{c}_{k:02d}.jpg" for c, n in enumerate(sizes) for k in reversed(range(n))]
    classes = torch.tensor([c for c, n in enumerate(sizes) for _ in range(n)] + [-1])
    splits = per_identity_split([*filenames, "z_left_out.jpg"], classes)
    counted = {s: torch.bincount(classes[idx], minlength=6).tolist() for s, idx in splits.items()}
    assert counted == {
        "train": [0, 1, 3, 3, 5, 9],
        "val": [0, 0, 0, 1, 1, 1],
        "test": [1, 1, 1, 1, 2, 3],  # max(1, round(n / 5))
    }
    assert sorted(filenames[i] for i in splits["test"] if classes[i] == 4) == [
        "4_06.jpg",
        "4_07.jpg",
    ]
    assert [filenames[i] for i in splits["val"] if classes[i] == 4] == ["4_05.jpg"]


def test_single_image_identities_warn_under_per_identity(celeba_root):
    root, _ = celeba_root  # 6 people with one image each, 3 in train
    dm = CelebADataModule(root, labels="identity", identity_split="per_identity")
    with pytest.warns(UserWarning, match="3 CelebA identities have a single image"):
        dm.setup("fit")
    assert [len(dm.get_dataset(s)) for s in ("train", "val", "test")] == [0, 0, 3]


def test_official_identity_split_explains_empty_eval_splits(celeba_root):
    root, _ = celeba_root  # like the real CelebA, no identity is in two splits
    dm = CelebADataModule(root, labels="identity")
    assert len(dm.get_dataset("train")) == 3 and len(dm.get_dataset("val")) == 0
    with pytest.raises(DatasetError, match="no images of the 3 identities kept from the train"):
        dm.dataloader("val")
    with pytest.raises(DatasetError, match="data.identity_split=per_identity"):
        dm.dataloader("test")


def test_no_labels_keeps_target_type_and_no_spec(celeba_root):
    root, _ = celeba_root
    dm = CelebADataModule(root, target_type="identity")
    assert dm.label_spec() is None
    assert (
        int(dm.get_dataset("test")[0][1]) == IDENTITY[5] and dm.get_dataset("test").targets is None
    )


@pytest.mark.parametrize("labels", ["attr", "identity"])
def test_labels_survive_worker_processes(people, labels):
    def train_labels(workers: int) -> torch.Tensor:
        dm = CelebADataModule(
            people,
            labels=labels,
            image_size=16,
            batch_size=4,
            num_workers=workers,
            persistent_workers=False,
            repeat=1,
        )
        return torch.cat([y for _, y in dm.train_dataloader()])

    single = train_labels(0)
    assert len(single) == 8  # 11 train images, drop_last
    assert torch.equal(train_labels(2), single)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"labels": "attr", "attributes": ["Smiling", "Smilling"]},
            (
                r"Unknown CelebA attribute\(s\) in data.attributes: 'Smilling' \(did you mean "
                r"Smiling\?\). Valid names: 5_o_Clock_Shadow, Arched_Eyebrows, .*, Young\.$"
            ),
        ),
        ({"labels": "attr", "attributes": ["Male", "Male"]}, "each once"),
        ({"labels": "atr"}, r"data.labels='atr' is not a choice. Did you mean attr\?"),
        (
            {"identity_split": "per_identity"},
            "data.identity_split only applies with data.labels=identity, but data.labels=None",
        ),
        (
            {"labels": "attr", "identity_split": "per_identity"},
            "data.identity_split only applies with data.labels=identity",
        ),
        ({"attributes": ["Male"]}, "data.attributes only applies with data.labels=attr"),
        (
            {"labels": "identity", "min_images_per_identity": 0},
            "data.min_images_per_identity must be an integer >= 1",
        ),
        ({"identity_split": "random"}, "Choose from: official, per_identity"),
    ],
)
def test_bad_label_options(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        CelebADataModule(tmp_path, **kwargs)
