"""How the nets run: memory layout, compilation and fused optimizer steps (``speed`` in
ganlab/conf/train.yaml). Precision and cuDNN autotuning are Lightning Trainer settings instead
(``trainer.precision``, ``trainer.benchmark``). Each option was measured by
benchmarks/gpu_options.py; the README's "Benchmarks" section gives the figures."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable

import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch import nn

from ganlab.errors import ConfigError


class Speed:
    """The ``speed`` settings of a run; ganlab-train hands them to the LightningModule.

    - ``channels_last``: the nets' weights and the image batches in NHWC layout, which
      tensor-core convolutions read without a transpose; ``auto``: on a CUDA GPU, unless
      ``compile`` is on.
    - ``compile``: ``torch.compile`` each net (``nn.Module.compile``, so checkpoints keep
      their keys), with ``compile_options`` (e.g. ``{mode: max-autotune}``). A critic whose
      loss takes a gradient penalty stays eager: compiled graphs have no double backward.
    - ``fused_optimizers``: ``fused=True`` for every optimizer whose class takes it (Adam,
      AdamW, SGD, ...): one kernel per step instead of one per tensor group (measured:
      benchmarks/gpu_options.py, "fused Adam", and the README's Benchmarks).
    """

    def __init__(
        self,
        channels_last: bool | str = False,
        compile: bool = False,
        compile_options: dict | None = None,
        fused_optimizers: bool = True,
    ) -> None:
        if isinstance(channels_last, str) and channels_last != "auto":
            raise ConfigError(
                f"speed.channels_last must be true, false or auto, got {channels_last!r}."
            )
        self.channels_last = channels_last
        # What prepare() decided for this run's device (auto: on a CUDA GPU without compile).
        self.nhwc = channels_last is True
        self.compile = bool(compile)
        self.compile_options = dict(compile_options or {})
        check_compile_options(self.compile_options)
        self.fused_optimizers = bool(fused_optimizers)

    def prepare(
        self, module: nn.Module, nets: dict[str, nn.Module], eager: Iterable[str], device_type: str
    ) -> None:
        """Convert ``module`` to the memory layout and compile ``nets`` in place, except those
        named in ``eager`` (before Lightning moves the module to its ``device_type``, which
        keeps the layout)."""
        if self.channels_last == "auto":
            # Measured on an H100 (benchmarks/gpu_options.py): 1.09x at DCGAN-64 batch 1024.
            # Not with compile: the two failed together there (torch 2.11).
            self.nhwc = device_type == "cuda" and not self.compile
        if self.nhwc and self.compile and device_type == "cuda":
            rank_zero_warn(
                "speed.compile with speed.channels_last failed on CUDA with torch 2.11 (an "
                "H100: an AssertionError 'expected size ... stride' in the compiled "
                "convolution backward). If the first step fails so, turn one of them off."
            )
        if self.nhwc:
            module.to(memory_format=torch.channels_last)
        if not self.compile:
            return
        eager = set(eager)
        for name, net in nets.items():
            if name not in eager:
                net.compile(**self.compile_options)
        if eager:
            rank_zero_info(
                f"speed.compile: {', '.join(sorted(eager))} not compiled (the loss's gradient "
                "penalty needs a double backward, which compiled graphs do not have)."
            )

    def images(self, images: torch.Tensor) -> torch.Tensor:
        """An image batch in the nets' memory layout (a no-op when it already is)."""
        if self.nhwc and images.dim() == 4:
            return images.contiguous(memory_format=torch.channels_last)
        return images

    def optimizer(
        self, factory: Callable[..., torch.optim.Optimizer], params
    ) -> torch.optim.Optimizer:
        """``factory(params)``, with ``fused=True`` when that is on and the optimizer's class
        takes it and was not given it in the config."""
        if self.fused_optimizers and _takes_fused(factory):
            return factory(params, fused=True)
        return factory(params)


def _takes_fused(factory) -> bool:
    if isinstance(factory, functools.partial):
        if "fused" in factory.keywords:  # the optimizer's config decides
            return False
        factory = factory.func
    try:
        return "fused" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def check_compile_options(options: dict) -> None:
    """Refuse keys torch.compile does not take, before any compilation starts."""
    known = set(inspect.signature(torch.compile).parameters) - {"model"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"speed.compile_options: torch.compile takes no {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(known))}."
        )
