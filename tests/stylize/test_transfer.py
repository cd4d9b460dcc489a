"""The optimisation: losses fall, the image stays in range, errors are clear."""

import pytest
import torch

from ganlab.errors import ConfigError
from ganlab.stylize import stylize
from tests.helpers import TinyStyleNet


def images():
    gen = torch.Generator().manual_seed(1)
    content = torch.rand(1, 3, 24, 24, generator=gen) * 2 - 1
    style = torch.rand(1, 3, 32, 32, generator=gen) * 2 - 1  # another size: Grams allow it
    return content, style


@pytest.mark.parametrize("optimizer,lr,init", [("lbfgs", 1.0, "content"), ("adam", 0.05, "noise")])
def test_style_and_content_losses_fall(optimizer, lr, init):
    content, style = images()
    seen = []
    result = stylize(
        TinyStyleNet(), content, style, steps=15, optimizer=optimizer, lr=lr, init=init,
        style_weight=1e6, progress=lambda step, losses: seen.append(step),
    )  # fmt: skip
    history = result.history
    assert seen == list(range(1, 16)) and all(len(v) == 15 for v in history.values())
    assert history["total"][-1] < 0.5 * history["total"][0]
    assert history["style"][-1] < history["style"][0]
    if init == "noise":  # from noise, the content has everything to gain
        assert history["content"][-1] < history["content"][0]
    assert result.image.shape == content.shape and result.image.abs().max() <= 1


def test_the_content_layer_alone_keeps_the_content_image():
    content, style = images()
    result = stylize(TinyStyleNet(), content, style, steps=3, style_weight=0.0, tv_weight=0.0)
    assert result.history["content"][0] == 0.0  # it starts there and has no reason to move
    assert torch.equal(result.image, content)


def test_bad_choices_are_named():
    content, style = images()
    with pytest.raises(ConfigError, match="optimizer must be one of lbfgs, adam"):
        stylize(TinyStyleNet(), content, style, optimizer="sgd")
    with pytest.raises(ConfigError, match="init must be one of content, noise"):
        stylize(TinyStyleNet(), content, style, init="zeros")
