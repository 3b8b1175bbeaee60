"""Samplers and pruners by short name or dotted import path, with keyword arguments."""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._errors import ConfigError
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import SearchSpace

if TYPE_CHECKING:
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler

SAMPLERS: dict[str, str] = {
    "auto": "optuna.samplers.TPESampler",
    "tpe": "optuna.samplers.TPESampler",
    "random": "optuna.samplers.RandomSampler",
    "gp": "optuna.samplers.GPSampler",
    "cmaes": "optuna.samplers.CmaEsSampler",
    "qmc": "optuna.samplers.QMCSampler",
    "grid": "optuna.samplers.GridSampler",
    "nsga2": "optuna.samplers.NSGAIISampler",
    "nsga3": "optuna.samplers.NSGAIIISampler",
    "bruteforce": "optuna.samplers.BruteForceSampler",
}
PRUNERS: dict[str, str] = {
    "none": "optuna.pruners.NopPruner",
    "median": "optuna.pruners.MedianPruner",
    "percentile": "optuna.pruners.PercentilePruner",
    "asha": "optuna.pruners.SuccessiveHalvingPruner",
    "successive_halving": "optuna.pruners.SuccessiveHalvingPruner",
    "hyperband": "optuna.pruners.HyperbandPruner",
    "threshold": "optuna.pruners.ThresholdPruner",
    "patient": "optuna.pruners.PatientPruner",
    "wilcoxon": "optuna.pruners.WilcoxonPruner",
}


def make_sampler(
    name: str, kwargs: Mapping[str, Any], *, seed: int | None, space: SearchSpace
) -> BaseSampler:
    """Build a sampler; ``seed`` is passed when the sampler takes one and kwargs do not set it."""
    cls = _resolve("sampler", name, SAMPLERS)
    options = dict(kwargs)
    if name == "grid" or cls.__name__ == "GridSampler":
        options.setdefault("search_space", grid_of(space))
    if seed is not None and "seed" not in options and _accepts(cls, "seed"):
        options["seed"] = seed
    sampler: BaseSampler = _construct("sampler", name, cls, options)
    return sampler


def make_pruner(name: str, kwargs: Mapping[str, Any]) -> BasePruner:
    cls = _resolve("pruner", name, PRUNERS)
    options = dict(kwargs)
    wrapped = options.get("wrapped_pruner")
    if isinstance(wrapped, Mapping):  # patient: {wrapped_pruner: {name: median, kwargs: {}}}
        options["wrapped_pruner"] = make_pruner(
            str(wrapped.get("name", "none")), wrapped.get("kwargs") or {}
        )
    pruner: BasePruner = _construct("pruner", name, cls, options)
    return pruner


def grid_of(space: SearchSpace) -> dict[str, list[Any]]:
    """Every value of every param, for GridSampler; continuous params cannot be gridded."""
    grid: dict[str, list[Any]] = {}
    for name in space.names:
        param = space[name]
        if isinstance(param, Choice):
            grid[name] = list(param.choices)
        elif isinstance(param, Fixed):
            grid[name] = [param.value]
        elif isinstance(param, Int) and not param.log:
            grid[name] = list(range(param.low, param.high + 1, param.step))
        elif isinstance(param, Float) and param.step is not None:
            count = int(round((param.high - param.low) / param.step)) + 1
            grid[name] = [param.low + i * param.step for i in range(count)]
        else:
            raise ConfigError(
                f"the grid sampler cannot grid {name!r} ({type(param).__name__.lower()} without "
                "a step); give it a step, make it a choice, or use another sampler"
            )
    return grid


def _resolve(kind: str, name: str, aliases: Mapping[str, str]) -> type:
    path = aliases.get(name.lower(), name)
    if "." not in path:
        hint = difflib.get_close_matches(name.lower(), list(aliases), n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        raise ConfigError(
            f"unknown {kind} {name!r}; {suggestion}use one of {', '.join(aliases)} "
            "or a dotted path like optuna.samplers.TPESampler"
        )
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"cannot import {kind} {path!r}: {error}") from None
    if not isinstance(cls, type):
        raise ConfigError(f"{kind} {path!r} is not a class")
    return cls


def _accepts(cls: type, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _construct(kind: str, name: str, cls: type, options: dict[str, Any]) -> Any:
    try:
        return cls(**options)
    except TypeError as error:
        raise ConfigError(f"{kind} {name!r}: {error}; check its kwargs") from None
    except ValueError as error:
        raise ConfigError(f"{kind} {name!r}: {error}") from None
