"""Images from a trained generator, by seed: what ganlab-sample, the downstream tasks and
notebooks draw. (A model's own ``sample(z)`` runs G, or its EMA, in eval mode.)"""

from __future__ import annotations

from pathlib import Path

import torch

from ganlab.models.loading import load_checkpoint


def load_model(ckpt_path: str | Path, device: str = "cpu"):
    """Rebuild the LightningModule stored in a ganlab checkpoint, weights loaded, in eval mode."""
    return load_checkpoint(ckpt_path, device)[0]


def generate(
    model,
    n: int,
    seed: int,
    batch_size: int,
    truncation: float | None = None,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """``n`` images in [-1, 1] (CPU), the same for the same seed on any device; a
    conditional model draws those of ``labels`` (n of them) when given."""
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for i in range(0, n, batch_size):
        z = model.sample_z(min(batch_size, n - i), gen, truncation)
        extra = () if labels is None else (labels[i : i + len(z)],)
        batches.append(model.sample(z, *extra).float().cpu())
    return torch.cat(batches)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation: Gaussian latents keep their typical norm all the way (a
    straight line passes through low-norm z that G rarely saw in training)."""
    cos = (a * b).sum(-1, keepdim=True) / (
        a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True)
    )
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolation_strips(
    model, rows: int, steps: int, seed: int, truncation: float | None = None
) -> torch.Tensor:
    """``rows`` strips of ``steps`` images each, from one random z to another."""
    gen = torch.Generator().manual_seed(seed)
    a, b = (model.sample_z(rows, gen, truncation).cpu() for _ in range(2))
    t = torch.linspace(0, 1, steps).view(1, steps, 1)
    z = slerp(a.unsqueeze(1), b.unsqueeze(1), t).reshape(rows * steps, -1)
    return model.sample(z).float().cpu()
