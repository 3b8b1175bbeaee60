"""hpsweep search spaces ↔ Optuna's define-by-run suggestions."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import SearchSpace

if TYPE_CHECKING:
    import optuna


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Sample every active param in order; a conditional param is skipped when its ``when``
    does not hold for the values chosen before it. Fixed params are not stored as Optuna
    params (they would only add noise to importances); they live in the study's config."""
    values: dict[str, Any] = {}
    for name in space.names:
        if not space.is_active(name, values):
            continue
        param = space[name]
        if isinstance(param, Float):
            values[name] = trial.suggest_float(
                name, param.low, param.high, log=param.log, step=param.step
            )
        elif isinstance(param, Int):
            values[name] = trial.suggest_int(
                name, param.low, param.high, step=param.step, log=param.log
            )
        elif isinstance(param, Choice):
            values[name] = trial.suggest_categorical(name, list(param.choices))
        elif isinstance(param, Fixed):
            values[name] = param.value
    return values


def merge_params(fixed: dict[str, Any], sampled: dict[str, Any]) -> dict[str, Any]:
    """What the objective receives: ``fixed`` with ``sampled`` merged in; a dotted name such as
    ``optim.lr`` sets ``config["optim"]["lr"]``."""
    merged = _deep_copy(fixed)
    for name, value in sampled.items():
        parts = name.split(".")
        node = merged
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return merged


def _deep_copy(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in mapping.items()}
