"""The ``@hparam_search`` decorator's YAML (allemanenti/Optuna-Hparam-Search) and its
``--set a.b=c`` overrides, as a :class:`~hpsweep._config.SweepConfig`.

The YAML holds fixed params, study settings (``experiment_name``, ``tag``, ``direction``,
``n_jobs``, ``n_trials``, ``sampler: {n_startup_trials}``) and ``sweep_parameters``; every key
is also passed to the trial, which gets each sampled value at the top level under its sweep
name. What maps how, and what differs from the decorator, is in
docs/coming-from-hparam-search.md. No optuna here.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hpsweep._config import SweepConfig
from hpsweep._config import _check_size
from hpsweep._config import _shown
from hpsweep._config import from_mapping
from hpsweep._errors import ConfigError
from hpsweep._errors import SpaceError
from hpsweep.space import Choice
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import Param
from hpsweep.space import SearchSpace
from hpsweep.space._params import NAME_RE
from hpsweep.space._params import is_scalar

__all__ = [
    "HparamPlan",
    "apply_overrides",
    "convert_string_to_type",
    "hparam_search_plan",
]

DEFAULT_EXPERIMENT = "base_experiment"
DEFAULT_TAG = "default_tag"
DEFAULT_STARTUP = 10
"""``sampler.n_startup_trials`` when the file gives none (Optuna's TPE default)."""
_PARAM_KEYS = {
    "float": ("type", "low", "high", "log", "step"),
    "int": ("type", "low", "high", "log", "step"),
    "categorical": ("type", "choices"),
}
_PARAM_EXAMPLES = {
    "float": "{type: float, low: 5.0e-5, high: 1.0e-2, log: true}",
    "int": "{type: int, low: 10, high: 100, step: 10}",
    "categorical": "{type: categorical, choices: [Adam, SGD]}",
}
_MAX_LITERAL = 10_000
"""Longer ``--set`` values are not parsed as Python literals (they stay strings)."""


# ----------------------------------------------------------------------------- --set


def convert_string_to_type(text: str) -> Any:
    """A ``--set`` value typed as the decorator types it, trying in order: ``none`` → None,
    ``true``/``false`` → bool (any case, surrounding spaces ignored), ``int()``, ``float()``
    (``1e-3``, ``nan``, ``inf``), a Python literal (lists, dicts, tuples, quoted strings,
    ``0x10``; parsed by :func:`ast.literal_eval`, which evaluates no code), else the text."""
    lowered = text.strip().lower()
    if lowered == "none":
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if len(text) <= _MAX_LITERAL:
        try:
            return ast.literal_eval(text)
        # Deeply nested text exhausts the parser: it is not a literal anyone meant.
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
    return text


def apply_overrides(
    config: dict[str, Any], items: Sequence[str], *, source: str
) -> list[tuple[str, Any]]:
    """Apply ``--set key.a.b=value`` items to ``config`` in order; returns ``(key, value)`` of
    each. Unlike the decorator, a key whose path does not exist up to its last part is an error
    (the decorator printed the override and dropped it)."""
    applied: list[tuple[str, Any]] = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"--set {item!r}: expected KEY=VALUE, e.g. --set n_trials=200 or --set "
                "model.first_layer.bias=False"
            )
        parts = key.split(".")
        node: Any = config
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            where = ".".join(parts[: depth + 1])
            if child is None or not isinstance(child, dict):
                found = "has no key" if child is None else "is not a mapping in"
                # Keys and the key typed may hold line breaks: shown escaped, on one line.
                keys = sorted(_shown(str(k)) for k in node) if isinstance(node, dict) else []
                raise ConfigError(
                    f"--set {_shown(key)}: {where!r} {found} {source}, so {key!r} cannot be set; "
                    f"add {_shown(where)} to the file first"
                    + (f" (keys there: {', '.join(keys)})" if keys and child is None else "")
                )
            node = child
        node[parts[-1]] = convert_string_to_type(text)
        applied.append((key, node[parts[-1]]))
    return applied


# ----------------------------------------------------------------------------- the study


@dataclass(frozen=True)
class HparamPlan:
    """What the decorated function's study is."""

    config: SweepConfig
    """The study; ``objective``/``executor`` are for the caller to fill in."""
    n_trials: Any
    """``n_trials`` as the file gives it (the banner prints it as is)."""
    n_jobs: Any
    notes: tuple[str, ...] = ()


def _fail(source: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {message}")


def _suggestion(word: str, options: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def hparam_search_plan(
    config: Mapping[str, Any], *, source: str, save_db_directory: str
) -> HparamPlan:
    """The study of a loaded (and overridden) config: ``{experiment_name}_{tag}`` in
    ``sqlite:///{save_db_directory}/{experiment_name}_{tag}.db``, ``n_trials`` as its total,
    ``n_jobs`` trials at a time, TPE with ``sampler.n_startup_trials`` random trials first, and
    the whole config as every trial's fixed params. Raises :class:`ConfigError` (one line:
    file, key, fix)."""
    _check_size(config, source)  # every trial gets a copy: refuse a YAML alias bomb first
    for key, example in (("n_jobs", "n_jobs: 4"), ("n_trials", "n_trials: 100")):
        if key not in config:
            raise _fail(source, f"missing key {key!r}; add it, e.g. {example}")
    n_jobs = _whole(config["n_jobs"], "n_jobs", source)
    n_trials = _whole(config["n_trials"], "n_trials", source)
    names = []
    for key, default in (("experiment_name", DEFAULT_EXPERIMENT), ("tag", DEFAULT_TAG)):
        value = config.get(key, default)
        if not is_scalar(value) or value == "":
            raise _fail(source, f"{key} must be a non-empty name, got {value!r}")
        names.append(str(value))
    study = "_".join(names)
    direction = config.get("direction", "minimize")
    if direction not in ("minimize", "maximize"):
        raise _fail(
            source,
            f"direction must be minimize or maximize, got {direction!r}"
            f"{_suggestion(str(direction), ('minimize', 'maximize'))}",
        )
    notes: list[str] = []
    startup = _startup(config, source, notes)
    space = _space(config.get("sweep_parameters"), source)
    document: dict[str, Any] = {
        "study": study,
        "storage": f"sqlite:///{save_db_directory}/{study}.db",
        "direction": direction,
        "n_trials": n_trials,
        "jobs": n_jobs,
        "sampler": {"name": "tpe", "kwargs": {"n_startup_trials": startup}},
        "pruner": "none",  # the decorator's trials report nothing to prune on
        "run_dir": f"{save_db_directory}/hpsweep-runs",
    }
    native = from_mapping(document, source=source)
    native = dataclasses.replace(native, space=space, params=dict(config))
    return HparamPlan(native, config["n_trials"], config["n_jobs"], tuple(notes))


def _whole(value: Any, key: str, source: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(source, f"{key} must be a whole number >= 1, got {value!r}")
    return value


def _startup(config: Mapping[str, Any], source: str, notes: list[str]) -> int:
    """``sampler.n_startup_trials``; the README's top-level ``n_startup_trials`` (which the
    decorator ignored) is read when the sampler section gives none."""
    sampler = config.get("sampler")
    if sampler is None:
        sampler = {}
    if not isinstance(sampler, Mapping):
        raise _fail(
            source, f"sampler must be a mapping such as {{n_startup_trials: 10}}, got {sampler!r}"
        )
    for key in sampler:
        if key != "n_startup_trials":
            raise _fail(
                source,
                f"sampler: unknown key {key!r}; the sampler (TPE) takes only n_startup_trials",
            )
    if "n_startup_trials" in sampler:
        value = sampler["n_startup_trials"]
        where = "sampler.n_startup_trials"
    elif "n_startup_trials" in config:
        value = config["n_startup_trials"]
        where = "n_startup_trials"
        notes.append(
            f"{source}: top-level n_startup_trials ({value!r}) configures the sampler; the "
            "decorator read only sampler.n_startup_trials"
        )
    else:
        return DEFAULT_STARTUP
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(source, f"{where} must be a whole number >= 0, got {value!r}")
    return value


def _space(value: Any, source: str) -> SearchSpace:
    if value is None:
        return SearchSpace()
    if not isinstance(value, Mapping):
        raise _fail(
            source,
            "sweep_parameters must map names to definitions, e.g. sweep_parameters: "
            f"{{learning_rate: {_PARAM_EXAMPLES['float']}}}",
        )
    params: dict[str, Param] = {}
    for name, definition in value.items():
        where = f"sweep_parameters.{name}"
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise _fail(
                source,
                f"sweep_parameters: {name!r} cannot name a param; use letters, digits and '_'",
            )
        try:
            params[name] = _param(definition, where, source)
        except SpaceError as error:
            raise _fail(source, f"{where}: {error}") from None
    return SearchSpace(params)


def _param(definition: Any, where: str, source: str) -> Param:
    if not isinstance(definition, Mapping):
        raise _fail(
            source,
            f"{where} must be a mapping such as {_PARAM_EXAMPLES['float']}, got {definition!r}",
        )
    kind = definition.get("type")
    if not isinstance(kind, str) or kind not in _PARAM_KEYS:  # a list or mapping is unhashable
        shown = "missing" if kind is None else repr(kind)
        raise _fail(
            source,
            f"{where}.type is {shown}; it must be float, int or categorical"
            f"{_suggestion(str(kind), tuple(_PARAM_KEYS))} (the decorator skipped other types "
            "silently, leaving the param out of the trial's config)",
        )
    for key in definition:
        if key not in _PARAM_KEYS[kind]:
            raise _fail(
                source,
                f"{where}: unknown key {key!r} for type {kind}"
                f"{_suggestion(str(key), _PARAM_KEYS[kind])}; it takes "
                f"{', '.join(_PARAM_KEYS[kind])}",
            )
    if kind == "categorical":
        choices = definition.get("choices")
        if not isinstance(choices, list) or not choices:
            raise _fail(source, f"{where}.choices must be a non-empty list, got {choices!r}")
        return Choice(choices)
    for key in ("low", "high"):
        if key not in definition:
            raise _fail(source, f"{where} needs {key}, e.g. {_PARAM_EXAMPLES[kind]}")
    low: Any = _number(definition["low"], f"{where}.low", source)
    high: Any = _number(definition["high"], f"{where}.high", source)
    log = definition.get("log", False)
    if not isinstance(log, bool):
        raise _fail(source, f"{where}.log must be true or false, got {log!r}")
    step = definition.get("step")
    if kind == "int":
        return Int(low, high, step=1 if step is None else step, log=log)
    return Float(
        low, high, log=log, step=None if step is None else _number(step, f"{where}.step", source)
    )


def _number(value: Any, where: str, source: str) -> int | float:
    """A YAML number; ``1e-3``, which PyYAML reads as a string, is read as 0.001."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _fail(source, f"{where} must be a number, got {value!r}") from None
    # An int is exact however large (math.isfinite would overflow): Float and Int judge it.
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise _fail(source, f"{where} must be a number, got {value!r}")
    return value
