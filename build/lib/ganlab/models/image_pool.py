"""The image history buffer of Shrivastava et al. (2017), as CycleGAN uses it for its discriminators.

Written by hand: neither torchvision nor Lightning has one. Random choices come from torch's
global RNG (not Python's ``random``), so a seeded run makes the same choices, and the buffer is
saved in checkpoints (``state_dict``) so a resumed run sees the same history.
"""

from __future__ import annotations

import torch


class ImagePool:
    """Holds up to ``size`` generated images. ``query(images)`` returns a batch of the same
    size: while the pool fills, the new images themselves (each one stored); once it is full,
    each image is, with probability 1/2, swapped for a random stored one (the new image takes
    its place), else returned as it is. D thereby sees a history of G's outputs, which damps
    oscillation. ``size=0`` turns the pool off.
    """

    def __init__(self, size: int = 50):
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()).item() < 0.5:
                i = int(torch.randint(self.size, ()).item())
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.cat(out)

    def state_dict(self) -> dict:
        stored = torch.cat(self.images).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "images": stored}

    def load_state_dict(self, state: dict, device: torch.device | str = "cpu") -> None:
        self.size = state["size"]
        self.images = [img.unsqueeze(0).to(device) for img in state["images"]]
