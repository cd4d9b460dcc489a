import pytest
import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.regularizers import R1, NoRegularizer, r1_penalty


def two_layer_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Tanh(), nn.Linear(5, 1))


def test_r1_penalty_matches_autograd_per_sample():
    net = two_layer_net()
    real = torch.randn(6, 3, 2, 2)
    expected = []
    for x in real:  # each image's own input gradient, by autograd, one at a time
        x = x[None].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(x).sum(), x)
        expected.append(grad.pow(2).sum())
    assert r1_penalty(net, real).item() == pytest.approx(torch.stack(expected).mean().item())


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    linear = nn.Linear(12, 1)
    critic = nn.Sequential(nn.Flatten(), linear)
    value = r1_penalty(critic, torch.randn(4, 3, 2, 2))
    assert value.item() == pytest.approx(linear.weight.pow(2).sum().item())


def test_r1_is_lazy_and_weighted_by_its_interval():
    net = two_layer_net()
    real = torch.randn(4, 12)
    reg = R1(gamma=2.0, every=4)
    assert [reg.due(step) for step in range(9)] == [True, False, False, False] * 2 + [True]
    total, terms = reg.penalty(net, real)
    assert total.item() == pytest.approx(0.5 * 2.0 * 4 * terms["r1"].item())
    assert R1(every=1).due(7)


def test_r1_penalty_trains_the_critic_through_a_double_backward():
    net = two_layer_net()
    total, _ = R1(gamma=1.0, every=1).penalty(net, torch.randn(4, 12))
    total.backward()
    assert net[1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("kwargs", [{"gamma": -1.0}, {"every": 0}, {"every": 1.5}])
def test_r1_refuses_bad_settings(kwargs):
    with pytest.raises(ConfigError, match="reg\\."):
        R1(**kwargs)


def test_no_regularizer_is_never_due():
    assert not any(NoRegularizer().due(step) for step in range(20))


def test_no_regularizers_penalty_is_zero():
    value, terms = NoRegularizer().penalty(lambda x: x.sum(), torch.ones(2, 1, 4, 4))
    assert value.item() == 0.0 and terms == {}
