"""What a new loss, regulariser, augmentation, metric, model or datamodule must provide is
declared on its base class: a subclass that misses one cannot be built."""

import pytest

from ganlab.augment import Augment
from ganlab.data.base import ImageDataModule
from ganlab.data.prepared import PreparedItems
from ganlab.data.unpaired import UnpairedDataModule
from ganlab.losses.base import AdversarialLoss
from ganlab.metrics import FeatureMetric
from ganlab.metrics.extractors import ClassifierFeatures
from ganlab.models import GAN, ConditionalGAN, CycleGAN
from ganlab.models.base import AdversarialModule, GenerativeModule
from ganlab.models.capabilities import ImageGenerator, ImageTranslator, LabelConditioned
from ganlab.regularizers import Regularizer

REQUIRED = [
    (AdversarialLoss, {"d_loss", "g_loss"}),
    (Regularizer, {"penalty"}),
    (Augment, {"draw"}),
    (FeatureMetric, {"__call__"}),
    (GenerativeModule, {"nets", "preview"}),
    (AdversarialModule, {"nets", "preview"}),
    (ImageGenerator, {"sample_z", "sample", "sampling_generator"}),
    (LabelConditioned, {"sample_z", "sample", "sampling_generator", "parse_labels", "per_class"}),
    (ImageTranslator, {"translate"}),
    (ClassifierFeatures, {"logits"}),
    (ImageDataModule, {"make_dataset"}),
    (UnpairedDataModule, {"make_domain"}),
    (PreparedItems, {"_targets"}),
]


@pytest.mark.parametrize(("base", "required"), REQUIRED, ids=lambda x: getattr(x, "__name__", ""))
def test_base_classes_declare_what_subclasses_must_provide(base, required):
    assert base.__abstractmethods__ == required
    with pytest.raises(TypeError, match="abstract"):
        type("Incomplete", (base,), {})()


def test_models_declare_what_they_can_do():
    """The commands ask these (ganlab-sample's input= and label=, ganlab-eval's protocol)."""
    assert issubclass(GAN, ImageGenerator)
    assert not issubclass(GAN, (LabelConditioned, ImageTranslator))
    assert issubclass(ConditionalGAN, LabelConditioned)
    assert issubclass(CycleGAN, ImageTranslator) and not issubclass(CycleGAN, ImageGenerator)
