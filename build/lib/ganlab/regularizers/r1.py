"""R1 (Mescheder et al. 2018): penalise D's gradient on real images, lazily as in StyleGAN2."""

from __future__ import annotations

import torch

from ganlab.errors import ConfigError
from ganlab.regularizers.base import Critic, Regularizer, Terms


def r1_penalty(critic: Critic, real: torch.Tensor) -> torch.Tensor:
    """``E[||grad_x D(x)||^2]`` over real images, in float32 with autocast off (as the
    gradient penalty: squared gradient norms overflow or lose precision in fp16/bf16)."""
    with torch.autocast(device_type=real.device.type, enabled=False):
        x = real.detach().float().requires_grad_(True)
        out = critic(x).float()
        (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        return grad.flatten(1).pow(2).sum(1).mean()


class R1(Regularizer):
    """``gamma / 2 * E[||grad D(x)||^2]`` on real x, every ``every`` D steps and then
    multiplied by ``every`` so that its average weight is unchanged (StyleGAN2's lazy
    regularisation, Karras et al. 2020b, with its interval 16). ``every=1``: each step.

    The penalty takes its own forward pass of D on the real images, in float32: it costs
    one extra D forward and a double backward on the steps that carry it. (StyleGAN2 also
    rescales Adam's learning rate and betas by every / (every + 1) to compensate; ganlab
    leaves the optimizer as configured.)
    """

    double_backward = True

    def __init__(self, gamma: float = 10.0, every: int = 16):
        super().__init__()
        if not gamma >= 0:
            raise ConfigError(f"reg.gamma must be >= 0, got {gamma}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"reg.every must be an integer >= 1, got {every!r}")
        self.gamma, self.every = float(gamma), every

    def due(self, d_steps: int) -> bool:
        return d_steps % self.every == 0

    def penalty(self, critic: Critic, real: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        r1 = r1_penalty(critic, real)
        return (0.5 * self.gamma * self.every) * r1, {"r1": r1}
