"""Errors a user can cause. The CLIs print their message alone, without a traceback."""

import difflib
import errno
from collections.abc import Sequence


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """ " Did you mean <closest option>?" for an error message, or "" when none is close."""
    match = difflib.get_close_matches(str(word), list(options), n=1)
    return f" Did you mean {match[0]}?" if match else ""


def check_int(key: str, value: int, minimum: int = 1) -> int:
    """``value`` if it is an integer >= ``minimum``, else a ConfigError naming the config key
    (``data.batch_size``, ``model.generator.ngf``). A bool is not an integer here."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}.")
    return value


class GanlabError(Exception):
    """A mistake the user can fix (config, data, paths); the message says how."""


class ConfigError(GanlabError):
    """An invalid or inconsistent configuration."""


class DatasetError(GanlabError):
    """A dataset that is missing, incomplete or corrupt."""


class CheckpointError(GanlabError):
    """A checkpoint that is missing or not a ganlab checkpoint."""


class ResumeRefused(ConfigError):
    """A run asked to continue with settings its checkpoint was not trained with: refused
    before anything in the run folder is written."""


class DivergedError(GanlabError):
    """Training produced a non-finite loss or gradient (summary.json status ``diverged``)."""


class StorageError(GanlabError):
    """A disk that is full, over quota or read-only: nothing the code can do about it."""


# Errors that say where the files go, not what went wrong in ganlab.
STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def storage_error(exc: BaseException) -> StorageError | None:
    """``exc`` as a StorageError when it is a full, over-quota or read-only disk."""
    if not isinstance(exc, OSError) or exc.errno not in STORAGE_ERRNOS:
        return None
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.EROFS:
        todo = "Write to another disk"
    else:
        todo = "Make room on that disk, or write to another one"
    return StorageError(
        f"{exc.strerror}{where}. {todo} (runs go under GANLAB_LOG_DIR, or paths.log_dir), "
        "and run again."
    )
