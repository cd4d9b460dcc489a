"""Style transfer's losses against values worked out by hand."""

import torch

from ganlab.stylize import content_loss, gram, style_loss, total_variation


def test_gram_by_hand():
    # One image, 2 channels of 2x1 positions: a = (1, 2), b = (3, 0).
    features = torch.tensor([[[[1.0], [2.0]], [[3.0], [0.0]]]])
    # F F^T = [[1+4, 3+0], [3+0, 9+0]], divided by C*H*W = 4.
    assert torch.equal(gram(features), torch.tensor([[[5.0, 3.0], [3.0, 9.0]]]) / 4)


def test_a_gram_forgets_where_things_are():
    features = torch.randn(1, 4, 6, 6)
    shuffled = features.flatten(2)[..., torch.randperm(36)].reshape(1, 4, 6, 6)
    assert torch.allclose(gram(features), gram(shuffled), atol=1e-6)
    assert not torch.allclose(content_loss(features, shuffled), torch.tensor(0.0))


def test_style_loss_is_the_mean_over_layers_of_gram_differences():
    a, b = torch.ones(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)
    # gram(a) is all 4 / 8 = 0.5, gram(b) all 0: squared difference 0.25 for layer "x";
    # layer "y" matches exactly: the mean over the two layers is 0.125.
    loss = style_loss({"x": a, "y": b}, {"x": gram(b), "y": gram(b)})
    assert loss.item() == 0.125


def test_total_variation_by_hand():
    image = torch.tensor([[[[0.0, 1.0], [0.0, 3.0]]]])
    # horizontal steps |1 - 0|, |3 - 0|: mean 2; vertical |0 - 0|, |3 - 1|: mean 1.
    assert total_variation(image).item() == 3.0
    assert total_variation(torch.full((1, 3, 4, 4), 0.3)).item() == 0.0
