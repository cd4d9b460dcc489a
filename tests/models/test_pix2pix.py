"""pix2pix: what D sees, G's objective, the data it refuses, and a run from the CLI config."""

import pytest
import torch
from PIL import Image

from ganlab.data import MNISTDataModule
from ganlab.degrade import Downsample, Mask
from ganlab.errors import ConfigError
from ganlab.losses import JSLoss
from ganlab.models import GAN, Pix2Pix
from ganlab.nets import DCGANDiscriminator, DCGANGenerator, PatchDiscriminator, UnetGenerator
from tests.conftest import PIX2PIX_TINY
from tests.models.test_vae import adam


def small_pix2pix(in_channels: int = 1, **kwargs) -> Pix2Pix:
    torch.manual_seed(0)
    return Pix2Pix(
        UnetGenerator(in_channels, 1, ngf=4, image_size=16),
        PatchDiscriminator(channels=in_channels + 1, ndf=4, n_layers=1),
        JSLoss(),
        adam,
        adam,
        **kwargs,
    )


def test_d_judges_the_input_beside_the_image():
    model = small_pix2pix()
    degraded, clean = torch.rand(2, 2, 1, 16, 16) * 2 - 1
    pair = torch.cat([degraded, clean], 1)
    other_input = torch.cat([torch.zeros_like(degraded), clean], 1)
    with torch.no_grad():  # the same image judged beside another input: another verdict
        assert not torch.allclose(model.discriminator(pair), model.discriminator(other_input))


def test_g_objective_is_l1_weighted_plus_adversarial():
    model = small_pix2pix()
    degraded, clean = torch.rand(2, 2, 1, 16, 16) * 2 - 1
    restored = model.generator(degraded)
    fake = torch.cat([degraded, restored], 1)
    loss, values = model.g_objective(fake, restored, clean)
    l1 = (restored - clean).abs().mean().detach()
    adversarial = model.generator_loss(model.discriminator, fake).detach()
    assert values["l1"] == pytest.approx(float(l1), rel=1e-6)
    assert float(loss.detach()) == pytest.approx(float(100 * l1 + adversarial), rel=1e-5)


def test_l1_alone_never_asks_d():
    model = small_pix2pix(adv_weight=0.0)
    degraded, clean = torch.rand(2, 2, 1, 16, 16) * 2 - 1
    restored = model.generator(degraded)
    loss, values = model.g_objective(torch.cat([degraded, restored], 1), restored, clean)
    assert set(values) == {"l1"}
    loss.backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    l1 = (restored - clean).abs().mean().detach()
    assert float(loss.detach()) == pytest.approx(100 * float(l1), rel=1e-6)


def test_pix2pix_refuses_unpaired_data_and_wrong_channels(data_dir):
    images_alone = MNISTDataModule(data_dir, image_size=16, channels=1)
    with pytest.raises(ConfigError, match=r"model=pix2pix learns from \(degraded, clean\) pairs"):
        small_pix2pix().check_data(images_alone)
    masked = MNISTDataModule(data_dir, image_size=16, channels=1, degrade=Mask())
    with pytest.raises(ConfigError, match=r"model.generator.in_channels=1, but the data needs 2"):
        small_pix2pix().check_data(masked)
    small_pix2pix(in_channels=2).check_data(masked)  # the mask's channel: accepted


def test_a_gan_refuses_paired_data(data_dir):
    paired = MNISTDataModule(data_dir, image_size=16, channels=1, degrade=Downsample(4))
    gan = GAN(
        DCGANGenerator(16, 1, nz=4, ngf=4), DCGANDiscriminator(16, 1, ndf=4), JSLoss(), adam, adam
    )
    with pytest.raises(ConfigError, match=r"GAN learns from images alone, but data.degrade"):
        gan.check_data(paired)


@pytest.mark.parametrize(
    "extra", [[], ["data/degrade=mask", "model/generator=resnet", "loss=hinge"]]
)
def test_a_pix2pix_run_writes_degraded_restored_clean_grids(run_train, extra):
    summary, out = run_train(*extra, max_iters=2, base=PIX2PIX_TINY)
    assert summary["status"] == "completed" and summary["g_steps"] == 2 == summary["d_steps"]
    assert {"train/d_loss", "train/g_loss", "train/l1", "train/g_adv"} <= set(summary["final"])
    grid = Image.open(out / "samples" / "step_000002.png")
    # 4 test pairs, a row each of 3 images of 16 px with torchvision's 2 px padding
    assert grid.size == (3 * 18 + 2, 4 * 18 + 2)
