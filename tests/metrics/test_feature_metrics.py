"""FID, KID and precision/recall against independent computations on known features."""

import numpy as np
import pytest
import scipy.linalg
import torch

from ganlab.metrics import FID, KID, Evaluator, PrecisionRecall, metric_name
from ganlab.metrics.evaluator import count_tag


def frechet_numpy(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance of two Gaussian fits, as in the FID paper's reference code."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def features(seed: int, n=400, d=16, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * scale + shift


def test_fid_equals_independent_frechet_distance():
    real, fake = features(0), features(1, shift=0.5, scale=1.3)
    expected = frechet_numpy(real.numpy(), fake.numpy())
    assert expected > 1.0
    assert FID()(real.float(), fake.float())["fid"] == pytest.approx(expected, rel=1e-6)


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """KID's estimator written out: k(a, b) = (a.b / d + 1)^3, diagonal terms left out."""
    d, m = x.shape[1], len(x)
    k = lambda a, b: (a @ b.T / d + 1) ** 3
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    off = lambda K: (K.sum() - np.trace(K)) / (m * (m - 1))
    return float(off(kxx) + off(kyy) - 2 * kxy.mean())


def test_kid_is_the_unbiased_mmd_on_small_known_features():
    real, fake = features(0, n=50, d=8), features(1, n=50, d=8, shift=0.3)
    expected = mmd2_unbiased(real.numpy(), fake.numpy())
    out = KID(subsets=1, subset_size=50)(real.float(), fake.float())  # one subset: all of it
    assert out["kid"] == pytest.approx(expected, rel=1e-5)
    assert out["kid_std"] == 0.0


def test_kid_leaves_the_global_random_stream_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    first = KID(subsets=5, subset_size=20)(features(0, n=40), features(1, n=40))
    assert torch.equal(torch.rand(3), expected)
    assert KID(subsets=5, subset_size=20)(features(0, n=40), features(1, n=40)) == first


def test_precision_recall_on_known_geometry():
    real = torch.arange(10.0).unsqueeze(1)  # points 0..9 on a line: 1-NN radius 1 each
    fake = torch.tensor([[0.5], [20.0]])  # one inside the real manifold, one far away
    out = PrecisionRecall(k=1)(real, fake)
    assert out["precision"] == 0.5
    assert out["recall"] == 1.0  # the two fakes' radius (19.5) covers every real point
    out = PrecisionRecall(k=1)(real, torch.tensor([[100.0], [101.0]]))
    assert out == {"precision": 0.0, "recall": 0.0}


def test_identical_sets_are_perfect():
    real = features(0, n=100)
    assert FID()(real.float(), real.float())["fid"] == pytest.approx(0.0, abs=1e-3)
    assert PrecisionRecall()(real, real) == {"precision": 1.0, "recall": 1.0}


def test_names_carry_the_protocol():
    assert [count_tag(n) for n in (10000, 2000, 2500, 500)] == ["10k", "2k", "2.5k", "500"]
    assert metric_name("fid", "mnistnet", 10000) == "fid_mnistnet_10k"
    ev = Evaluator({"inception": None}, {"fid": FID(), "pr": PrecisionRecall()}, n=2000)
    assert ev.names() == ["fid_inception_2k", "precision_inception_2k", "recall_inception_2k"]


def test_logit_metrics_apply_only_to_classifiers():
    from ganlab.metrics import ClassifierIS
    from ganlab.metrics.extractors import ClassifierFeatures
    from tests.helpers import Projection

    class Uniform(Projection, ClassifierFeatures):
        """A "classifier" that is never sure: its Inception Score is exactly 1."""

        name = "cls"

        def logits(self, images):
            return torch.zeros(len(images), 10)

    ev = Evaluator(
        {"proj": Projection(), "cls": Uniform()},
        {"fid": FID(), "is": ClassifierIS(splits=2)},
        n=20,
        batch_size=8,
    )
    assert ev.names() == ["fid_proj_20", "fid_cls_20", "is_cls_20", "is_std_cls_20"]
    fake = ev.fake(lambda k: torch.rand(k, 1, 28, 28) * 2 - 1, 20, "cpu")
    assert set(fake) == {"proj", "cls", "cls:logits"} and fake["cls:logits"].shape == (20, 10)
    out = ev.compute({"proj": fake["proj"], "cls": fake["cls"]}, fake)
    assert set(out) == set(ev.names())
    assert out["fid_proj_20"] == pytest.approx(0.0, abs=1e-3)  # the same images both sides
    assert out["is_cls_20"] == pytest.approx(1.0) and out["is_std_cls_20"] == pytest.approx(0.0)
