"""What a new loss, regulariser, augmentation, metric, model or datamodule must provide is
declared on its base class: a subclass that misses one cannot be built."""

import pytest

from ganlab.augment import Augment
from ganlab.data.base import ImageDataModule
from ganlab.data.prepared import PreparedItems
from ganlab.data.unpaired import UnpairedDataModule
from ganlab.losses.base import AdversarialLoss
from ganlab.metrics import FeatureMetric
from ganlab.models.base import AdversarialModule
from ganlab.regularizers import Regularizer

REQUIRED = [
    (AdversarialLoss, {"d_loss", "g_loss"}),
    (Regularizer, {"penalty"}),
    (Augment, {"draw"}),
    (FeatureMetric, {"__call__"}),
    (AdversarialModule, {"nets"}),
    (ImageDataModule, {"make_dataset"}),
    (UnpairedDataModule, {"make_domain"}),
    (PreparedItems, {"_targets"}),
]


@pytest.mark.parametrize(("base", "required"), REQUIRED, ids=lambda x: getattr(x, "__name__", ""))
def test_base_classes_declare_what_subclasses_must_provide(base, required):
    assert base.__abstractmethods__ == required
    with pytest.raises(TypeError, match="abstract"):
        type("Incomplete", (base,), {})()
