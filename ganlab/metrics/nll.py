"""A VAE's test negative log-likelihood in nats, by the IWAE bound (Burda et al. 2016)."""

from __future__ import annotations

import math

import torch

from ganlab.errors import ConfigError
from ganlab.metrics.base import ModelMetric
from ganlab.metrics.evaluator import count_tag
from ganlab.metrics.progress import Progress
from ganlab.models.capabilities import LikelihoodModel


class NLL(ModelMetric):
    """-log p(x) per image, averaged over the first ``n`` images of ``split`` (None: all),
    estimated by the importance-weighted bound with ``k`` samples per image:

        -log p(x) <= -log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x),   z_i ~ q(z | x).

    An upper bound on the true NLL that tightens as k grows (k = 1: the negative ELBO); the
    literature's binarised-MNIST figures use k = 5000 (Burda et al. 2016). Reported as
    ``nll_k<k>_<n>`` with its standard error over images ``nll_k<k>_<n>_se``. The draws come
    from a generator seeded with ``seed``: the same value every time.
    """

    name = "nll"

    def __init__(
        self,
        k: int = 1000,
        n: int | None = None,
        split: str = "test",
        batch_size: int = 100,
        seed: int = 0,
    ) -> None:
        if k < 1:
            raise ConfigError(f"metrics.nll.k must be >= 1, got {k}")
        self.k, self.n, self.split, self.batch_size, self.seed = k, n, split, batch_size, seed

    def __call__(self, model, datamodule, device) -> dict[str, float]:
        if not isinstance(model, LikelihoodModel):
            raise ConfigError(
                f"metrics=[nll] needs a model with a likelihood (model=vae or vaegan); this "
                f"checkpoint holds a {type(model).__name__}, which has none. Measure it with "
                "fid, kid, pr or is."
            )
        dataset = datamodule.get_dataset(self.split)
        n = len(dataset) if self.n is None else min(self.n, len(dataset))
        loader = datamodule.dataloader(self.split, batch_size=self.batch_size)
        gen = torch.Generator().manual_seed(self.seed)
        progress = Progress(f"log-likelihood of {n} {self.split} images, k={self.k}", n)
        values, seen = [], 0
        for batch in loader:
            images = batch[0][: n - seen].to(device)
            model.check_likelihood_data(images)
            values.append(-model.log_likelihood(images, self.k, gen).double().cpu())
            seen += len(images)
            progress.update(len(images))
            if seen >= n:
                break
        nll = torch.cat(values)
        name = f"nll_k{self.k}_{count_tag(n)}"
        se = float(nll.std() / math.sqrt(len(nll))) if len(nll) > 1 else float("nan")
        return {name: float(nll.mean()), f"{name}_se": se}
