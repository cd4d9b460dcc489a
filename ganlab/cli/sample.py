"""ganlab-sample: a grid or a folder of images from a trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from torchvision.utils import save_image

from ganlab.cli.common import CONF_DIR, quiet_library_noise, reports_user_errors, require_values
from ganlab.cli.overrides import checks_overrides
from ganlab.errors import ConfigError
from ganlab.models.capabilities import ImageTranslator, LabelConditioned, Restorer
from ganlab.models.loading import load_checkpoint, resolve_device
from ganlab.models.sampling import generate, interpolation_strips

GRID_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def write(images: torch.Tensor, out: Path, nrow: int) -> list[Path]:
    """One grid when ``out`` is an image file name, else ``out/000000.png`` ... per image."""
    images = (images + 1) / 2
    if out.suffix.lower() in GRID_SUFFIXES:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_png(images, out, nrow=nrow)
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{i:06d}.png" for i in range(len(images))]
    for image, path in zip(images, paths):
        save_png(image, path)
    return paths


def save_png(images: torch.Tensor, path: Path, **grid) -> None:
    """torchvision's save_image, leaving no half-written file behind (a full disk) and
    naming the file in the error (PIL's OSError has no file name)."""
    try:
        save_image(images, path, **grid)
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def image_steps(model, trained: DictConfig, cfg: DictConfig):
    """What ``input=DIR`` does to a batch of images (in [-1, 1], starting at index
    ``start``): a step returning the images a grid shows side by side, and the output saved.

    A translation model translates ``direction``. A restoration model restores the images
    as they are (already degraded, e.g. small faces to enlarge: resized to the trained
    size), or with ``degrade=true`` first degrades them as in training (its masks, its
    downsampling...), each under a seed of (``seed``, its index), then shows degraded |
    restored | original."""
    from hydra.utils import instantiate

    from ganlab.data.pairs import item_seeds

    if isinstance(model, ImageTranslator):

        def translate(x, start):
            fake = model.translate(x, cfg.direction).float().cpu()
            return [x, fake], fake

        return f"Translating {cfg.direction}", translate
    degrade = instantiate(trained.data.degrade)
    channels = trained.data.channels
    if cfg.degrade:

        def restore_degraded(x, start):
            degraded = degrade(x, item_seeds(cfg.seed, list(range(start, start + len(x)))))
            restored = model.restore(degraded).float().cpu()
            return [degraded[:, :channels], restored, x], restored

        return "Degrading and restoring", restore_degraded
    if degrade.extra_channels:
        raise ConfigError(
            f"{cfg.ckpt_path} restores inputs with {degrade.extra_channels} channel(s) more "
            f"than the image ({degrade.key()}: a mask), which images alone do not have: give "
            "clean images with degrade=true, which applies the trained degradation to them."
        )

    def restore(x, start):
        restored = model.restore(x).float().cpu()
        return [x, restored], restored

    return "Restoring", restore


def map_folder(model, trained: DictConfig, cfg: DictConfig) -> list[Path]:
    """Translate or restore every image under ``cfg.input`` (resized to the trained size):
    a folder mirroring the input's names, or one grid of (input, output) rows."""
    from rich.progress import track
    from torch.utils.data import DataLoader
    from torchvision.transforms import v2

    from ganlab.data.folder import EXTENSIONS, ImageFileDataset, find_images
    from ganlab.pixels import pil_to_model_range

    root = Path(cfg.input).expanduser()
    if not root.is_dir():
        raise ConfigError(f"input folder {root} does not exist; set input=DIR (images to map).")
    paths = find_images(root, EXTENSIONS)
    if not paths:
        raise ConfigError(
            f"no images in {root} (searched recursively for {', '.join(EXTENSIONS)})."
        )
    description, step = image_steps(model, trained, cfg)
    size = trained.data.image_size
    transform = v2.Compose(
        pil_to_model_range(trained.data.channels, [v2.Resize((size, size), antialias=True)])
    )
    loader = DataLoader(ImageFileDataset(paths, transform), batch_size=cfg.batch_size)
    out, grid = Path(cfg.out), Path(cfg.out).suffix.lower() in GRID_SUFFIXES
    rows, written, done, per_row = [], [], 0, 2
    for images, _ in track(loader, description=description, disable=len(loader) < 2):
        shown, output = step(images, done)
        per_row = len(shown)
        if grid:
            rows.append(torch.stack(shown, dim=1).flatten(0, 1))
        else:
            for image, path in zip(output, paths[done : done + len(output)]):
                target = (out / path.relative_to(root)).with_suffix(".png")
                target.parent.mkdir(parents=True, exist_ok=True)
                save_png((image + 1) / 2, target)
                written.append(target)
        done += len(images)
    return write(torch.cat(rows), out, per_row) if grid else written


@checks_overrides("sample")
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="sample")
@reports_user_errors
def main(cfg: DictConfig) -> None:
    quiet_library_noise()
    require_values(cfg)
    model, trained = load_checkpoint(cfg.ckpt_path, resolve_device(cfg.device))
    translator = isinstance(model, ImageTranslator)
    restorer = isinstance(model, Restorer)
    if (translator or restorer) != (cfg.input is not None):
        raise ConfigError(
            f"{cfg.ckpt_path} holds a translation model: set input=DIR (images to translate) "
            "and direction=a2b or b2a."
            if translator
            else f"{cfg.ckpt_path} holds a restoration model: set input=DIR (images to "
            "restore; degrade=true to degrade clean ones first, as in training)."
            if restorer
            else "input= is for translation and restoration models (model=cyclegan, "
            f"pix2pix); {cfg.ckpt_path} holds a generator of images from noise: leave input out."
        )
    if cfg.degrade and not restorer:
        raise ConfigError(
            f"degrade=true is for restoration models (model=pix2pix); {cfg.ckpt_path} holds "
            "another kind."
        )
    conditional = isinstance(model, LabelConditioned)
    if (cfg.label is not None or cfg.per_class) and not conditional:
        raise ConfigError(
            f"label= and per_class= are for conditional models (model=cdcgan); "
            f"{cfg.ckpt_path} holds an unconditional one."
        )
    if translator or restorer:
        paths = map_folder(model, trained, cfg)
    elif cfg.per_class:  # one row per class (or attribute switched), the same z in each column
        images, cols = model.per_class(cfg.n, cfg.seed)
        paths = write(images, Path(cfg.out), cols)
    elif cfg.interpolate:  # n strips of `interpolate` images each, one strip a row
        images = interpolation_strips(model, cfg.n, cfg.interpolate, cfg.seed, cfg.truncation)
        paths = write(images, Path(cfg.out), cfg.interpolate)
    else:
        # label=[Smiling,Eyeglasses] arrives as Hydra's ListConfig: a plain list for parsing.
        label = OmegaConf.to_object(cfg.label) if OmegaConf.is_list(cfg.label) else cfg.label
        labels = None if label is None else model.parse_labels(label, cfg.n)
        images = generate(model, cfg.n, cfg.seed, cfg.batch_size, cfg.truncation, labels)
        paths = write(images, Path(cfg.out), cfg.nrow)
    where = paths[0] if len(paths) == 1 else f"{len(paths)} images in {Path(cfg.out)}"
    print(f"ganlab-sample: wrote {where} (iteration {model.g_steps} of {cfg.ckpt_path})")


if __name__ == "__main__":
    main()
