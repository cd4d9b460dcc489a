"""ganlab-eval on two folders of PNGs against torch-fidelity on the same folders, with the
same Inception weights: FID to 1e-4 relative, KID and precision/recall (torch-fidelity's
PRC on the same Inception features).

Inception's 64 features (its first pooling layer, the network cut there: a fraction of the
time of the 2048 pool features) and 100 images a side: the covariances then have full rank,
where the Frechet distance of both implementations is one number (with fewer images than
features, sqrtm of a singular product is not, and scipy's and torch's differ by percents).
"""

import json

import pytest
import torch_fidelity
from PIL import Image

from ganlab.data import MNISTDataModule
from ganlab.pixels import to_uint8
from tests.conftest import run_cli
from tests.metrics.test_inception_and_cache import inception_weights

pytestmark = pytest.mark.slow
N = 100
FEATURES = 64


def write_digits(datamodule, split: str, folder, invert_every: int = 0):
    """The first N digits of ``split`` as PNGs, every ``invert_every``-th one inverted: the
    two folders then differ, and the distance is large beside float32 rounding (the
    train and test digits alone are one distribution, at a distance close to 0)."""
    folder.mkdir()
    for i in range(N):
        image = to_uint8(datamodule.get_dataset(split)[i][0])[0].numpy()
        if invert_every and i % invert_every == 0:
            image = 255 - image
        Image.fromarray(image, "L").save(folder / f"{i:03d}.png")
    return folder


def test_folders_measured_as_torch_fidelity_measures_them(tmp_path, data_dir):
    data = MNISTDataModule(data_dir)
    data.prepare_data()
    fake = write_digits(data, "train", tmp_path / "fake", invert_every=2)
    real = write_digits(data, "test", tmp_path / "real")
    weights = inception_weights()
    res = run_cli(
        "eval", f"fake_dir={fake}", f"real_dir={real}", "features=[inception]",
        f"features.inception.feature={FEATURES}", f"paths.inception_weights={weights}", "metrics=[fid,kid,pr]", f"metrics.kid.subset_size={N}",
        f"report={tmp_path}/report.json", f"paths.cache_dir={tmp_path}/cache", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    ours = json.loads((tmp_path / "report.json").read_text())["values"]
    theirs = torch_fidelity.calculate_metrics(
        input1=str(fake),
        input2=str(real),
        fid=True,
        kid=True,
        prc=True,
        feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=weights,
        feature_layer_fid=str(FEATURES),
        feature_layer_kid=str(FEATURES),
        feature_layer_prc=str(FEATURES),
        kid_subset_size=N,  # every subset is then the whole set: no random draw to match
        cuda=False,
        cache=False,
        verbose=False,
    )
    tag = f"inception_{N}"
    assert ours[f"fid_{tag}"] > 1 and 0.2 < ours[f"precision_{tag}"] < 0.8
    assert ours[f"fid_{tag}"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-4)
    assert ours[f"kid_{tag}"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-4)
    assert ours[f"precision_{tag}"] == pytest.approx(theirs["precision"], abs=1e-6)
    assert ours[f"recall_{tag}"] == pytest.approx(theirs["recall"], abs=1e-6)
