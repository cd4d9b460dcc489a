"""The conditional GAN: labels reach G and D (and WGAN-GP's penalty), sampling with and
without labels, the per-class preview, label parsing and the labels taken from the data."""

import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from ganlab.data.base import LabelSpec
from ganlab.errors import ConfigError
from ganlab.losses import JSLoss, WGANGPLoss
from ganlab.models import ConditionalGAN
from ganlab.models.conditional_gan import fill_label_config
from ganlab.nets import ConditionalDCGANGenerator, ProjectionDiscriminator
from tests.helpers import quiet_trainer


def make_cgan(num_classes=10, multi_label=False, loss=None, norm="batch", names=None):
    adam = lambda params: torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))
    torch.manual_seed(0)
    return ConditionalGAN(
        ConditionalDCGANGenerator(28, 1, nz=8, ngf=4, num_classes=num_classes, multi_label=multi_label),
        ProjectionDiscriminator(28, 1, ndf=4, norm=norm, num_classes=num_classes, multi_label=multi_label),
        loss or JSLoss(), adam, adam,
        num_classes=num_classes, multi_label=multi_label, label_names=names,
    )  # fmt: skip


def labelled_loader(labels: torch.Tensor, batch_size=4):
    images = torch.rand(len(labels), 1, 28, 28) * 2 - 1
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size)


class Spy(torch.nn.Module):
    """Wraps a net and records the labels of every call."""

    def __init__(self, net):
        super().__init__()
        self.net, self.seen = net, []
        self.nz = getattr(net, "nz", None)

    def forward(self, x, y):
        self.seen.append(y.clone())
        return self.net(x, y)


@pytest.mark.parametrize("loss", [JSLoss(), WGANGPLoss()], ids=["js", "wgan_gp"])
def test_training_passes_the_batch_labels_to_g_and_d_and_updates_both(loss):
    model = make_cgan(loss=loss, norm="layer")
    model.discriminator = Spy(model.discriminator)
    model.generator = Spy(model.generator)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    labels = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    quiet_trainer(max_steps=4).fit(model, labelled_loader(labels))
    assert [y.tolist() for y in model.generator.seen] == [[3, 1, 4, 1], [5, 9, 2, 6]]
    # D: real, fake, (WGAN-GP: the interpolates), and for G's step the fake again.
    per_batch = 4 if isinstance(loss, WGANGPLoss) else 3
    assert len(model.discriminator.seen) == 2 * per_batch
    assert all(y.tolist() == [3, 1, 4, 1] for y in model.discriminator.seen[:per_batch])
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert "discriminator.net.embed.weight" in changed  # the projection's class embedding
    assert {n for n, _ in model.named_parameters() if n.startswith("generator.")} <= changed
    assert model.label_counts.tolist() == [0, 2, 1, 1, 1, 1, 1, 0, 0, 1]
    assert model.labels_seen.item() == 8


def test_sampling_without_labels_takes_the_classes_in_turn():
    model = make_cgan().eval()
    assert model.default_labels(12).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    z = model.sample_z(12, torch.Generator().manual_seed(0))
    assert torch.equal(model.sample(z), model.sample(z, model.default_labels(12)))
    assert not torch.equal(model.sample(z), model.sample(z, torch.zeros(12, dtype=torch.long)))


def test_multi_label_sampling_follows_the_training_frequencies():
    model = make_cgan(num_classes=3, multi_label=True)
    assert model.label_frequency().tolist() == [0.5, 0.5, 0.5]  # nothing seen yet
    labels = torch.tensor([[1.0, 0, 0], [1, 1, 0], [1, 0, 0], [1, 1, 0]])
    quiet_trainer(max_steps=2).fit(model, labelled_loader(labels, batch_size=2))
    assert model.label_frequency().tolist() == [1.0, 0.5, 0.0]
    drawn = model.default_labels(1000)
    assert drawn[:, 0].eq(1).all() and drawn[:, 2].eq(0).all()
    assert 400 < drawn[:, 1].sum() < 600
    assert torch.equal(drawn, model.default_labels(1000))  # the same draw every call


def test_per_class_preview():
    model = make_cgan().eval()
    images, cols = model.per_class(64, seed=0)
    assert (cols, images.shape) == (8, (80, 1, 28, 28))  # 10 rows (classes) x 8 columns
    z = model.sample_z(8, torch.Generator().manual_seed(0))
    row_7 = model.sample(z, torch.full((8,), 7))
    assert torch.allclose(images[7 * 8 : 8 * 8], row_7)


def test_multi_label_preview_switches_one_attribute_a_row():
    model = make_cgan(num_classes=3, multi_label=True)
    model.label_counts.copy_(torch.tensor([9.0, 1.0, 6.0]))
    model.labels_seen.fill_(10)
    # The most common set, then each of the 3 attributes switched in turn.
    assert model.preview_labels().tolist() == [[1, 0, 1], [0, 0, 1], [1, 1, 1], [1, 0, 0]]
    many = make_cgan(num_classes=40, multi_label=True)
    assert many.preview_labels().shape == (16, 40)  # rows capped: 15 attributes switched


def test_parse_labels():
    model = make_cgan()
    assert model.parse_labels(7, 3).tolist() == [7, 7, 7]
    assert model.parse_labels("7", 2).tolist() == [7, 7]
    attrs = make_cgan(num_classes=3, multi_label=True, names=["Smiling", "Male", "Young"])
    assert attrs.parse_labels(["Young", "Smiling"], 2).tolist() == [[1, 0, 1], [1, 0, 1]]
    assert attrs.parse_labels("Male", 1).tolist() == [[0, 1, 0]]
    assert attrs.parse_labels([0, 1, 1], 1).tolist() == [[0, 1, 1]]
    with pytest.raises(ConfigError, match="label 'Smilling' is not one of this model's labels. "
                       "Did you mean Smiling\\? They are: Smiling, Male, Young"):  # fmt: skip
        attrs.parse_labels(["Smilling"], 1)
    with pytest.raises(ConfigError, match="label '12' is not one of this model's labels"):
        model.parse_labels(12, 1)
    with pytest.raises(ConfigError, match=r"label= takes one class for this model, got \[1, 2\]"):
        model.parse_labels([1, 2], 1)


class Labelled:
    def __init__(self, spec):
        self.spec = spec

    def label_spec(self):
        return self.spec


def test_labels_come_from_the_data():
    cfg = OmegaConf.create({"num_classes": None, "multi_label": False, "label_names": None})
    fill_label_config(cfg, Labelled(LabelSpec(3, True, ("a", "b", "c"))))
    assert (cfg.num_classes, cfg.multi_label, list(cfg.label_names)) == (3, True, ["a", "b", "c"])
    unconditional = OmegaConf.create({"n_critic": 1})
    fill_label_config(unconditional, Labelled(None))  # not a conditional model: untouched
    assert unconditional == {"n_critic": 1}
    with pytest.raises(ConfigError, match="A conditional model needs labelled data: data=mnist"):
        fill_label_config(OmegaConf.create({"num_classes": None}), Labelled(None))


def test_check_data_refuses_other_labels():
    model = make_cgan()
    model.check_data(Labelled(LabelSpec(10, False, tuple("0123456789"))))
    with pytest.raises(ConfigError, match="The data has 40 attributes but model.num_classes=10"):
        model.check_data(Labelled(LabelSpec(40, True, tuple("x" * 40))))
