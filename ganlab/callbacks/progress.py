"""Lightning's rich progress bar, counting batches the way a GAN run has them."""

from __future__ import annotations

from lightning.pytorch.callbacks import RichProgressBar


class GANProgressBar(RichProgressBar):
    """Lightning derives the bar's length from ``max_steps``, which counts every optimizer
    step (models/clock.py); a GAN batch has ``1 + 1/n_critic`` of them, so the stock bar
    stopped half way. This one counts the batches left: ``max_iters`` iterations of
    ``n_critic`` batches, less those trained."""

    @property
    def total_train_batches(self) -> int | float:
        return self._epoch_total(done=0)

    def _epoch_total(self, done: int) -> int | float:
        """Where this epoch's bar ends, with ``done`` of its batches already trained."""
        trainer = self.trainer
        module = trainer.lightning_module
        if trainer.max_epochs == -1 and module.max_iters is not None:
            remaining = module.clock.batches(module.max_iters) - module.d_steps
            return min(trainer.num_training_batches, done + remaining)
        return trainer.num_training_batches

    def on_train_start(self, trainer, pl_module) -> None:
        super().on_train_start(trainer, pl_module)
        self._epoch_seen = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        # A run resumed inside an epoch counts on from its batch there, but Lightning sets
        # the bar's total to the batches left (it showed e.g. 10/4): the first batch of
        # the epoch this run trains puts the end at that batch plus the ones left.
        first = self._epoch_seen != trainer.current_epoch
        self._epoch_seen = trainer.current_epoch
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if first and batch_idx > 0 and self.progress is not None:
            total = self._epoch_total(done=batch_idx + 1)
            self.progress.update(self.train_progress_bar_id, total=total)
            self.refresh()

    def get_metrics(self, trainer, pl_module) -> dict:
        """Lightning's items and the latest logged losses (a ganlab model writes its training
        values to the loggers itself, so they are not among Lightning's)."""
        items = super().get_metrics(trainer, pl_module)
        latest = pl_module.train_values
        items.update({k: latest[k] for k in pl_module.progress_keys if k in latest})
        return items

    def _get_train_description(self, current_epoch: int) -> str:
        if self.trainer.max_epochs in (None, -1):  # unbounded epochs: no "/-2"
            return f"Epoch {current_epoch}"
        return super()._get_train_description(current_epoch)
