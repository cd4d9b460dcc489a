"""Callbacks: sample grids, evaluation (of generation, translation, restoration), a VAE's validation ELBO, run summary, progress,
config in checkpoints."""

from ganlab.callbacks.checkpoint import IterationCheckpoint
from ganlab.callbacks.config_in_checkpoint import CONFIG_KEY, ConfigInCheckpoint
from ganlab.callbacks.evaluation import Evaluation
from ganlab.callbacks.interrupt import CheckpointOnInterrupt
from ganlab.callbacks.progress import GANProgressBar
from ganlab.callbacks.restoration_evaluation import RestorationEvaluation
from ganlab.callbacks.rng_state import RestoreRNG
from ganlab.callbacks.sample_grid import SampleGrid, log_image
from ganlab.callbacks.summary import RunSummary, write_summary
from ganlab.callbacks.translation_evaluation import TranslationEvaluation
from ganlab.callbacks.validation import ValidationELBO

__all__ = [
    "CONFIG_KEY",
    "CheckpointOnInterrupt",
    "ConfigInCheckpoint",
    "Evaluation",
    "GANProgressBar",
    "IterationCheckpoint",
    "RestorationEvaluation",
    "RestoreRNG",
    "RunSummary",
    "SampleGrid",
    "TranslationEvaluation",
    "ValidationELBO",
    "log_image",
    "write_summary",
]
