"""One evaluation: generate n images, extract features once per extractor, run every metric."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import torch

from ganlab.metrics.base import FeatureMetric
from ganlab.metrics.extractors import ClassifierFeatures, FeatureExtractor
from ganlab.metrics.fid import gaussian_stats
from ganlab.metrics.progress import Progress
from ganlab.metrics.reference import default_cache_dir, extract, reference_features


def count_tag(n: int) -> str:
    """10000 -> '10k', 2500 -> '2.5k', 500 -> '500': the sample count in a metric's name."""
    return f"{n / 1000:g}k" if n >= 1000 else str(n)


def metric_name(key: str, extractor: str, n: int) -> str:
    return f"{key}_{extractor}_{count_tag(n)}"


def build_extractors(features: Mapping) -> dict[str, FeatureExtractor]:
    """Extractors from a ``features`` config: factories (``_partial_: true``, built now,
    since building one may load or train a network) or extractors already built."""
    return {
        name: make if isinstance(make, torch.nn.Module) else make()
        for name, make in features.items()
    }


class Evaluator:
    """Holds the protocol (extractors, metrics, n, reference split) of an evaluation."""

    def __init__(
        self,
        extractors: Mapping[str, FeatureExtractor],
        metrics: Mapping[str, FeatureMetric],
        n: int = 10000,
        split: str = "train",
        cache_dir: str | None = None,
        batch_size: int = 500,
    ):
        self.extractors, self.metrics = dict(extractors), dict(metrics)
        self.n, self.split, self.batch_size = n, split, batch_size
        self.cache_dir = cache_dir or default_cache_dir()

    def _to(self, device) -> None:
        for ext in self.extractors.values():
            ext.to(device)

    def pairs(self):
        """(extractor name, metric) for every metric that applies to that extractor."""
        for name, ext in self.extractors.items():
            for metric in self.metrics.values():
                if not metric.uses_logits or isinstance(ext, ClassifierFeatures):
                    yield name, metric

    def names(self) -> list[str]:
        """Every metric name this protocol produces, the first one being the headline."""
        return [metric_name(k, e, self.n) for e, m in self.pairs() for k in m.keys]

    def real(self, datamodule, device) -> dict[str, torch.Tensor]:
        self._to(device)
        return {
            name: reference_features(
                ext,
                datamodule,
                self.split,
                self.n,
                self.cache_dir,
                self.batch_size,
                device,
            )
            for name, ext in self.extractors.items()
        }

    def fake(
        self, generate: Callable[[int], torch.Tensor], n: int, device
    ) -> dict[str, torch.Tensor]:
        """Features (and, where a metric wants them, class logits under ``<name>:logits``) of
        ``n`` generated images; each batch goes through every extractor once."""
        self._to(device)
        logit_users = {e for e, m in self.pairs() if m.uses_logits}
        feats = {name: [] for name in [*self.extractors, *(f"{e}:logits" for e in logit_users)]}
        progress = Progress(f"{'/'.join(self.extractors)} features of {n} generated images", n)
        for start in range(0, n, self.batch_size):
            images = generate(min(self.batch_size, n - start)).to(device)
            for name, ext in self.extractors.items():
                feats[name].append(extract(ext, [images], len(images), device))
                if name in logit_users:
                    feats[f"{name}:logits"].append(ext.logits(images).float().cpu())
            progress.update(len(images))
        return {name: torch.cat(f) for name, f in feats.items()}

    def compute(self, real: dict, fake: dict) -> dict[str, float]:
        out = {}
        for ext, metric in self.pairs():
            if metric.uses_logits:
                values = metric(None, fake[f"{ext}:logits"])
            else:
                values = metric(real[ext], fake[ext])
            out.update({metric_name(key, ext, self.n): value for key, value in values.items()})
        return out

    def compute_from_stats(self, stats: dict, fake: dict) -> tuple[dict[str, float], list[str]]:
        """The metrics against a reference given as statistics, ``{extractor: (mu, sigma)}``:
        those that take statistics (FID) and those on the generated images alone (IS).
        Returns the values and the names of the metrics that need the real features."""
        out, skipped = {}, []
        for ext, metric in self.pairs():
            if metric.uses_logits:
                values = metric(None, fake[f"{ext}:logits"])
            elif metric.takes_stats:
                values = metric.from_stats(stats[ext], gaussian_stats(fake[ext]))
            else:
                skipped += [metric_name(key, ext, self.n) for key in metric.keys]
                continue
            out.update({metric_name(key, ext, self.n): value for key, value in values.items()})
        return out, skipped

    def __call__(self, generate, datamodule, device="cpu") -> dict[str, float]:
        """Evaluate in one process (``ganlab-eval``); adds ``eval_seconds``."""
        start = time.perf_counter()
        values = self.compute(self.real(datamodule, device), self.fake(generate, self.n, device))
        return {**values, "eval_seconds": time.perf_counter() - start}
