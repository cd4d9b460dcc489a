"""The random number generators' states, saved in checkpoints and restored on resume."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch

from ganlab.compat import collect_rng_states, set_rng_states

RNG_KEY = "ganlab_rng"


class RestoreRNG(L.Callback):
    """Saves torch's (CPU and CUDA), numpy's and Python's global RNG states in every checkpoint
    and restores them when training resumes, so the noise a resumed run draws is the noise the
    uninterrupted run would have drawn. (Lightning saves no RNG state in checkpoints.)

    Restored in ``on_train_start``, after the model was built and the training loader was
    made, so nothing draws from them between the restore and the first step. Data-loader
    workers need nothing here: every item has its own seed (ganlab.data.resumable).
    """

    def __init__(self) -> None:
        self._pending: dict | None = None

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        states = collect_rng_states()
        # numpy's key array as a tensor: checkpoints stay loadable with weights_only=True.
        kind, keys, *rest = states["numpy"]
        states["numpy"] = (kind, torch.from_numpy(keys.astype(np.int64)), *rest)
        checkpoint[RNG_KEY] = states

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        states = checkpoint.get(RNG_KEY)
        if states is not None:
            kind, keys, *rest = states["numpy"]
            states["numpy"] = (kind, keys.numpy().astype(np.uint32), *rest)
        self._pending = states

    def on_train_start(self, trainer, pl_module) -> None:
        if self._pending is not None:
            set_rng_states(self._pending)
            self._pending = None
