"""The interface every regulariser of the discriminator implements (``reg`` group)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import nn

Terms = dict[str, torch.Tensor]
Critic = Callable[[torch.Tensor], torch.Tensor]


class Regularizer(nn.Module, ABC):
    """A penalty added to D's loss on the D steps where ``due(d_steps)`` says so.

    ``critic`` is D as the loss sees it: a function of the images alone (labels bound, the
    D step's augmentation applied), so one regulariser serves every model and loss.
    """

    #: Penalties on D's input gradient set this True: such a critic is not compiled
    #: (speed.compile), as compiled graphs have no double backward.
    double_backward: bool = False

    def due(self, d_steps: int) -> bool:
        """Whether the D step after ``d_steps`` earlier ones carries the penalty."""
        return False

    @abstractmethod
    def penalty(self, critic: Critic, real: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        """The term to add to D's loss, and the named values to log as ``train/<name>``."""


class NoRegularizer(Regularizer):
    """``reg=none``: D's loss as the loss group makes it."""

    def penalty(self, critic: Critic, real: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        return real.new_zeros(()), {}  # never due; zero if asked
