"""Check every ``_target_`` node of a composed config against its class before building it.

Hydra rejects unknown groups and keys that are not in the config, but a key added with ``+``
or a value of the wrong type only fails inside the constructor, after data may have been
prepared, with a message about the wrong thing ("not all arguments converted during string
formatting"). This check names the key, the expected type and the valid keys instead.
"""

from __future__ import annotations

import inspect
import types
import typing

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from ganlab.errors import ConfigError

SIMPLE = (bool, int, float, str)


def _simple_types(annotation) -> tuple[type, ...] | None:
    """The plain types an annotation allows (int | None -> (int, NoneType)); None when the
    annotation is anything richer, which this check leaves to the constructor."""
    if annotation in SIMPLE:
        return (annotation,)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if all(a in SIMPLE or a is type(None) for a in args):
            return args
    return None


def _matches(value, allowed: tuple[type, ...]) -> bool:
    if value is None:
        return type(None) in allowed
    if isinstance(value, bool):  # bool is an int in Python; not in a config
        return bool in allowed
    if isinstance(value, int) and float in allowed:
        return True
    return isinstance(value, allowed)


def _signature(target) -> tuple[dict, dict, bool] | None:
    """(parameters, type hints, takes any other keyword) of a target. A class whose
    ``__init__`` passes ``**kwargs`` on to its base gets the base's parameters too."""
    inits = [target]
    if inspect.isclass(target):
        inits = [k.__init__ for k in inspect.getmro(target) if "__init__" in vars(k)]
    params, hints = {}, {}
    for init in inits:
        try:
            own = inspect.signature(init).parameters
            own_hints = typing.get_type_hints(init)
        except (TypeError, ValueError, NameError):  # builtins, unresolvable annotations
            return None
        params = {**own, **params}  # the subclass's default and annotation win
        hints = {**own_hints, **hints}
        if not any(p.kind is p.VAR_KEYWORD for p in own.values()):
            return params, hints, False
    return params, hints, True


def check_node(node: DictConfig, key: str) -> None:
    try:
        target = get_object(node._target_)
    except Exception as exc:
        raise ConfigError(f"{key}._target_={node._target_!r} cannot be imported ({exc}).") from exc
    signature = _signature(target)
    if signature is None:
        return
    params, hints, takes_any = signature
    named = [
        name
        for name, p in params.items()
        if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    for name in node:
        if name.startswith("_"):
            continue
        if name not in params:
            if takes_any:
                continue  # passed on (e.g. to a base class): the constructor decides
            raise ConfigError(
                f"{key}.{name} is not a setting of {node._target_}; its settings are: "
                f"{', '.join(named)}."
            )
        allowed = _simple_types(hints.get(name))
        value = node[name]
        if value is None and OmegaConf.is_interpolation(node, name):
            # A copy of a key still to be filled in (model.num_classes: null takes the data's
            # classes before the model is built); that key's own node is where it is checked.
            continue
        nested = isinstance(value, (DictConfig, ListConfig))
        if allowed and not nested and not _matches(value, allowed):
            want = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
            raise ConfigError(f"{key}.{name} must be {want}, got {value!r}.")


def check_targets(cfg: DictConfig, keys: tuple[str, ...] = ("model", "loss", "data")) -> None:
    """Raise a ConfigError for the first unknown key or wrongly typed value in the
    ``_target_`` nodes under ``keys`` (nested nodes such as ``model.generator`` included)."""

    def walk(node, key: str) -> None:
        if isinstance(node, DictConfig):
            if "_target_" in node:
                check_node(node, key)
            for name in node:
                if not OmegaConf.is_missing(node, name):
                    walk(node[name], f"{key}.{name}")

    for key in keys:
        if key in cfg:
            walk(cfg[key], key)
