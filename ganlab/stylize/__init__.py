"""Neural style transfer (Gatys et al. 2016): an image optimised so that one network's
features match a content image's at one layer and a style image's Gram matrices at several."""

from ganlab.stylize.losses import content_loss, gram, style_loss, total_variation
from ganlab.stylize.nets import InceptionStyleNet, StyleNet, VGG19StyleNet
from ganlab.stylize.transfer import Stylized, stylize

__all__ = [
    "InceptionStyleNet",
    "StyleNet",
    "Stylized",
    "VGG19StyleNet",
    "content_loss",
    "gram",
    "style_loss",
    "stylize",
    "total_variation",
]
