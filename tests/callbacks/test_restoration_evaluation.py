"""The restoration evaluation: PSNR, SSIM and feature metrics of restored against clean."""

import math

import pytest
import torch
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from ganlab.callbacks import RestorationEvaluation
from ganlab.data import MNISTDataModule
from ganlab.degrade import Degradation, Downsample
from ganlab.errors import ConfigError
from ganlab.metrics import FID, Evaluator
from ganlab.pixels import quantize
from tests.helpers import Projection


class Unchanged(Degradation):
    """Pairs whose input is the clean image itself."""

    def degrade(self, images, seeds):
        return images

    def key(self):
        return "unchanged"


def restoration(tmp_path, n=8) -> RestorationEvaluation:
    evaluator = Evaluator({"proj": Projection()}, {"fid": FID()}, n, "test", str(tmp_path), 4)
    return RestorationEvaluation.from_evaluator(evaluator)


@pytest.fixture
def mnist(data_dir):
    def make(degrade):
        data = MNISTDataModule(data_dir, image_size=16, channels=1, degrade=degrade)
        data.prepare_data()
        return data

    return make


def test_a_perfect_restoration_has_infinite_psnr_ssim_1_and_fid_0(tmp_path, mnist):
    values = restoration(tmp_path).measure(mnist(Unchanged()), lambda x: x, "cpu")
    assert set(values) == {"psnr_8", "ssim_8", "fid_proj_8"}
    assert math.isinf(values["psnr_8"]) and values["ssim_8"] == pytest.approx(1.0, abs=1e-6)
    assert values["fid_proj_8"] == pytest.approx(0.0, abs=1e-3)


def test_the_baseline_is_measured_on_the_saved_pixels_of_each_image(tmp_path, mnist):
    data = mnist(Downsample(4))
    values = restoration(tmp_path).measure(data, lambda x: data.degrade.baseline(x, 1), "cpu")
    degraded, clean = map(torch.stack, zip(*data.pairs("test").__getitems__(list(range(8)))))
    shown, clean = (quantize(degraded) + 1) / 2, (clean + 1) / 2
    per_image = [
        peak_signal_noise_ratio(a[None], b[None], data_range=1.0) for a, b in zip(shown, clean)
    ]
    assert values["psnr_8"] == pytest.approx(float(torch.stack(per_image).mean()), rel=1e-5)
    ssim = structural_similarity_index_measure(shown, clean, data_range=1.0)
    assert values["ssim_8"] == pytest.approx(float(ssim), rel=1e-5)
    assert 10 < values["psnr_8"] < 30 and 0 < values["ssim_8"] < 1


def test_psnr_picks_best_ckpt_higher_is_better_and_pairs_are_required(tmp_path, mnist):
    callback = restoration(tmp_path, n=1000)
    assert callback.monitor == "psnr_1k" and not callback.lower_is_better()
    with pytest.raises(ConfigError, match="needs \\(degraded, clean\\) pairs: data/degrade"):
        callback.measure(mnist(None), lambda x: x, "cpu")
