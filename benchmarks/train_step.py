"""Training throughput: ganlab-train against a plain PyTorch loop (the PyTorch examples'
DCGAN loop) with the same nets, optimizers, batches and process.

    python -m benchmarks.train_step [--sizes 32 64] [--iters 30] [--warmup 5] [--reps 3]

Each repetition runs each loop in turn (interleaved, so drift in the machine's speed hits
all), and takes the median time of the iterations after ``warmup`` (start-up, the first
allocations and cuDNN's autotuning are left out). The overhead is ganlab's time per image
over the plain loop's, per repetition.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

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
    median_rate,
    spread,
    sync,
    write_results,
)
from ganlab.cli.common import CONF_DIR


def ganlab_cfg(size, batch, iters, warmup, device, out, overrides=()):
    overrides = [
        "logger=none", "~callbacks.evaluation", f"max_iters={iters}", f"data.batch_size={batch}",
        f"paths.output_dir={out}", f"trainer.accelerator={'gpu' if device != 'cpu' else 'cpu'}",
        *overrides,
    ]  # fmt: skip
    GlobalHydra.instance().clear()
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    OmegaConf.set_struct(cfg, False)
    cfg.data = {"_target_": "benchmarks.common.RandomImages", "image_size": size, "channels": 3,
                "batch_size": batch, "num_workers": 0}  # fmt: skip
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
    return median_rate(STAMPS, batch)


def run_plain(size, batch, iters, warmup, device, freeze_d: bool = False) -> float:
    """The PyTorch examples' DCGAN loop (dcgan/main.py), on logits. ``freeze_d`` turns off
    D's weight gradients during G's update, as ganlab does (the example computes them)."""
    cfg = ganlab_cfg(size, batch, iters, warmup, device, tempfile.gettempdir())
    model_cfg = cfg.model
    torch.manual_seed(0)
    netG = instantiate(model_cfg.generator).to(device)
    netD = instantiate(model_cfg.discriminator).to(device)
    # The same optimizers as ganlab's (speed.fused_optimizers: fused Adam by default).
    fused = True if cfg.speed.fused_optimizers else None
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    data = RandomImages(image_size=size, channels=3, batch_size=batch, num_workers=0)
    loader = torch.utils.data.DataLoader(data.get_dataset("train"), batch_size=batch,
                                         shuffle=True, drop_last=True)  # fmt: skip
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
    return median_rate(stamps, batch)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[64])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    rows = []
    loops = {
        "plain": run_plain,
        "plain_frozen_d": lambda *a: run_plain(*a, freeze_d=True),
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
        row = {"model": f"DCGAN-{size}", "batch": batch}
        for name, values in rates.items():
            row[name] = spread(values)
            if name != "ganlab":
                ratios = [p / g - 1 for p, g in zip(values, rates["ganlab"])]
                row[f"overhead_vs_{name}"] = spread(ratios)
        rows.append(row)

    def pct(o):
        return f"{100 * o['median']:+.1f}% ({100 * o['min']:+.1f}% to {100 * o['max']:+.1f}%)"

    header = (
        "| model | batch | plain loop img/s | plain, D frozen in G's step, img/s | ganlab img/s "
        "| ganlab overhead vs plain | vs plain, D frozen |"
    )
    table = [header, "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        table.append(
            f"| {r['model']} | {r['batch']} | {r['plain']['median']:.1f} "
            f"| {r['plain_frozen_d']['median']:.1f} | {r['ganlab']['median']:.1f} "
            f"| {pct(r['overhead_vs_plain'])} | {pct(r['overhead_vs_plain_frozen_d'])} |"
        )
    result = {"machine": machine(), "settings": vars(args), "rows": rows}
    paths = write_results(f"train_step_{'gpu' if args.device != 'cpu' else 'cpu'}", result,
                          "\n".join(table) + "\n")  # fmt: skip
    print("\n".join(table))
    print("written:", ", ".join(map(str, paths)))
    return result


if __name__ == "__main__":
    main()
