"""ganlab-export: a checkpoint's generator as TorchScript or ONNX, with a JSON sidecar."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ganlab.cli.common import CONF_DIR, quiet_library_noise, reports_user_errors, require_values
from ganlab.cli.overrides import checks_overrides
from ganlab.export import export
from ganlab.models.capabilities import ImageGenerator
from ganlab.models.loading import load_checkpoint


@checks_overrides("export")
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="export")
@reports_user_errors
def main(cfg: DictConfig) -> None:
    quiet_library_noise()
    require_values(cfg)
    model, trained = load_checkpoint(cfg.ckpt_path, "cpu")
    if isinstance(model, ImageGenerator):
        model.sample_with_ema = cfg.ema
    info = export(model, trained, cfg.ckpt_path, cfg.format, cfg.out)
    files = ", ".join(info["files"].values())
    print(
        f"ganlab-export: wrote {files} ({cfg.format}) and its sidecar "
        f"(iteration {model.g_steps} of {cfg.ckpt_path})"
    )


if __name__ == "__main__":
    main()
