"""The style networks: their named layers, and the Inception one on the real weights."""

import pytest
import torch
from torchvision.models import vgg19

from ganlab.stylize import InceptionStyleNet, VGG19StyleNet, stylize
from tests.metrics.test_inception_and_cache import inception_weights


def test_vgg19_layers_are_named_as_the_papers(tmp_path, monkeypatch):
    state = vgg19(weights=None).state_dict()  # torchvision's layout, random weights
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: state)
    weights = tmp_path / "vgg19.pth"
    weights.touch()
    net = VGG19StyleNet(str(weights))
    names = list(net.layers)
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert names.index("relu4_2") == 22 and names.index("relu5_1") == 29  # torchvision's indices
    assert isinstance(net.layers["pool1"], torch.nn.AvgPool2d)
    assert torch.equal(net.layers["conv4_2"].weight, state["features.21.weight"])
    out = net(torch.zeros(1, 1, 32, 32))  # grey: repeated to RGB
    assert set(out) == {"relu4_2", *net.style_layers}
    channels = [out[name].shape[1] for name in net.style_layers]
    assert channels == [64, 128, 256, 512, 512] and out["relu4_2"].shape == (1, 512, 4, 4)
    assert not any(p.requires_grad for p in net.parameters())


@pytest.mark.slow
def test_inception_transfers_style_with_the_fid_weights():
    net = InceptionStyleNet(inception_weights())
    gen = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 80, 80, generator=gen) * 2 - 1
    stripes = torch.arange(80).remainder(8).lt(4).float().mul(2).sub(1)
    style = stripes.view(1, 1, 1, 80).expand(1, 3, 80, 80)
    result = stylize(net, content, style, steps=8)
    assert result.history["style"][-1] < 0.8 * result.history["style"][0]
    assert result.history["content"][0] < 1e-6  # it starts at the content image
