"""Test doubles shared by several test modules (importable from subprocess runs too)."""

import errno
import os
import signal
import time
from pathlib import Path

import lightning as L
import torch
from torch import nn

from ganlab.losses import JSLoss
from ganlab.metrics.extractors import FeatureExtractor
from ganlab.stylize import StyleNet


class Projection(FeatureExtractor):
    """A cheap deterministic extractor (fixed random projection) that counts its images."""

    name = "proj"
    num_features = 8

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(28 * 28, 8)
        torch.nn.init.normal_(self.proj.weight, generator=torch.Generator().manual_seed(0))
        torch.nn.init.zeros_(self.proj.bias)
        self.seen = 0

    @torch.no_grad()
    def forward(self, images):
        self.seen += len(images)
        return self.proj(nn.functional.interpolate(images, size=28).mean(1).flatten(1))


class CachedProjection(Projection):
    """Projection built as MNISTNet is: slowly the first time (a sleep stands for the
    training), then from the cache (``<cache>/proj.done``). Each build appends its rank and
    "trained" or "loaded" to ``<cache>/builds.txt``."""

    def __init__(self, cache: str, seconds: float = 2.0):
        super().__init__()
        done = Path(cache) / "proj.done"
        done.parent.mkdir(parents=True, exist_ok=True)
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        action = "loaded" if done.is_file() else "trained"
        if action == "trained":
            time.sleep(seconds)
            done.touch()
        with open(done.parent / "builds.txt", "a") as f:
            f.write(f"{rank} {action}\n")


class NaNAfter(JSLoss):
    """The JS loss, until its ``which`` ("d" or "g") loss has been computed ``after`` times:
    from then on that loss is NaN, as in a diverging run."""

    def __init__(self, after: int = 3, which: str = "g", **js_kwargs):
        super().__init__(**js_kwargs)
        self.after, self.which, self.calls = after, which, 0

    def _poison(self, loss: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return loss * float("nan") if self.calls > self.after else loss

    def d_loss(self, critic, real, fake, d_real, d_fake):
        total, terms = super().d_loss(critic, real, fake, d_real, d_fake)
        return (self._poison(total), terms) if self.which == "d" else (total, terms)

    def g_loss(self, d_fake):
        loss = super().g_loss(d_fake)
        return self._poison(loss) if self.which == "g" else loss


class Broken(JSLoss):
    """A loss with a bug: its D loss raises, as a crash in user code would."""

    def d_loss(self, critic, real, fake, d_real, d_fake):
        raise RuntimeError("a bug in the loss")


def quiet_trainer(**kwargs):
    """A CPU Trainer without loggers, checkpoints, bars or summaries (override any)."""
    import lightning as L

    settings = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "accelerator": "cpu",
    }
    return L.Trainer(**{**settings, **kwargs})


class SignalAt(L.Callback):
    """Sends this process ``signal_name`` once iteration ``iteration`` has been trained, as a
    cluster's pre-emption (SIGTERM) or a user's Ctrl+C (SIGINT) would; ``times=2`` sends it
    twice in a row (an impatient second Ctrl+C)."""

    def __init__(self, iteration: int, signal_name: str = "SIGTERM", times: int = 1):
        self.iteration, self.signal = iteration, signal.Signals[signal_name]
        self.times = times

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        # In the middle of the next iteration's batch: the run must still stop after it.
        at_start = pl_module.d_steps % pl_module.clock.n_critic == 0  # of an iteration
        if pl_module.g_steps == self.iteration and at_start:
            for _ in range(self.times):
                os.kill(os.getpid(), self.signal)


class RankProbe(L.Callback):
    """Writes, per rank, each batch's images digest and G's and D's weights digest after
    every step to ``<out>/rank<r>.json``: what a DDP test compares across ranks."""

    def __init__(self, out: str):
        self.out = out
        self.steps = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        images = batch[0].detach().double()
        weights = [
            p.detach().double()
            for net in (pl_module.generator, pl_module.discriminator)
            for p in net.parameters()
        ]
        self.steps.append({
            "g_steps": pl_module.g_steps,
            "batch": [float(images.sum()), float((images**2).sum())],
            "weights": [float(sum(w.sum() for w in weights)), float(sum((w**2).sum() for w in weights))],
        })  # fmt: skip

    def on_train_end(self, trainer, pl_module) -> None:
        import json
        from pathlib import Path

        Path(self.out).mkdir(parents=True, exist_ok=True)
        (Path(self.out) / f"rank{trainer.global_rank}.json").write_text(json.dumps(self.steps))


def disk_full_after(nbytes: int):
    """A torch.save that writes ``nbytes`` and then fails as it does on a full disk: a
    RuntimeError from its zip writer, with the OSError as its context."""

    def save(obj, file):
        file.write(b"\0" * nbytes)
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc] unexpected pos") from None

    return save


class FullDiskOnRank0(L.Callback):
    """Under DDP, rank 0 alone hits a full disk after ``iteration`` (as where it alone saves
    the checkpoints): what the other rank then sees is a peer gone."""

    def __init__(self, iteration: int = 2):
        self.iteration = iteration

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.is_global_zero and pl_module.g_steps == self.iteration:
            raise OSError(errno.ENOSPC, "No space left on device", "checkpoints/last.ckpt")


class TinyStyleNet(StyleNet):
    """A small random conv net standing in for VGG-19 (seeded: the same every time)."""

    content_layer = "relu2"
    style_layers = ("relu1", "relu2")
    style_weight = 1e6

    def __init__(self, weights_path=None, avg_pool=True):  # VGG-19's keys, for the CLI's config
        torch.manual_seed(0)
        layers = {
            "conv1": nn.Conv2d(3, 8, 3, padding=1),
            "relu1": nn.ReLU(),
            "conv2": nn.Conv2d(8, 8, 3, stride=2, padding=1),
            "relu2": nn.ReLU(),
            "conv3": nn.Conv2d(8, 8, 3, padding=1),  # after the last layer used: never run
        }
        super().__init__(nn.ModuleDict(layers))
