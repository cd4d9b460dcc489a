"""Command-line overrides checked before Hydra runs anything, each mistake told in one line.

Hydra reports an unknown group choice or a misspelled key itself, but over several lines that
end with its config search path and a hint about HYDRA_FULL_ERROR. This check composes the
same config first (about 0.2 s) and, on a mistake, names the override, the valid choices or
keys, and the closest match.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType, ValueType
from hydra.errors import HydraException, OverrideParseException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from ganlab.cli.common import CONF_DIR
from ganlab.errors import ConfigError, did_you_mean

# Flags after which Hydra does something else than run the task (help, print the config...).
RUN_FLAGS = ("-m", "--multirun")
PREFIX = {OverrideType.ADD: "+", OverrideType.FORCE_ADD: "++", OverrideType.DEL: "~"}


# Hydra's flag that adds a folder of the user's configs before ganlab's (as its own command
# line does); hydra.searchpath=[...] overrides add folders or packages after them.
CONFIG_DIR_FLAGS = ("--config-dir", "-cd")


@contextlib.contextmanager
def configs(config_dir: str | None = None):
    """Hydra initialised on ganlab's configs and the user's (``--config-dir`` first, as
    Hydra's command line puts it); yields its config loader."""
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        if config_dir is not None:
            if not os.path.isdir(config_dir):
                raise ConfigError(f"--config-dir {config_dir}: there is no such folder.")
            path = f"file://{os.path.abspath(config_dir)}"
            loader.config_search_path.prepend("command-line", path)
            loader.repository.initialize_sources(loader.config_search_path)
        yield loader


def config_dir_flag(args: list[str]) -> tuple[list[str], str | None]:
    """``args`` without Hydra's --config-dir flag, and the folder it names (or None)."""
    rest, folder, it = [], None, iter(args)
    for arg in it:
        name, equals, value = arg.partition("=")
        if name in CONFIG_DIR_FLAGS:
            folder = value if equals else next(it, "")
        else:
            rest.append(arg)
    return rest, folder


def choices(group: str, loader, config_name: str, searchpath: list[str]) -> list[str] | None:
    """The options of a config group, the user's own included (None if ``group`` is not
    one). ``searchpath``: the command line's hydra.searchpath overrides."""
    if group.startswith("hydra"):
        return None
    options = loader.get_group_options(group, config_name=config_name, overrides=list(searchpath))
    return sorted(set(options)) or None


def values(override: Override) -> list[str]:
    """The option names an override picks (one, a list such as [fid,kid], or a sweep's)."""
    if override.is_sweep_override():
        if override.value_type == ValueType.INTERVAL_SWEEP:
            return []
        return list(override.sweep_string_iterator())
    value = override.value()
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def check_choices(override: Override, loader, config_name: str, searchpath: list[str]) -> None:
    if override.type == OverrideType.DEL:
        return
    key = override.key_or_group
    if "." in key and "/" not in key and not key.startswith("hydra"):
        # model.likelihood=gaussian: a nested group, chosen as model/likelihood=gaussian.
        group = key.replace(".", "/")
        options = choices(group, loader, config_name, searchpath)
        if options is not None:
            raise ConfigError(
                f"{key} is chosen from a group of configs: write {group}={values(override)[0]} "
                f"(the choices for {group} are: {', '.join(options)}); its settings are "
                f"{key}.<name>=value."
            )
    options = choices(override.key_or_group, loader, config_name, searchpath)
    if options is None:
        return
    for value in values(override):
        if value not in options and value != "null":
            raise ConfigError(
                f"{override.key_or_group}={value} is not a choice.{did_you_mean(value, options)} "
                f"The choices for {override.key_or_group} are: {', '.join(options)}."
            )


# Choices that need an optional extra: (group, choice) -> (module it provides, the extra).
EXTRAS = {
    ("hydra/launcher", "slurm"): ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    ("sweep", "optuna"): ("hydra_plugins.hydra_optuna_sweeper", "optuna"),
}


def check_extras(override: Override) -> None:
    """A choice whose Hydra plugin is not installed: say which extra to install."""
    import importlib.util

    for value in values(override):
        module, extra = EXTRAS.get((override.key_or_group, value), (None, None))
        if module is not None and importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"{override.key_or_group}={value} needs a Hydra plugin that is not installed: "
                f"pip install -e '.[{extra}]' in the repository (or .venv/bin/pip install "
                f"'ganlab[{extra}]')."
            )


# Multirun launchers that hand the jobs to a scheduler's programs: (group, choice) -> program.
# submitit looks for srun when it builds the launcher, deep in Hydra's traceback otherwise.
PROGRAMS = {("hydra/launcher", "slurm"): "srun"}


def check_programs(override: Override) -> None:
    """A launcher whose scheduler is not on this machine (e.g. SLURM off the cluster)."""
    import shutil

    for value in values(override):
        program = PROGRAMS.get((override.key_or_group, value))
        if program is not None and shutil.which(program) is None:
            raise ConfigError(
                f"{override.key_or_group}={value} submits the sweep as SLURM jobs, but SLURM's "
                f"{program} is not on this machine's PATH. Run the command on a login node of "
                "the cluster, or leave hydra/launcher out to run the sweep here one job at a time."
            )


def first_combination(override: Override) -> str | None:
    """The override with a sweep reduced to its first value (key mistakes are the same for
    every job of a sweep); None for an interval, which the Optuna sweeper samples."""
    if not override.is_sweep_override():
        return override.input_line
    if override.value_type == ValueType.INTERVAL_SWEEP:
        return None
    first = next(iter(override.sweep_string_iterator()))
    return f"{PREFIX.get(override.type, '')}{override.key_or_group}={first}"


def unknown_key(
    config_name: str, overrides: list[str], error: Exception, config_dir: str | None = None
) -> ConfigError:
    """A one-line message for a key that is not in the config, listing its siblings."""
    key = getattr(error, "full_key", None) or ""
    parent, _, name = key.rpartition(".")
    bad = [o for o in overrides if not o.lstrip("~+").startswith(key)]
    with configs(config_dir):
        cfg = compose(config_name, overrides=bad, return_hydra_config=True)
    node = OmegaConf.select(cfg, parent) if parent else cfg
    siblings = sorted(str(k) for k in node) if OmegaConf.is_dict(node) else []
    where = f"under {parent}" if parent else "at the top level"
    listed = f" The settings {where} are: {', '.join(siblings)}." if siblings else ""
    return ConfigError(
        f"{key} is not a setting of this config.{did_you_mean(name, siblings)}{listed} "
        f"(To add a new key on purpose, write +{key}=...)"
    )


def check_overrides(config_name: str, args: list[str]) -> None:
    """Raise a ConfigError for the first mistaken override in ``args`` (sys.argv[1:])."""
    args, config_dir = config_dir_flag(args)
    if any(a.startswith("-") and a not in RUN_FLAGS for a in args):
        return  # --help, --cfg job, ...: Hydra's own modes
    parser = OverridesParser.create()
    parsed = []
    for arg in (a for a in args if a not in RUN_FLAGS):
        try:
            parsed += parser.parse_overrides([arg])
        except OverrideParseException as exc:
            reason = str(exc).strip().splitlines()[0]
            raise ConfigError(
                f"cannot read the override {arg!r} ({reason}). Overrides are key=value, "
                "+key=value to add a key, ~key to remove one; quote values with spaces or "
                "brackets for the shell."
            ) from None
    searchpath = [o.input_line for o in parsed if o.key_or_group == "hydra.searchpath"]
    combination = [o for o in map(first_combination, parsed) if o is not None]
    try:
        with configs(config_dir) as loader:
            for override in parsed:
                check_choices(override, loader, config_name, searchpath)
                check_extras(override)
                if any(a in RUN_FLAGS for a in args):  # a launcher only launches a multirun
                    check_programs(override)
            cfg = compose(config_name, overrides=combination, return_hydra_config=True)
    except HydraException as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
            raise unknown_key(config_name, combination, cause, config_dir) from None
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise ConfigError(lines[0] if lines else type(exc).__name__) from None
    check_writable(cfg, multirun=any(a in RUN_FLAGS for a in args))


def check_writable(cfg, multirun: bool) -> None:
    """A run folder on a read-only disk, or where the user may not write: say so and where
    else to write, instead of Hydra's OSError traceback when it creates the folder."""
    if cfg.hydra.output_subdir is None:  # ganlab-eval, -sample...: Hydra writes nothing
        return
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    try:
        folder = Path(str(OmegaConf.select(cfg, key, throw_on_resolution_failure=True)))
    except (OmegaConfBaseException, ValueError):  # resolvable only in the launched job
        return
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or os.access(existing, os.W_OK):
        return
    read_only = os.statvfs(existing).f_flag & os.ST_RDONLY
    why = "is on a read-only file system" if read_only else "is not writable for you"
    if existing == folder.absolute():
        what = f"cannot write in the run folder {folder}: it {why}"
    else:
        what = f"cannot create the run folder {folder}: {existing} {why}"
    raise ConfigError(
        f"{what}. Set GANLAB_LOG_DIR (or paths.log_dir=...) to a folder you can write to, "
        f"or choose one with {key}=<folder>."
    )


def checks_overrides(config_name: str):
    """Decorate a Hydra entry point: check the command line's overrides first."""

    def decorate(hydra_main):
        @functools.wraps(hydra_main)
        def wrapper(*args, **kwargs):
            if not args and not kwargs:  # called as the console script
                try:
                    check_overrides(config_name, sys.argv[1:])
                except ConfigError as exc:
                    print(f"ganlab: error: {exc}", file=sys.stderr)
                    raise SystemExit(1) from None
            return hydra_main(*args, **kwargs)

        return wrapper

    return decorate
