"""Training throughput: ganlab-train against a plain PyTorch loop (the PyTorch examples'
DCGAN loop) with the same nets, optimizers, batches and process.

    python -m benchmarks.train_step [--sizes 32 64] [--iters 30] [--warmup 5] [--reps 3]

Four loops: the example loop; the same with D frozen in G's update (as ganlab does: the
like-for-like loop); that loop's body in a bare Lightning module (manual optimization, no
callbacks, logger or progress bar: what any Lightning program pays); and ganlab-train.
Each repetition runs each loop in turn (interleaved, so drift in the machine's speed hits
all), and takes the images/s over the iterations after ``warmup`` (start-up, the first
allocations and cuDNN's autotuning are left out). The overhead is ganlab's time per image
over another loop's, per repetition.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

import lightning as L
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf

from benchmarks.common import (
    STAMPS,
    RandomImages,
    machine,
    spread,
    sync,
    window_rate,
    write_results,
)
from ganlab.cli.common import CONF_DIR

# --width: every loop's nets narrower than DCGAN's 64 channels (main sets it).
NET_OVERRIDES: list[str] = []


def ganlab_cfg(size, batch, iters, warmup, device, out, overrides=(), random_data=True):
    """ganlab-train's config for the benchmark: in-memory random images unless
    ``random_data`` is False (then the data the overrides choose), and the Timer."""
    overrides = [*NET_OVERRIDES,
        "logger=none", "~callbacks.evaluation", f"max_iters={iters}", f"data.batch_size={batch}",
        f"paths.output_dir={out}", f"trainer.accelerator={'gpu' if device != 'cpu' else 'cpu'}",
        *overrides,
    ]  # fmt: skip
    GlobalHydra.instance().clear()
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    OmegaConf.set_struct(cfg, False)
    if random_data:
        cfg.data = {"_target_": "benchmarks.common.RandomImages", "image_size": size,
                    "channels": 3, "batch_size": batch, "num_workers": 0}  # fmt: skip
    cfg.callbacks.bench_timer = {"_target_": "benchmarks.common.Timer", "warmup": warmup,
                                 "device": device}  # fmt: skip
    return cfg


def run_ganlab(size, batch, iters, warmup, device, overrides=()) -> float:
    """ganlab-train's images/s; ``overrides`` as on its command line."""
    from ganlab.cli.train import train

    STAMPS.clear()
    with tempfile.TemporaryDirectory() as out:
        summary = train(ganlab_cfg(size, batch, iters, warmup, device, out, overrides))
    assert summary["status"] == "completed", summary
    return window_rate(STAMPS, batch)


def plain_setup(size, batch, iters, warmup, device):
    """The nets, optimizers and batches of the plain loops, as ganlab's config makes them."""
    cfg = ganlab_cfg(size, batch, iters, warmup, device, tempfile.gettempdir())
    torch.manual_seed(0)
    netG = instantiate(cfg.model.generator).to(device)
    netD = instantiate(cfg.model.discriminator).to(device)
    # The same optimizers as ganlab's (speed.fused_optimizers: fused Adam by default).
    fused = True if cfg.speed.fused_optimizers else None
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    data = RandomImages(image_size=size, channels=3, batch_size=batch, num_workers=0)
    loader = torch.utils.data.DataLoader(data.get_dataset("train"), batch_size=batch,
                                         shuffle=True, drop_last=True)  # fmt: skip
    return netG, netD, optG, optD, loader


def run_plain(size, batch, iters, warmup, device, freeze_d: bool = False) -> float:
    """The PyTorch examples' DCGAN loop (dcgan/main.py), on logits. ``freeze_d`` turns off
    D's weight gradients during G's update, as ganlab does (the example computes them)."""
    netG, netD, optG, optD, loader = plain_setup(size, batch, iters, warmup, device)
    batches = iter(())
    stamps = []
    for i in range(1, iters + 1):
        try:
            real = next(batches)[0].to(device)
        except StopIteration:
            batches = iter(loader)
            real = next(batches)[0].to(device)
        # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        errD_real = F.softplus(-netD(real)).mean()
        errD_real.backward()
        noise = torch.randn(batch, netG.nz, device=device)
        fake = netG(noise)
        errD_fake = F.softplus(netD(fake.detach())).mean()
        errD_fake.backward()
        optD.step()
        # (2) Update G: maximize log(D(G(z)))
        netG.zero_grad()
        netD.requires_grad_(not freeze_d)
        errG = F.softplus(-netD(fake)).mean()
        errG.backward()
        netD.requires_grad_(True)
        optG.step()
        if i >= warmup:
            sync(device)
            stamps.append(time.perf_counter())
    return window_rate(stamps, batch)


class BareLoop(L.LightningModule):
    """The like-for-like loop's body in Lightning's manual optimization: what Lightning's own
    loop costs, with nothing of ganlab's (no callbacks, logger, checks or logging)."""

    def __init__(self, netG, netD, optG, optD, loader, iters, warmup, device):
        super().__init__()
        self.netG, self.netD, self.opts, self.loader = netG, netD, (optG, optD), loader
        self.automatic_optimization = False
        self.iters, self.warmup, self.dev = iters, warmup, device
        self.done, self.stamps = 0, []

    def configure_optimizers(self):
        return list(self.opts)

    def train_dataloader(self):
        return self.loader

    def training_step(self, batch, batch_idx):
        optG, optD = self.optimizers()
        real = batch[0]
        optD.zero_grad()
        fake = self.netG(torch.randn(real.shape[0], self.netG.nz, device=self.device))
        errD = F.softplus(-self.netD(real)).mean() + F.softplus(self.netD(fake.detach())).mean()
        self.manual_backward(errD)
        optD.step()
        optG.zero_grad()
        self.toggle_optimizer(optG)  # D frozen, as ganlab and the like-for-like loop
        self.manual_backward(F.softplus(-self.netD(fake)).mean())
        optG.step()
        self.untoggle_optimizer(optG)

    def on_train_batch_end(self, *args):
        self.done += 1
        if self.done >= self.warmup:
            sync(self.dev)
            self.stamps.append(time.perf_counter())
        if self.done >= self.iters:
            self.trainer.should_stop = True


def run_lightning(size, batch, iters, warmup, device) -> float:
    """The like-for-like loop in a bare Lightning Trainer (see BareLoop)."""
    module = BareLoop(*plain_setup(size, batch, iters, warmup, device), iters, warmup, device)
    trainer = L.Trainer(accelerator="gpu" if device != "cpu" else "cpu", devices=1,
                        max_epochs=-1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(module)
    return window_rate(module.stamps, batch)


def pct(o: dict) -> str:
    return f"{100 * o['median']:+.1f}% ({100 * o['min']:+.1f}% to {100 * o['max']:+.1f}%)"


def table(result: dict) -> str:
    """The results' markdown table (also the README's: benchmarks/readme.py). Results from
    before the bare-Lightning loop was added (train_step_gpu.json) have no column for it."""
    rows = result["rows"]
    if all("lightning" in r for r in rows):
        lines = [
            (
                "| model | batch | plain loop img/s | plain, D frozen in G's step | bare Lightning "
                "| ganlab | ganlab vs plain | vs plain, D frozen | vs bare Lightning |"
            ),
            "| --- " * 9 + "|",
        ]
        for r in rows:
            lines.append(
                f"| {r['model']} | {r['batch']} | {r['plain']['median']:.1f} "
                f"| {r['plain_frozen_d']['median']:.1f} | {r['lightning']['median']:.1f} "
                f"| {r['ganlab']['median']:.1f} | {pct(r['overhead_vs_plain'])} "
                f"| {pct(r['overhead_vs_plain_frozen_d'])} | {pct(r['overhead_vs_lightning'])} |"
            )
    else:
        lines = [
            (
                "| model | batch | plain loop img/s | plain, D frozen in G's step, img/s | ganlab img/s "
                "| ganlab overhead vs plain | vs plain, D frozen |"
            ),
            "| --- " * 7 + "|",
        ]
        for r in rows:
            lines.append(
                f"| {r['model']} | {r['batch']} | {r['plain']['median']:.1f} "
                f"| {r['plain_frozen_d']['median']:.1f} | {r['ganlab']['median']:.1f} "
                f"| {pct(r['overhead_vs_plain'])} | {pct(r['overhead_vs_plain_frozen_d'])} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[64])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--width", type=int, default=64,
                        help="G's and D's base channels (ngf, ndf); 64 is DCGAN's. A small "
                        "width leaves the loops' processor time alone to measure")  # fmt: skip
    args = parser.parse_args(argv)
    NET_OVERRIDES[:] = [
        f"model.generator.ngf={args.width}",
        f"model.discriminator.ndf={args.width}",
    ]
    rows = []
    loops = {
        "plain": run_plain,
        "plain_frozen_d": lambda *a: run_plain(*a, freeze_d=True),
        "lightning": run_lightning,
        # The plain loop's layout (fp32 is trainer=default's): the comparison is of the loops.
        "ganlab": lambda *a: run_ganlab(*a, ["speed.channels_last=false"]),
    }
    for size, batch in itertools.product(args.sizes, args.batches):
        rates = {name: [] for name in loops}
        for rep in range(args.reps):
            for name, fn in loops.items():
                rates[name].append(fn(size, batch, args.iters, args.warmup, args.device))
                print(f"DCGAN-{size} batch {batch} rep {rep} {name}: {rates[name][-1]:.1f} img/s",
                      flush=True)  # fmt: skip
        # Overhead: ganlab's time per image over the plain loop's, repetition by repetition.
        row = {"model": f"DCGAN-{size}" + (f" w{args.width}" if args.width != 64 else ""),
               "batch": batch}  # fmt: skip
        for name, values in rates.items():
            row[name] = spread(values)
            if name != "ganlab":
                ratios = [p / g - 1 for p, g in zip(values, rates["ganlab"])]
                row[f"overhead_vs_{name}"] = spread(ratios)
        rows.append(row)

    result = {"machine": machine(), "settings": vars(args), "rows": rows}
    name = f"train_step_{'gpu' if args.device != 'cpu' else 'cpu'}"
    name += f"_w{args.width}" if args.width != 64 else ""
    paths = write_results(name, result, table(result))
    print(table(result))
    print("written:", ", ".join(map(str, paths)))
    return result


if __name__ == "__main__":
    main()
