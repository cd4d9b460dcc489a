"""The Trainer's profiler when none is chosen: Lightning's pass-through one, without its cost."""

from __future__ import annotations

from contextlib import nullcontext

from lightning.pytorch.profilers import PassThroughProfiler

_NOTHING = nullcontext()


class NoProfiler(PassThroughProfiler):
    """Lightning's default when no profiler is set (``PassThroughProfiler``: records nothing),
    minus the time it takes to record nothing. Lightning enters ``profile(name)`` around every
    hook of the module, the strategy and each callback, about 90 times a batch in
    ganlab-train, each time through the default's generator-based context manager: a cost
    that shows when the processor sets the pace (benchmarks/train_step.py --width 4). Profiling
    is still one override away: ``trainer.profiler=simple`` (or advanced, pytorch)."""

    def profile(self, action_name: str) -> nullcontext:
        return _NOTHING
