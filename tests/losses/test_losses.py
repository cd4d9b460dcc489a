import math

import pytest
import torch
from torch import nn

from ganlab.losses import HingeLoss, JSLoss, LSLoss, WGANGPLoss, WGANLoss, gradient_penalty

D_REAL = torch.tensor([2.0, 0.0])
D_FAKE = torch.tensor([-1.0, 0.0])


def d_loss(loss, d_real=D_REAL, d_fake=D_FAKE, critic=None, real=None, fake=None):
    return loss.d_loss(critic, real, fake, d_real, d_fake)


def test_js_discriminator_loss_on_known_logits():
    total, terms = d_loss(JSLoss())
    # -log sigmoid(2), -log sigmoid(0) | -log(1 - sigmoid(-1)), -log(1 - sigmoid(0))
    real = (math.log1p(math.exp(-2)) + math.log(2)) / 2
    fake = (math.log1p(math.exp(-1)) + math.log(2)) / 2
    assert terms["d_loss_real"].item() == pytest.approx(real)
    assert terms["d_loss_fake"].item() == pytest.approx(fake)
    assert total.item() == pytest.approx(real + fake)


def test_js_generator_losses():
    d_fake = torch.tensor([0.0, 1.0])
    nonsat = (math.log(2) + math.log1p(math.exp(-1))) / 2  # -log sigmoid(x)
    sat = -(math.log(2) + math.log1p(math.exp(1))) / 2  # log(1 - sigmoid(x))
    assert JSLoss().g_loss(d_fake).item() == pytest.approx(nonsat)
    assert JSLoss(saturating=True).g_loss(d_fake).item() == pytest.approx(sat)


def test_ls_losses_on_known_outputs():
    total, terms = d_loss(LSLoss(), torch.tensor([1.0, 0.5]), torch.tensor([0.0, 0.5]))
    assert terms["d_loss_real"].item() == pytest.approx(0.0625)
    assert terms["d_loss_fake"].item() == pytest.approx(0.0625)
    assert total.item() == pytest.approx(0.125)
    assert LSLoss().g_loss(torch.tensor([0.0, 0.5])).item() == pytest.approx(0.3125)


class Linear(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, so the penalty is (|w| - 1)^2."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


@pytest.mark.parametrize("scale,expected", [(1.0, 0.0), (2.0, 1.0), (0.5, 0.25)])
def test_gradient_penalty_of_linear_critic(scale, expected):
    torch.manual_seed(0)
    w = torch.randn(3 * 4 * 4)
    critic = Linear(scale * w / w.norm())
    real, fake = torch.randn(8, 3, 4, 4), torch.randn(8, 3, 4, 4)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected, abs=1e-6)


def test_wgan_gp_losses_and_terms():
    torch.manual_seed(0)
    w = torch.randn(12)
    critic = Linear(2 * w / w.norm())  # gp = 1 exactly
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    total, terms = d_loss(WGANGPLoss(gp_weight=10.0), critic=critic, real=real, fake=fake)
    assert terms["wasserstein"].item() == pytest.approx(1.0 - (-0.5))
    assert terms["gp"].item() == pytest.approx(1.0, abs=1e-6)
    assert total.item() == pytest.approx(-1.5 + 10.0)
    assert WGANGPLoss().g_loss(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)


def test_gradient_penalty_is_float32_under_autocast():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(48, 16), nn.Tanh(), nn.Linear(16, 1))
    real, fake = torch.randn(4, 3, 4, 4), torch.randn(4, 3, 4, 4)
    torch.manual_seed(1)
    plain = gradient_penalty(critic, real, fake)
    torch.manual_seed(1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert critic(real).dtype == torch.bfloat16  # autocast is really on here
        mixed = gradient_penalty(critic, real, fake)
    assert mixed.dtype == torch.float32
    assert mixed.item() == pytest.approx(plain.item(), rel=1e-6)


def test_only_wgan_gp_refuses_batchnorm_critics():
    assert JSLoss.allows_batchnorm_critic and LSLoss.allows_batchnorm_critic
    assert not WGANGPLoss.allows_batchnorm_critic


def test_hinge_losses_on_known_outputs():
    # max(0, 1 - 2), max(0, 1 - 0) | max(0, 1 + (-1)), max(0, 1 + 0)
    total, terms = d_loss(HingeLoss())
    assert terms["d_loss_real"].item() == pytest.approx(0.5)
    assert terms["d_loss_fake"].item() == pytest.approx(0.5)
    assert total.item() == pytest.approx(1.0)
    total, _ = d_loss(HingeLoss(), torch.tensor([0.5, 3.0]), torch.tensor([-3.0, 0.25]))
    assert total.item() == pytest.approx(0.25 + 0.625)
    assert HingeLoss().g_loss(torch.tensor([1.0, -3.0])).item() == pytest.approx(1.0)


def test_wgan_losses_on_known_outputs():
    total, terms = d_loss(WGANLoss())
    assert terms["wasserstein"].item() == pytest.approx(1.0 - (-0.5))
    assert total.item() == pytest.approx(-1.5)
    assert WGANLoss().g_loss(torch.tensor([1.0, -3.0])).item() == pytest.approx(1.0)


def test_wgan_clips_every_critic_weight_after_a_step():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
    loss = WGANLoss(clip=0.01)
    opt = torch.optim.RMSprop(critic.parameters(), lr=0.5)
    real, fake = torch.randn(16, 4), torch.randn(16, 4) + 1
    d_total, _ = loss.d_loss(critic, real, fake, critic(real), critic(fake))
    d_total.backward()
    opt.step()
    assert max(p.abs().max().item() for p in critic.parameters()) > 0.01  # the step left them
    loss.constrain(critic)
    for param in critic.parameters():
        assert param.abs().max().item() <= 0.01
    for layer in (critic[0], critic[2]):  # RMSprop's large steps: clipped to the bound exactly
        assert layer.weight.abs().max().item() == pytest.approx(0.01)
    assert critic[1].running_var.max().item() > 0.01  # buffers are not weights: untouched


def test_other_losses_impose_no_constraint():
    critic = nn.Linear(4, 1)
    before = [p.detach().clone() for p in critic.parameters()]
    for loss in (JSLoss(), LSLoss(), HingeLoss(), WGANGPLoss()):
        loss.constrain(critic)
    assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters()))


def test_each_loss_declares_where_its_real_and_fake_outputs_part():
    assert [loss.real_threshold for loss in (JSLoss(), HingeLoss(), LSLoss())] == [0, 0, 0.5]
    assert WGANLoss.real_threshold is None and WGANGPLoss.real_threshold is None
