"""The optimisation of neural style transfer: the image is the only parameter."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ganlab.errors import ConfigError
from ganlab.stylize.losses import content_loss, gram, style_loss, total_variation
from ganlab.stylize.nets import StyleNet

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")


@dataclass
class Stylized:
    """The result: the image in [-1, 1] (1, C, H, W) and the losses at every step."""

    image: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)


def stylize(
    net: StyleNet,
    content: torch.Tensor,
    style: torch.Tensor,
    steps: int = 300,
    optimizer: str = "adam",
    lr: float = 0.02,
    content_weight: float = 1.0,
    style_weight: float | None = None,
    tv_weight: float = 1e-3,
    grad_clip: float | None = None,
    init: str = "content",
    seed: int = 0,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> Stylized:
    """Optimise an image (``init``: the content image, or noise from ``seed``) to minimise

        content_weight * content loss + style_weight * style loss + tv_weight * TV,

    (``style_weight`` None: the net's own) with Adam or L-BFGS (the paper's; each step may
    evaluate the loss several times, and its step is sensitive to the weights' scale), for
    ``steps`` steps; ``grad_clip`` caps the image gradient's norm, and the image is clamped to
    [-1, 1] after every Adam step (after the last one for L-BFGS, whose line search and
    curvature estimates assume nothing else moves the image). ``content`` and ``style`` are (1, C, H, W) images in
    [-1, 1]; the style image may have another size (Gram matrices do not depend on it).
    ``progress(step, losses)`` is called after every step.
    """
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if init not in INITS:
        raise ConfigError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if style_weight is None:
        style_weight = net.style_weight
    with torch.no_grad():
        content_target = net(content)[net.content_layer]
        style_targets = {
            name: gram(f) for name, f in net(style).items() if name in net.style_layers
        }
    if init == "content":
        start = content.detach().clone(memory_format=torch.contiguous_format)
    else:
        noise = torch.rand(content.shape, generator=torch.Generator().manual_seed(seed))
        start = (noise * 2 - 1).to(content)
    image = start.requires_grad_(True)
    if optimizer == "lbfgs":
        # One iteration per step, with a strong-Wolfe line search (its step length then
        # needs no tuning); no early stop on small gradients: the losses here are small.
        opt = torch.optim.LBFGS(
            [image],
            lr=lr,
            max_iter=1,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            line_search_fn="strong_wolfe",
        )
    else:
        opt = torch.optim.Adam([image], lr=lr)
    history: dict[str, list[float]] = {"total": [], "content": [], "style": [], "tv": []}
    latest: dict[str, torch.Tensor] = {}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        features = net(image)
        terms = {
            "content": content_loss(features[net.content_layer], content_target),
            "style": style_loss(features, style_targets),
            "tv": total_variation(image),
        }
        total = (
            content_weight * terms["content"]
            + style_weight * terms["style"]
            + tv_weight * terms["tv"]
        )
        total.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_([image], grad_clip)
        latest.update(terms, total=total)
        return total

    for step in range(1, steps + 1):
        opt.step(closure)
        if optimizer == "adam":  # L-BFGS's curvature pairs assume it alone moves the image
            with torch.no_grad():
                image.clamp_(-1, 1)
        values = {name: float(value.detach()) for name, value in latest.items()}
        if not all(math.isfinite(v) for v in values.values()):
            raise ConfigError(
                f"style transfer diverged at step {step} (losses {values}): lower lr or the "
                "weights, or set grad_clip."
            )
        for name, seen in history.items():
            seen.append(values[name])
        if progress is not None:
            progress(step, values)
    return Stylized(image.detach().clamp(-1, 1), history)
