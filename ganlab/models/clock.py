"""How ganlab counts training, and the one place its units are converted.

- An **iteration** (``g_steps``) is ``n_critic`` D updates followed by one G update. It is the
  unit a user sees: ``max_iters``, ``every_n_iters``, the grids' names, ``summary.json``.
- A **batch** (``d_steps``) is one D update; there are ``n_critic`` in an iteration. A model
  with one optimizer (``model=vae``) has one batch, one update, per iteration:
  ``Clock(1, g_updates=0)``.
- A **Lightning step** (``trainer.global_step``, ``trainer.max_steps``,
  ``ModelCheckpoint.every_n_train_steps``) counts every optimizer step, D's and G's alike:
  ``n_critic + 1`` in an iteration. Only Lightning's own settings are in steps; everything
  ganlab computes from them asks a ``Clock``.

Every update that is taken calls its optimizer's ``step`` once, and a skipped one calls none,
so ``trainer.global_step == g_steps + d_steps`` throughout a GAN's run (``g_steps`` for a
model with one optimizer).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Clock:
    """Conversions between iterations, batches and Lightning steps for one ``n_critic``.

    ``g_updates``: the optimizer steps that end an iteration after its ``n_critic`` batches'
    D steps: 1 (G's) for an adversarial model, 0 for a model whose every batch is one
    update of one optimizer (a VAE)."""

    n_critic: int = 1
    g_updates: int = 1

    @property
    def steps_per_iteration(self) -> int:
        return self.n_critic + self.g_updates

    def steps(self, iterations: int | None) -> int:
        """Lightning's ``max_steps`` for a run of ``iterations`` (None: unbounded, -1)."""
        return -1 if iterations is None else iterations * self.steps_per_iteration

    def iterations(self, steps: int) -> int | None:
        """The whole iterations in ``steps`` Lightning steps (None for -1: unbounded)."""
        return None if steps < 0 else steps // self.steps_per_iteration

    def batches(self, iterations: int) -> int:
        """The batches (D updates) in ``iterations``."""
        return iterations * self.n_critic
