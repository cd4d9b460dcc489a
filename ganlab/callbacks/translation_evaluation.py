"""In-training evaluation of image translation (CycleGAN): cycle error and FID/KID per direction."""

from __future__ import annotations

import time

import torch

from ganlab.callbacks.evaluation import Evaluation
from ganlab.data.unpaired import DIRECTIONS, UnpairedDataModule
from ganlab.errors import ConfigError
from ganlab.metrics import Evaluator
from ganlab.metrics.reference import reference_key


class TranslationEvaluation(Evaluation):
    """Every ``every_n_iters`` iterations and after the last: translate the first ``n`` images
    of each domain's ``split`` (the test images, by default) and log

    - ``val/cycle_l1_a`` and ``val/cycle_l1_b``: mean |G_BA(G_AB(a)) - a| (and for b), in the
      [-1, 1] pixel range;
    - ``val/<metric>_<features>_<n>_a2b`` (and ``_b2a``): the metrics of translated A images
      against the real B images of the split (and the other way), with the real features
      cached per domain;
    - ``val/true_l1_a2b`` when the data knows the right answer (``true_translation``, as the
      MNIST demo does): the error of the translation itself.

    ``n`` in a metric's name is the number of images really used (test sets are often
    smaller than ``n``). ``best.ckpt`` follows ``monitor``, by default the first metric of
    a2b (or ``cycle_l1_a`` when no metric is chosen). Rank 0 evaluates; the values are
    broadcast to the other ranks.
    """

    def __init__(self, *args, split: str = "test", n: int = 1000, **kwargs):
        super().__init__(*args, split=split, n=n, **kwargs)
        self._first_name: str | None = None

    @property
    def monitor(self) -> str:
        return self._monitor or self._first_name or "cycle_l1_a"

    def _evaluate(self, trainer, pl_module) -> dict[str, float]:
        start = time.perf_counter()
        values = None
        if trainer.is_global_zero:
            values = self.compute(trainer.datamodule, pl_module)
        values = trainer.strategy.broadcast(values, src=0)
        values["eval_seconds"] = time.perf_counter() - start
        self.record(trainer, pl_module, values)
        return values

    def compute(self, datamodule, pl_module) -> dict[str, float]:
        if not isinstance(datamodule, UnpairedDataModule):
            raise ConfigError(
                f"{type(datamodule).__name__} has no image domains to translate between; "
                "use unpaired data, e.g. data=unpaired_folder or data=mnist_unpaired."
            )
        values: dict[str, float] = {}
        for direction in DIRECTIONS:
            values.update(self._direction(datamodule, pl_module, direction))
        metric_names = [k for k in values if not k.startswith(("cycle_l1", "true_l1"))]
        self._first_name = metric_names[0] if metric_names else "cycle_l1_a"
        return values

    def count(self, datamodule, direction: str) -> int:
        """How many source images a direction translates: ``n``, or fewer in a small split."""
        source = datamodule.domain(DIRECTIONS[direction][0])
        return min(self.n, len(source.get_dataset(self.split)))

    def reference_keys(self, datamodule) -> dict[str, str]:
        """The cache key of every extractor's real features, per direction (for reports)."""
        return {
            f"{name}_{direction}": reference_key(
                datamodule.domain(tgt), self.split, self.count(datamodule, direction), ext
            )
            for direction, (_, tgt) in DIRECTIONS.items()
            for name, ext in self.evaluator.extractors.items()
        }

    def _direction(self, datamodule, pl_module, direction: str) -> dict[str, float]:
        src, tgt = DIRECTIONS[direction]
        reverse = "b2a" if direction == "a2b" else "a2b"
        device = pl_module.device
        source = datamodule.domain(src)
        n = self.count(datamodule, direction)
        loader = iter(source.dataloader(self.split, batch_size=self.batch_size))
        truth = datamodule.true_translation
        sums = {"cycle": 0.0, "true": 0.0, "seen": 0, "has_truth": True}

        def translate(k: int) -> torch.Tensor:
            real = next(loader)[0][:k].to(device)
            fake = pl_module.translate(real, direction)
            rec = pl_module.translate(fake, reverse)
            sums["cycle"] += (rec - real).abs().mean(dim=(1, 2, 3)).sum().item()
            expected = truth(real, direction)
            if expected is None:
                sums["has_truth"] = False
            else:
                sums["true"] += (fake - expected.to(device)).abs().mean(dim=(1, 2, 3)).sum().item()
            sums["seen"] += len(real)
            return fake

        evaluator = Evaluator(
            self.evaluator.extractors, self.metrics, n, self.split, self.cache_dir, self.batch_size
        )
        fake = evaluator.fake(translate, n, device)
        values = {}
        if evaluator.extractors:
            real = evaluator.real(datamodule.domain(tgt), device)
            values = {f"{k}_{direction}": v for k, v in evaluator.compute(real, fake).items()}
        values[f"cycle_l1_{src.lower()}"] = sums["cycle"] / sums["seen"]
        if sums["has_truth"]:
            values[f"true_l1_{direction}"] = sums["true"] / sums["seen"]
        return values

    def state_dict(self) -> dict:
        return {**super().state_dict(), "first_name": self._first_name}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._first_name = state.get("first_name")
