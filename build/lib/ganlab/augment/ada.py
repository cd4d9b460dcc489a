"""Adaptive discriminator augmentation (ADA, Karras et al. 2020) over DiffAugment's operations.

The probability ``p`` of each operation follows D's overfitting heuristic r_t = E[sign(D(real))]:
every ``interval`` D steps, ``p += sign(r_t - target) * images / (kimg * 1000)``, so p can move
by 1 in ``kimg`` thousand real images (stylegan2-ada-pytorch, training/training_loop.py: there
target 0.6, interval 4, kimg 500, p >= 0). All of it happens in place on the training device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist

from ganlab.augment.diffaug import DiffAugment
from ganlab.errors import ConfigError


class ADA(DiffAugment):
    """DiffAugment whose ``p`` starts at ``p_init`` and adapts to keep r_t near ``target``."""

    adaptive = True

    def __init__(
        self,
        policy: str | Sequence[str] = "color,translation,cutout",
        translation: float = 0.125,
        cutout: float = 0.5,
        target: float = 0.6,
        interval: int = 4,
        kimg: float = 500,
        p_init: float = 0.0,
        p_max: float = 1.0,
    ) -> None:
        if not 0 < target < 1:
            raise ConfigError(f"augment.target must be in (0, 1), got {target}.")
        if int(interval) != interval or interval < 1:
            raise ConfigError(f"augment.interval must be an integer >= 1, got {interval}.")
        if not kimg > 0:
            raise ConfigError(f"augment.kimg must be > 0, got {kimg}.")
        if not 0 <= p_init <= p_max <= 1:
            raise ConfigError(
                f"augment.p_init and augment.p_max need 0 <= p_init <= p_max <= 1, "
                f"got p_init={p_init}, p_max={p_max}."
            )
        super().__init__(policy, translation, cutout, p=p_init)
        self.target, self.interval = float(target), int(interval)
        self.kimg, self.p_max = float(kimg), float(p_max)
        # Since the last update: the sum of sign(D(real)) and the number of real images.
        self.register_buffer("sign_sum", torch.zeros((), dtype=torch.float32))
        self.register_buffer("seen", torch.zeros((), dtype=torch.float32))
        self.calls = 0  # observe() calls; a Python int, saved as extra state

    def observe(self, r_t: torch.Tensor, n: int) -> None:
        self.sign_sum += r_t.detach().float() * n
        self.seen += n
        self.calls += 1
        if self.calls % self.interval:
            return
        totals = torch.stack((self.sign_sum, self.seen))
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(totals)  # every process's images; all of them reach this call
        sign_sum, seen = totals.unbind()
        # seen >= 1 unless no image was seen, when the step is 0 anyway.
        step = torch.sign(sign_sum / seen.clamp(min=1) - self.target) * seen / (self.kimg * 1000)
        self.p.copy_((self.p + step).clamp(0, self.p_max))
        self.sign_sum.zero_()
        self.seen.zero_()

    def logs(self) -> dict[str, torch.Tensor]:
        return {"augment_p": self.p.clone()}  # a copy: p changes in place

    def get_extra_state(self) -> Any:
        return {"calls": self.calls}

    def set_extra_state(self, state: Any) -> None:
        self.calls = int(state["calls"])
