"""What every entry point shares: where the configs are, and how user errors are shown."""

from __future__ import annotations

import functools
import logging
import sys
import warnings
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganlab.cli import run_names  # noqa: F401  (registers the resolvers the configs use)
from ganlab.cli.run_names import is_multirun
from ganlab.errors import ConfigError, GanlabError, storage_error

# The configs ship inside the package (ganlab/conf), so a wheel or a plain `pip install .`
# finds them as an editable install does. A folder path rather than Hydra's pkg:// source:
# the tests, the notebook and the override checks list and compose it as files.
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")


def quiet_library_noise() -> None:
    """Hide messages that are noise for a ganlab user: Lightning's advert for its cloud
    logger, the CSV logger's warning about the run directory Hydra already filled, a
    deprecation inside Lightning's own code, and two ModelCheckpoint warnings that do not
    apply to ganlab's."""
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda record: not str(record.msg).startswith("\N{ELECTRIC LIGHT BULB} Tip")
    )
    warnings.filterwarnings(
        "ignore", message="Experiment logs directory .* exists and is not empty"
    )
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    # A checkpoint holds the weights after the step, which is what resuming needs.
    warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
    # Continuing from a checkpoint into a new run directory (ckpt_path=...): Lightning says the
    # ModelCheckpoint's best-k records are not reloaded. ganlab's keeps none (save_top_k: 0,
    # last.ckpt only); best.ckpt and its record belong to the evaluation callback, which is.
    warnings.filterwarnings("ignore", message="The dirpath has changed from")


def require_values(cfg: DictConfig) -> None:
    """Name every mandatory ``???`` value left unset, before any work starts."""
    missing = sorted(k for k in OmegaConf.missing_keys(cfg) if not k.startswith("hydra."))
    if missing:
        example = " ".join(f"{key}=..." for key in missing)
        raise ConfigError(
            f"no value for {', '.join(missing)}: set it on the command line, e.g. `{example}`."
        )


def exception_chain(exc: BaseException | None):
    """``exc`` and the exceptions it was raised from or during, innermost last."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        yield exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__


def user_error(exc: BaseException) -> GanlabError | None:
    """The GanlabError behind ``exc``, if any (Hydra's instantiate and Lightning wrap them)."""
    for link in exception_chain(exc):
        if isinstance(link, GanlabError):
            return link
        if (disk := storage_error(link)) is not None:
            return disk
    return None


# How torch.distributed tells a DDP process that another one of its run has gone (gloo's
# words; NCCL's watchdog aborts the process instead), e.g. rank 0 after it stopped on a full
# disk: the useful message is that process's own.
PEER_LOST = ("Connection closed by peer", "Connection reset by peer")


def lost_peer(exc: BaseException) -> bool:
    return any(words in str(link) for link in exception_chain(exc) for words in PEER_LOST)


def reports_user_errors(task):
    """Print a user's mistake as one message instead of a traceback.

    A single run then exits with status 1; in a sweep the job returns so that the remaining
    jobs still run (its summary.json records the failure). Ctrl+C outside training (which
    saves and reports by itself), e.g. while images are checked or prepared, ends the process
    with one line and the shell's status for SIGINT, 130, a sweep included.
    """

    @functools.wraps(task)
    def wrapper(*args, **kwargs):
        try:
            return task(*args, **kwargs)
        except KeyboardInterrupt:
            print("ganlab: interrupted (Ctrl+C).", file=sys.stderr)
            raise SystemExit(130) from None
        except Exception as exc:
            err = user_error(exc)
            if err is not None:
                # A DataLoader worker re-raises with the worker's traceback in the message;
                # the user's part is the last line.
                text = str(err)
                message = text.strip().splitlines()[-1] if "Original Traceback" in text else text
            elif lost_peer(exc):
                message = (
                    "another process of this run stopped first, so this one stopped too: "
                    "that process's error says why."
                )
            else:
                raise
            print(f"ganlab: error: {message}", file=sys.stderr)
            if is_multirun():
                return None
            raise SystemExit(1) from None

    return wrapper
