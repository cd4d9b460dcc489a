"""Face recognition with and without generated faces, on CelebA-format fixture faces."""

import json

import pytest
import torch

from ganlab.data import CelebADataModule
from ganlab.downstream import FaceRecognition
from ganlab.downstream.classifier import JointLoss, attribute_loss
from ganlab.downstream.report import write_report
from ganlab.errors import ConfigError
from tests.downstream.conftest import FACE_ATTRIBUTES, AttributeFaces, face_fixture

SMILING, MALE = 31, 20  # the attributes' columns in CelebA's list


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    attrs, persons = face_fixture(root)
    datamodule = CelebADataModule(
        root, image_size=32, labels="attr", attributes=FACE_ATTRIBUTES, num_workers=0
    )
    return datamodule, attrs, persons


def task(cnn, **kw):
    settings = {"min_images_per_identity": 5, "gan_images": 40, "steps": 60, "batch_size": 16}
    return FaceRecognition(cnn, **{**settings, **kw})


@pytest.mark.slow  # seconds each: make test runs it, make test-fast does not
def test_recognisers_learn_the_people_and_their_attributes(faces, cnn, tmp_path):
    datamodule, attrs, _ = faces
    generator = AttributeFaces()
    result = task(cnn, steps=200).run(generator, datamodule)
    # Persons 0-3 qualify (7, 7, 9, 7 train images); person 4's 3 photos do not.
    assert result["data"] == {
        "identities": 4, "identity_train": 30, "identity_test": 8,
        "attribute_train": 33, "attribute_test": 8, "gan_images": 40,
    }  # fmt: skip
    values = result["values"]
    assert values["identity_real"] == 1.0  # chance: 0.25
    assert values["attributes_real"] == 1.0  # each person's attributes are fixed
    # The stand-in's faces are noise: they must not stop the real faces being learnt.
    assert values["identity_real_gan"] >= 0.95 and values["attributes_real_gan"] >= 0.95
    assert values["conditioned_attributes_real"] == 1.0
    per_attr = result["per_attribute"]
    assert len(per_attr) == 40 and set(per_attr["Smiling"]) == {"real", "real_gan"}
    both = (per_attr["Smiling"]["real_gan"] + per_attr["Male"]["real_gan"]) / 2
    assert values["conditioned_attributes_real_gan"] == pytest.approx(both)
    # The generator was asked for the real train faces' (Smiling, Male), 40 times.
    asked = torch.cat(generator.asked)
    real_pairs = {tuple(r) for r in ((attrs[:, [SMILING, MALE]] + 1) // 2).tolist()}
    assert asked.shape == (40, 2)
    assert {tuple(int(v) for v in r) for r in asked.tolist()} <= real_pairs
    assert result["conditioned_attributes"] == FACE_ATTRIBUTES
    # The report: JSON and a markdown table with a row per recogniser and per attribute.
    result["checkpoint"] = "last.ckpt"
    paths = write_report(result, "face_recognition", tmp_path / "last")
    assert [p.name for p in paths] == ["last_face_recognition.json", "last_face_recognition.md"]
    assert json.loads(paths[0].read_text())["values"] == values
    table = paths[1].read_text()
    assert "| identity, top-1 over 4 people | 30 | 8 | 1.0000 |" in table
    assert "| the GAN's 2 attributes, mean | 33 | 8 | 1.0000 |" in table
    assert "| Smiling (GAN) | 1.0000 |" in table and "| Young | " in table


def test_max_identities_keeps_the_most_photographed(faces, cnn):
    datamodule, _, _ = faces
    result = task(cnn, max_identities=2, steps=5).run(AttributeFaces(), datamodule)
    # Person 2 (9 train images), then the first of the tied others, person 0 (7).
    assert result["data"]["identities"] == 2
    assert (result["data"]["identity_train"], result["data"]["identity_test"]) == (16, 4)


def test_joint_loss_trains_each_head_on_its_labels():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0], [0.0, 1.0, -2.0, 1.0]])
    # Row 0: a real face of person 1, attributes unknown; row 1: a generated face with
    # attributes (1, unknown), no person.
    nan = float("nan")
    target = torch.tensor([[1.0, nan, nan], [-1.0, 1.0, nan]])
    ce = torch.nn.functional.cross_entropy(logits[:1, :2], torch.tensor([1]))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([-2.0]), torch.tensor([1.0])
    )
    assert JointLoss(2)(logits, target) == pytest.approx(float(ce + bce))
    unknown = torch.full((2, 3), nan)
    unknown[:, 0] = -1
    weights = torch.ones(4, requires_grad=True)
    loss = JointLoss(2)(logits * weights, unknown)
    loss.backward()  # nothing known: zero loss, zero gradient, no NaN
    assert float(loss.detach()) == 0.0 and weights.grad.eq(0).all()


def test_attribute_loss_skips_unknown_attributes():
    logits = torch.tensor([[1.0, -1.0], [0.5, 2.0]])
    target = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    known = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([1.0, 0.5, 2.0]), torch.tensor([1.0, 0.0, 1.0])
    )
    assert attribute_loss(logits, target) == pytest.approx(float(known))


def test_checkpoints_it_cannot_use_are_refused(faces, cnn, shapes):
    from tests.downstream.conftest import Oracle

    datamodule, _, _ = faces
    with pytest.raises(ConfigError, match="evaluate a checkpoint trained with data=celeba"):
        task(cnn).run(Oracle(), shapes)
    by_identity = datamodule.relabelled(labels="identity", min_images_per_identity=5)
    with pytest.raises(ConfigError, match="needs an attribute-conditional generator: train it"):
        task(cnn).run(Oracle(), by_identity)
    with pytest.raises(ConfigError, match="real_share must be in"):
        task(cnn, real_share=1.0)
    with pytest.raises(ConfigError, match="gan_images must be >= 1, got 0"):
        task(cnn, gan_images=0)
    with pytest.raises(ConfigError, match="max_identities must be >= 2 or null: 1"):
        task(cnn, max_identities=1)
