"""A VAE's ELBO on validation images during training: val/elbo, val/recon, val/kl."""

from __future__ import annotations

import lightning as L
import torch


class ValidationELBO(L.Callback):
    """Every ``every_n_iters`` iterations and after the last one: the ELBO's terms per image,
    in nats, on the first ``n`` images of the validation split (MNIST: the test digits), in
    eval mode, one z per image from a generator seeded with ``seed``: the same images and
    draws each time, so successive values differ by the model only. Logged as ``val/elbo``,
    ``val/recon`` (-log p(x|z)) and ``val/kl``, and in summary.json's final values.

    The training RNG is left untouched (its own generator, and forked around the data
    loader), so a run is the same with or without this callback, and resumes exactly."""

    def __init__(self, every_n_iters: int = 500, n: int = 1000, batch_size: int = 500, seed=0):
        self.every_n_iters, self.n, self.batch_size, self.seed = every_n_iters, n, batch_size, seed
        self.latest: dict[str, float] = {}
        self._last_step: int | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = pl_module.g_steps
        due = self.every_n_iters and step and step % self.every_n_iters == 0
        if (due or pl_module.finished()) and step != self._last_step:
            self.measure(trainer, pl_module)

    def values(self, datamodule, model) -> dict[str, float]:
        """The mean ELBO terms over the first ``n`` validation images."""
        # A DataLoader's iterator draws from torch's RNG: private state keeps the training
        # draws (and so a resumed run) the same with or without this measurement.
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            return self._values(datamodule, model)

    def _values(self, datamodule, model) -> dict[str, float]:
        gen = torch.Generator().manual_seed(self.seed)
        loader = datamodule.dataloader("val", batch_size=self.batch_size)
        sums = {"elbo": 0.0, "recon": 0.0, "kl": 0.0}
        seen = 0
        for batch in loader:
            images = batch[0][: self.n - seen].to(model.device)
            eps = torch.randn(len(images), model.nz, generator=gen).to(model.device)
            was_training = model.training
            model.eval()
            try:
                terms = model.elbo_terms(images, eps)
            finally:
                model.train(was_training)
            log_px, kl = terms["log_px"], terms["kl"]
            sums["elbo"] += float((log_px - kl).sum())
            sums["recon"] += float(-log_px.sum())
            sums["kl"] += float(kl.sum())
            seen += len(images)
            if seen >= self.n:
                break
        return {key: total / seen for key, total in sums.items()}

    def measure(self, trainer, pl_module) -> None:
        self._last_step = pl_module.g_steps
        values = self.values(trainer.datamodule, pl_module)
        self.latest = {f"val/{key}": value for key, value in values.items()}
        # As the evaluation callback's: straight to the loggers, at the batch counter.
        for logger in trainer.loggers:
            logger.log_metrics(self.latest, step=pl_module.d_steps - 1)
        trainer.callback_metrics.update(
            {key: torch.tensor(value) for key, value in self.latest.items()}
        )
