"""Errors a user can cause. The CLIs print their message alone, without a traceback."""


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
