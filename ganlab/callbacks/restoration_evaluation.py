"""Evaluation of restoration (pix2pix on ``data/degrade``): PSNR, SSIM and FID/KID of the
restored test images against the clean ones."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from ganlab.callbacks.evaluation import Evaluation
from ganlab.errors import ConfigError
from ganlab.metrics import Evaluator
from ganlab.metrics.evaluator import count_tag
from ganlab.pixels import quantize

# Higher is better for these (the feature metrics say for themselves).
PIXEL_METRICS = ("psnr", "ssim")


class RestorationEvaluation(Evaluation):
    """Every ``every_n_iters`` iterations and after the last: restore the first ``n`` pairs
    of ``split`` (the test images, degraded under fixed per-image seeds:
    ``ImageDataModule.pairs``) and log

    - ``val/psnr_<n>`` (dB) and ``val/ssim_<n>`` (torchmetrics), per image on [0, 1] pixels
      rounded to the 256 stored levels (the restored images as saved), averaged;
    - ``val/<metric>_<features>_<n>``: the feature metrics (FID, KID, ...) of the restored
      images against the same ``n`` clean images (cached as any reference).

    ``best.ckpt`` follows ``monitor``, by default ``psnr_<n>``. ``measure`` also serves
    ``ganlab-eval``, which adds the degradation's classical baseline (bicubic upsampling, the
    mean-filled hole, ...) measured the same way.
    """

    def __init__(self, *args, split: str = "test", n: int = 1000, **kwargs):
        super().__init__(*args, split=split, n=n, **kwargs)

    @property
    def monitor(self) -> str:
        return self._monitor or f"psnr_{count_tag(self.n)}"

    def lower_is_better(self) -> bool:
        if self.monitor.startswith(PIXEL_METRICS):
            return False
        return super().lower_is_better()

    def _evaluate(self, trainer, pl_module) -> dict[str, float]:
        start = time.perf_counter()
        values = None
        if trainer.is_global_zero:
            values = self.measure(trainer.datamodule, pl_module.restore, pl_module.device)
        values = trainer.strategy.broadcast(values, src=0)
        values["eval_seconds"] = time.perf_counter() - start
        self.record(trainer, pl_module, values)
        return values

    def count(self, datamodule) -> int:
        """How many pairs are measured: ``n``, or fewer in a small split."""
        return min(self.n, len(datamodule.get_dataset(self.split)))

    def measure(
        self, datamodule, restore: Callable[[torch.Tensor], torch.Tensor], device
    ) -> dict[str, float]:
        """The metrics of ``restore`` (degraded inputs -> images) on the first pairs."""
        if not datamodule.paired:
            raise ConfigError(
                "the restoration evaluation needs (degraded, clean) pairs: data/degrade=... "
                "(downsample, mask, noise, blur, jpeg)."
            )
        n = self.count(datamodule)
        pairs = datamodule.pairs(self.split)
        psnr = PeakSignalNoiseRatio(data_range=1.0, reduction="elementwise_mean", dim=(1, 2, 3))
        ssim = StructuralSimilarityIndexMeasure(data_range=1.0)
        position = 0

        def restored_batch(k: int) -> torch.Tensor:
            nonlocal position
            items = pairs.__getitems__(list(range(position, position + k)))
            position += k
            degraded = torch.stack([x for x, _ in items]).to(device)
            clean = torch.stack([y for _, y in items])
            images = quantize(restore(degraded).float().cpu())
            psnr.update((images + 1) / 2, (clean + 1) / 2)
            ssim.update((images + 1) / 2, (clean + 1) / 2)
            return images

        evaluator = Evaluator(
            self.evaluator.extractors, self.metrics, n, self.split, self.cache_dir, self.batch_size
        )
        fake = evaluator.fake(restored_batch, n, device)
        values = {}
        if evaluator.extractors:
            values = evaluator.compute(evaluator.real(datamodule, device), fake)
        tag = count_tag(n)
        return {
            f"psnr_{tag}": float(psnr.compute()),
            f"ssim_{tag}": float(ssim.compute()),
            **values,
        }
