"""Sample grids from a fixed noise batch: PNG files always, images in the loggers too."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torchvision.utils import make_grid, save_image

from ganlab.models.capabilities import Reconstructor


def log_image(logger, key: str, grid: torch.Tensor, step: int) -> None:
    """Send a [0, 1] image grid to any logger that can show images (CSV cannot)."""
    if isinstance(logger, TensorBoardLogger):
        logger.experiment.add_image(key, grid, global_step=step)
    elif hasattr(logger, "log_image"):  # wandb, Neptune, Comet: same signature
        logger.log_image(key=key, images=[grid], caption=[f"iteration {step}"])


class SampleGrid(L.Callback):
    """Every ``every_n_iters`` generator updates and at the end of training, save the model's
    preview grid as ``<run_dir>/samples/step_NNNNNN.png``.

    The model decides what a preview is (``preview(n, seed, datamodule)``): a GAN draws G(z)
    for ``n`` fixed z from its own seeded generator, so that grids of different runs (losses,
    architectures) with the same ``seed`` show the same latent points; a CycleGAN translates
    ``n`` fixed test images both ways, one row each.

    A model that reconstructs images (a VAE: ``Reconstructor``) also gets
    ``<run_dir>/reconstructions/step_NNNNNN.png``: the first ``n / 2`` validation images,
    each followed by its reconstruction (input | reconstruction, ``nrow / 2`` pairs a row).
    """

    def __init__(
        self,
        every_n_iters: int = 200,
        n: int = 64,
        nrow: int = 8,
        seed: int = 0,
        dirname: str = "samples",
    ):
        self.every_n_iters, self.n, self.nrow = every_n_iters, n, nrow
        self.seed, self.dirname = seed, dirname
        self._last_saved: int | None = None
        self._inputs: torch.Tensor | None = None

    def grid(self, pl_module, datamodule=None) -> torch.Tensor:
        images, nrow = pl_module.preview(self.n, self.seed, datamodule)
        return make_grid(images, nrow=nrow or self.nrow, normalize=True, value_range=(-1, 1))

    def save(self, trainer: L.Trainer, pl_module) -> Path | None:
        step = pl_module.g_steps
        if not trainer.is_global_zero or step == self._last_saved:
            return None
        grid = self.grid(pl_module, trainer.datamodule)
        path = Path(trainer.default_root_dir) / self.dirname / f"step_{step:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        for logger in trainer.loggers:
            log_image(logger, "samples", grid, step)
        if isinstance(pl_module, Reconstructor):
            self.save_reconstructions(trainer, pl_module, step)
        self._last_saved = step
        return path

    def reconstruction_grid(self, pl_module, datamodule) -> torch.Tensor:
        """Fixed validation images, each followed by its reconstruction."""
        if self._inputs is None:
            dataset = datamodule.get_dataset("val")
            count = min(max(1, self.n // 2), len(dataset))
            self._inputs = torch.stack([dataset[i][0] for i in range(count)])
        rebuilt = pl_module.reconstruct(self._inputs).float().cpu()
        pairs = torch.stack([self._inputs, rebuilt], dim=1).flatten(0, 1)
        nrow = max(2, self.nrow - self.nrow % 2)  # whole pairs in a row
        return make_grid(pairs, nrow=nrow, normalize=True, value_range=(-1, 1))

    def save_reconstructions(self, trainer, pl_module, step: int) -> Path:
        grid = self.reconstruction_grid(pl_module, trainer.datamodule)
        path = Path(trainer.default_root_dir) / "reconstructions" / f"step_{step:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        for logger in trainer.loggers:
            log_image(logger, "reconstructions", grid, step)
        return path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = pl_module.g_steps
        if self.every_n_iters and step and step % self.every_n_iters == 0:
            self.save(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        self.save(trainer, pl_module)
