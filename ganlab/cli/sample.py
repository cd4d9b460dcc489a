"""ganlab-sample: a grid or a folder of images from a trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torchvision.utils import save_image

from ganlab.cli.common import CONF_DIR, quiet_library_noise, reports_user_errors, require_values
from ganlab.models.loading import load_checkpoint, resolve_device

GRID_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def load_model(ckpt_path: str | Path, device: str = "cpu"):
    """Rebuild the LightningModule stored in a ganlab checkpoint, weights loaded, in eval mode."""
    return load_checkpoint(ckpt_path, device)[0]


def generate(model, n: int, seed: int, batch_size: int) -> torch.Tensor:
    """``n`` images in [-1, 1] (CPU), the same for the same seed on any device."""
    gen = torch.Generator().manual_seed(seed)
    batches = [
        model.sample(model.sample_z(min(batch_size, n - i), generator=gen)).float().cpu()
        for i in range(0, n, batch_size)
    ]
    return torch.cat(batches)


def write(images: torch.Tensor, out: Path, nrow: int) -> list[Path]:
    """One grid when ``out`` is an image file name, else ``out/000000.png`` ... per image."""
    images = (images + 1) / 2
    if out.suffix.lower() in GRID_SUFFIXES:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_image(images, out, nrow=nrow)
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{i:06d}.png" for i in range(len(images))]
    for image, path in zip(images, paths):
        save_image(image, path)
    return paths


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="sample")
@reports_user_errors
def main(cfg: DictConfig) -> None:
    quiet_library_noise()
    require_values(cfg)
    model = load_model(cfg.ckpt_path, resolve_device(cfg.device))
    paths = write(generate(model, cfg.n, cfg.seed, cfg.batch_size), Path(cfg.out), cfg.nrow)
    where = paths[0] if len(paths) == 1 else f"{len(paths)} images in {Path(cfg.out)}"
    print(f"ganlab-sample: wrote {where} (iteration {model.g_steps} of {cfg.ckpt_path})")


if __name__ == "__main__":
    main()
