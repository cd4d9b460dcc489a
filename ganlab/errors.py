"""Errors a user can cause. The CLIs print their message alone, without a traceback."""

import difflib
from collections.abc import Sequence


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """ " Did you mean <closest option>?" for an error message, or "" when none is close."""
    match = difflib.get_close_matches(str(word), list(options), n=1)
    return f" Did you mean {match[0]}?" if match else ""


class GanlabError(Exception):
    """A mistake the user can fix (config, data, paths); the message says how."""


class ConfigError(GanlabError):
    """An invalid or inconsistent configuration."""


class DatasetError(GanlabError):
    """A dataset that is missing, incomplete or corrupt."""


class CheckpointError(GanlabError):
    """A checkpoint that is missing or not a ganlab checkpoint."""


class DivergedError(GanlabError):
    """Training produced a non-finite loss or gradient (summary.json status ``diverged``)."""
