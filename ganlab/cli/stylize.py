"""ganlab-stylize: neural style transfer (Gatys et al. 2016) of one content image."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image, UnidentifiedImageError
from torchvision.transforms import v2

from ganlab.cli.common import CONF_DIR, quiet_library_noise, reports_user_errors, require_values
from ganlab.cli.overrides import checks_overrides
from ganlab.errors import ConfigError
from ganlab.models.loading import resolve_device
from ganlab.pixels import pil_to_model_range, to_uint8
from ganlab.stylize import stylize

log = logging.getLogger("ganlab.stylize")


def read_image(path: str, key: str, size: int) -> torch.Tensor:
    """The RGB image at ``path`` as (1, 3, H, W) in [-1, 1], its shorter side ``size``."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"{key}={path}: no such image file.")
    try:
        with Image.open(file) as image:
            image.load()
            steps = pil_to_model_range(3, [v2.Resize(size, antialias=True)])
            return v2.Compose(steps)(image)[None]
    except (UnidentifiedImageError, OSError) as exc:
        raise ConfigError(f"{key}={path} is not an image ganlab can read ({exc}).") from exc


def save_plot(history: dict[str, list[float]], path: Path) -> None:
    """The losses (each term as weighted in the total) over the steps, log scale."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    for name, values in history.items():
        if any(v > 0 for v in values):
            axes.plot(range(1, len(values) + 1), values, label=name)
    axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (unweighted terms, weighted total)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)


@checks_overrides("stylize")
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="stylize")
@reports_user_errors
def main(cfg: DictConfig) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    quiet_library_noise()
    require_values(cfg)
    if cfg.size < 32 or cfg.steps < 1:
        raise ConfigError(f"size must be >= 32 and steps >= 1, got {cfg.size} and {cfg.steps}.")
    device = resolve_device(cfg.device)
    content = read_image(cfg.content, "content", cfg.size).to(device)
    style = read_image(cfg.style, "style", cfg.size).to(device)
    net = instantiate(cfg.net).to(device)
    columns = [TextColumn("stylizing"), BarColumn(), TextColumn("{task.fields[losses]}")]
    with Progress(*columns, TimeRemainingColumn()) as bar:
        task = bar.add_task("", total=cfg.steps, losses="")

        def progress(step: int, losses: dict[str, float]) -> None:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in losses.items())
            bar.update(task, advance=1, losses=shown)
            if step % cfg.log_every == 0 or step == cfg.steps:
                log.info(f"step {step}/{cfg.steps}: {shown}")

        result = stylize(
            net,
            content,
            style,
            steps=cfg.steps,
            optimizer=cfg.optimizer,
            lr=cfg.lr,
            content_weight=cfg.content_weight,
            style_weight=cfg.style_weight,
            tv_weight=cfg.tv_weight,
            grad_clip=cfg.grad_clip,
            init=cfg.init,
            seed=cfg.seed,
            progress=progress,
        )
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pixels = to_uint8(result.image[0].cpu()).permute(1, 2, 0).numpy()
    Image.fromarray(pixels).save(out)
    print(f"ganlab-stylize: wrote {out} ({pixels.shape[1]}x{pixels.shape[0]}, {cfg.steps} steps)")
    if cfg.plot is not None:
        save_plot(result.history, Path(cfg.plot))
        print(f"ganlab-stylize: losses plotted in {cfg.plot}")


if __name__ == "__main__":
    main()
