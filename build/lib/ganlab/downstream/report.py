"""Downstream reports: JSON (everything), markdown (the tables) and, for low-data, a plot."""

from __future__ import annotations

import json
from pathlib import Path


def gan_train_test_markdown(result: dict) -> str:
    v = result["values"]
    lines = [
        "| real-train / real-test | GAN-train | GAN-test |",
        "| --- | --- | --- |",
        f"| {v['real_train_real_test']:.4f} | {v['gan_train']:.4f} | {v['gan_test']:.4f} |",
        "",
        "| class | real-train / real-test | GAN-train | GAN-test |",
        "| --- | --- | --- | --- |",
    ]
    for name, row in result["per_class"].items():
        cells = " | ".join(
            f"{row[k]:.4f}" for k in ("real_train_real_test", "gan_train", "gan_test")
        )
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines) + "\n"


def lowdata_markdown(result: dict) -> str:
    lines = [
        "| k per class | training images | accuracy (mean ± std) | seeds |",
        "| --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        what = "real" if row["setting"] == "real" else "real + GAN"
        lines.append(
            f"| {row['k']} | {what} | {row['mean']:.4f} ± {row['std']:.4f} | {row['seeds']} |"
        )
    return "\n".join(lines) + "\n"


def face_recognition_markdown(result: dict) -> str:
    v, d = result["values"], result["data"]
    conditioned = result["conditioned_attributes"]
    rows = [
        (f"identity, top-1 over {d['identities']} people", "identity", "identity_"),
        (f"{len(result['per_attribute'])} attributes, mean", "attribute", "attributes_"),
        (f"the GAN's {len(conditioned)} attributes, mean", "attribute", "conditioned_attributes_"),
    ]
    lines = [
        "| recogniser | train images | test images | real | real + GAN |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {what} | {d[data + '_train']} | {d[data + '_test']} "
            f"| {v[key + 'real']:.4f} | {v[key + 'real_gan']:.4f} |"
            for what, data, key in rows
        ),
        "",
        f"Real + GAN: {d['gan_images']} generated faces beside the real ones.",
        "",
        "| attribute | real | real + GAN |",
        "| --- | --- | --- |",
    ]
    for name, row in result["per_attribute"].items():
        mark = " (GAN)" if name in conditioned else ""
        lines.append(f"| {name}{mark} | {row['real']:.4f} | {row['real_gan']:.4f} |")
    return "\n".join(lines) + "\n"


MARKDOWN = {
    "gan_train_test": gan_train_test_markdown,
    "augment_lowdata": lowdata_markdown,
    "face_recognition": face_recognition_markdown,
}


def lowdata_plot(result: dict, path: Path) -> Path:
    """Accuracy against k (log scale), one line per setting, bars from the std over seeds."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    for setting, label in (("real", "real only"), ("real+gan", "real + GAN images")):
        rows = [r for r in result["rows"] if r["setting"] == setting]
        ax.errorbar(
            [r["k"] for r in rows], [r["mean"] for r in rows], yerr=[r["std"] for r in rows],
            marker="o", capsize=3, label=label,
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("real training images per class (k)")
    ax.set_ylabel("test accuracy")
    seeds = result["protocol"]["seeds"]
    ax.set_title(f"mean ± std over {len(seeds)} seeds", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(result: dict, name: str, stem: Path) -> list[Path]:
    """``<stem>_<name>.json`` and ``.md`` (and ``.png`` for low-data); returns the paths."""
    base = stem.with_name(f"{stem.name}_{name}")
    paths = [base.with_suffix(".json"), base.with_suffix(".md")]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    table = MARKDOWN[name](result)
    paths[1].write_text(f"# {name}: {result['checkpoint']}\n\n{table}")
    if "rows" in result:
        paths.append(lowdata_plot(result, base.with_suffix(".png")))
    return paths
