"""GAN-train / GAN-test on a separable synthetic dataset with stand-in generators."""

import pytest
import torch

from ganlab.downstream import GANTrainTest
from ganlab.downstream.classifier import accuracy, new_classifier, train_classifier
from ganlab.errors import ConfigError
from tests.downstream.conftest import CLASSES, Oracle


def task(cnn, **kw):
    return GANTrainTest(cnn, **{"n_train": 200, "steps": 40, "batch_size": 32, **kw})


def test_a_perfect_generator_scores_like_real_data(shapes, cnn):
    result = task(cnn).run(Oracle(), shapes)
    values = result["values"]
    assert values["real_train_real_test"] == 1.0
    assert values["gan_train"] == 1.0 and values["gan_test"] == 1.0
    assert list(result["per_class"]) == ["top-left", "top-right", "bottom-left", "bottom-right"]
    assert result["per_class"]["top-right"] == {
        "real_train_real_test": 1.0, "gan_train": 1.0, "gan_test": 1.0,
    }  # fmt: skip
    assert result["protocol"] == {
        "n_train": 200, "n_test": 200, "steps": 40, "batch_size": 32, "lr": 3e-3, "seed": 0,
        "classifier": "SmallCNN",
    }  # fmt: skip


def test_a_label_blind_generator_scores_near_chance(shapes, cnn):
    values = task(cnn).run(Oracle(blind=True), shapes)["values"]
    assert values["real_train_real_test"] == 1.0
    assert values["gan_train"] < 0.45 and values["gan_test"] < 0.45  # chance: 0.25


def test_same_seed_same_result(shapes, cnn):
    a = task(cnn, steps=5).run(Oracle(blind=True), shapes)
    b = task(cnn, steps=5).run(Oracle(blind=True), shapes)
    assert a["values"] == b["values"]


def test_an_unconditional_generator_is_refused(shapes, cnn):
    class Unconditional:
        pass

    with pytest.raises(
        ConfigError, match="needs a conditional generator .trained with model=cdcgan"
    ):
        task(cnn).run(Unconditional(), shapes)


def test_multi_label_accuracy_is_the_mean_over_attributes():
    class Fixed(torch.nn.Module):
        def forward(self, x):  # always predicts attribute 0 present, attribute 1 absent
            return torch.tensor([[5.0, -5.0]]).expand(len(x), -1)

    labels = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
    overall, per_attr = accuracy(Fixed(), torch.zeros(4, 1, 2, 2), labels, 2, multi_label=True)
    assert per_attr == [0.75, 0.75] and overall == 0.75


def test_weighted_training_draws_the_weighted_items():
    """With all weight on class 0's items, the classifier never sees the others."""
    images = torch.randn(8, 1, 16, 16)
    labels = torch.tensor([0, 1, 2, 3] * 2)
    weights = (labels == 0).float()
    net = new_classifier(lambda **kw: Recorder(), CLASSES, 1, seed=0)
    train_classifier(net, images, labels, steps=3, batch_size=4, weights=weights)
    assert (
        torch.cat(net.seen)
        .eq(images[0])
        .all(dim=(1, 2, 3))
        .logical_or(torch.cat(net.seen).eq(images[4]).all(dim=(1, 2, 3)))
        .all()
    )


class Recorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(256, CLASSES)
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(x.clone())
        return self.lin(x.flatten(1))


def test_every_training_batch_advances_the_progress():
    calls = []
    net = new_classifier(lambda **kw: Recorder(), CLASSES, 1, seed=0)
    train_classifier(net, torch.randn(8, 1, 16, 16), torch.arange(8) % 4, steps=7,
                     batch_size=4, on_step=lambda: calls.append(1))  # fmt: skip
    assert len(calls) == 7 and len(net.seen) == 7


def test_labelled_split_keeps_and_renumbers_the_chosen_classes(shapes):
    from ganlab.downstream.data import labelled_split

    images, labels = labelled_split(shapes, "test", classes=torch.tensor([3, 1]))
    assert images.dtype == torch.uint8 and images.shape == (100, 1, 16, 16)
    expected = torch.arange(200)[torch.isin(torch.arange(200) % 4, torch.tensor([1, 3]))]
    assert torch.equal(images, shapes.get_dataset("test").images[expected])
    assert labels.tolist() == [1 if i % 4 == 1 else 0 for i in expected.tolist()]
