"""The checks every downstream measure starts with."""

from __future__ import annotations

from ganlab.data.base import LabelSpec
from ganlab.errors import ConfigError
from ganlab.models.capabilities import LabelConditioned


def check_conditional(model, datamodule) -> LabelSpec:
    """The data's labels, after checking that ``model`` generates images of those labels."""
    if not isinstance(model, LabelConditioned):
        raise ConfigError(
            "this measure needs a conditional generator (trained with model=cdcgan): it asks "
            "for images of given labels."
        )
    spec = datamodule.label_spec()
    if spec is None:
        raise ConfigError("the checkpoint's data has no labels to classify.")
    if (spec.num_classes, spec.multi_label) != (model.num_classes, model.multi_label):
        raise ConfigError(
            f"the data has {spec.num_classes} labels, the model {model.num_classes}: evaluate "
            "with the data it was trained on."
        )
    return spec
