"""Samplers and pruners by short name or dotted import path, with keyword arguments; the grid of
a space; the ``initial_points`` a study starts with.

Optuna is imported lazily here (``hpsweep --help`` must not import it).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import warnings
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._errors import ConfigError
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import SearchSpace
from hpsweep.space._params import describe_values
from hpsweep.space._params import is_possible

if TYPE_CHECKING:
    import optuna
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler

SAMPLERS: dict[str, str] = {
    "auto": "hpsweep.engine._auto.auto_sampler",
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
    "pfl": "hpsweep.engine._pfl.PFLPruner",
}
_SINGLE_OBJECTIVE_ONLY = ("CmaEsSampler",)
INITIAL_POINTS_ATTR = "hpsweep:initial_points"


@contextmanager
def _experimental_allowed() -> Iterator[None]:
    """Optuna marks QMC, NSGA-III, brute force, TPE's ``group``, the patient and Wilcoxon
    pruners *experimental* and warns when one is built. Naming one in a config is a deliberate
    choice that the docs describe, so the warning would only be noise for the user (and an error
    under pytest's ``filterwarnings = error``): it is silenced at construction, only there."""
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        yield


def make_sampler(
    name: str,
    kwargs: Mapping[str, Any],
    *,
    seed: int | None,
    space: SearchSpace,
    directions: Sequence[str] = ("minimize",),
    n_trials: int | None = None,
) -> BaseSampler:
    """Build a sampler; ``seed`` is passed when the sampler takes one and kwargs do not set it.
    ``auto`` picks one from the space, the directions and the trial budget (see
    :func:`hpsweep.engine._auto.choose_sampler`)."""
    if name.lower() == "auto":
        from hpsweep.engine._auto import auto_sampler

        if kwargs:
            raise ConfigError(
                "sampler 'auto' takes no kwargs; name a sampler (tpe, gp, ...) to configure it"
            )
        with _experimental_allowed():
            return auto_sampler(space, directions, n_trials, seed=seed)
    cls = _resolve("sampler", name, SAMPLERS)
    options = dict(kwargs)
    if cls.__name__ == "GridSampler":
        options.setdefault("search_space", grid_of(space))
    if seed is not None and "seed" not in options and _accepts(cls, "seed"):
        options["seed"] = seed
    if len(directions) > 1 and cls.__name__ in _SINGLE_OBJECTIVE_ONLY:
        raise ConfigError(
            f"sampler {name!r} optimizes one objective, but the study has "
            f"{len(directions)} directions; use tpe, nsga2, nsga3, gp or random"
        )
    if cls.__name__ in ("GridSampler", "BruteForceSampler"):
        cls = _without_stop(cls)
    with _experimental_allowed():
        sampler: BaseSampler = _construct("sampler", name, cls, options)
    return sampler


def _without_stop(cls: type) -> type:
    """GridSampler and BruteForceSampler call ``study.stop()`` once every point has run. That
    only works inside ``study.optimize``; hpsweep drives ask/tell, where it raises and would
    fail the tell. The subclass records the end instead, and the controller stops launching
    (:func:`sampler_exhausted`)."""
    base: Any = cls

    def after_trial(self: Any, study: Any, trial: Any, state: Any, values: Any) -> None:
        try:
            base.after_trial(self, study, trial, state, values)
        except RuntimeError as error:
            if "Study.stop" not in str(error):
                raise
            self.hpsweep_exhausted = True

    return type(cls.__name__, (cls,), {"after_trial": after_trial, "hpsweep_exhausted": False})


def sampler_exhausted(study: optuna.Study) -> bool:
    """Whether the study's sampler has nothing new to propose (a finished grid or brute-force
    enumeration): the controller then launches no more trials."""
    sampler = study.sampler
    is_exhausted = getattr(sampler, "is_exhausted", None)  # GridSampler, from stored trials
    if callable(is_exhausted) and is_exhausted(study):
        return True
    if _every_grid_point_started(sampler, study):
        return True
    return bool(getattr(sampler, "hpsweep_exhausted", False))


def _every_grid_point_started(sampler: BaseSampler, study: optuna.Study) -> bool:
    """Whether a GridSampler has started every point. Once it has, it proposes again a point
    that is still running (so that a dead worker's point still gets done), which ran one trial
    too many with -j 2; hpsweep re-runs a dead controller's trials itself (as lost), so the grid
    is done launching then and the running points only need to finish."""
    n_points = getattr(sampler, "_n_min_trials", None)
    same_space = getattr(sampler, "_same_search_space", None)
    if not isinstance(n_points, int) or not callable(same_space):
        return False
    from optuna.trial import TrialState

    started = {
        trial.system_attrs["grid_id"]
        for trial in study._storage.get_all_trials(study._study_id, deepcopy=False)
        if "grid_id" in trial.system_attrs
        and trial.state != TrialState.WAITING
        and same_space(trial.system_attrs["search_space"])
    }
    return len(started) >= n_points


def make_pruner(
    name: str, kwargs: Mapping[str, Any], *, directions: Sequence[str] | None = None
) -> BasePruner:
    """Build a pruner. ``patient`` wraps another given as ``{wrapped_pruner: {name, kwargs}}``;
    ``asha`` also takes Ray Tune's ``max_t`` (no rung at or beyond it)."""
    cls = _resolve("pruner", name, PRUNERS)
    options = dict(kwargs)
    wrapped = options.get("wrapped_pruner")
    if isinstance(wrapped, Mapping):  # patient: {wrapped_pruner: {name: median, kwargs: {}}}
        options["wrapped_pruner"] = make_pruner(
            str(wrapped.get("name", "none")), wrapped.get("kwargs") or {}, directions=directions
        )
    elif isinstance(wrapped, str):
        options["wrapped_pruner"] = make_pruner(wrapped, {}, directions=directions)
    max_t = options.pop("max_t", None) if cls.__name__ == "SuccessiveHalvingPruner" else None
    if cls.__name__ == "PFLPruner" and directions is not None:
        from hpsweep.engine._pfl import check_direction

        try:
            check_direction(directions)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    with _experimental_allowed():
        pruner: BasePruner = _construct("pruner", name, cls, options)
    if max_t is not None:
        from hpsweep.engine._pfl import CappedPruner

        pruner = _construct("pruner", name, CappedPruner, {"wrapped": pruner, "max_t": max_t})
    return pruner


def grid_of(space: SearchSpace) -> dict[str, list[Any]]:
    """Every value of every param, for GridSampler; continuous params cannot be gridded."""
    grid: dict[str, list[Any]] = {}
    for name in space.names:
        param = space[name]
        if isinstance(param, Fixed):
            continue  # never suggested: fixed values live in the study's config
        if param.when:
            raise ConfigError(
                f"the grid sampler cannot grid {name!r}: it is conditional (when: ...), and a "
                "grid needs every param in every trial; drop the condition or use tpe"
            )
        if isinstance(param, Choice):
            grid[name] = list(param.choices)
        elif isinstance(param, Int) and not param.log:
            grid[name] = list(range(param.low, param.high + 1, param.step))
        elif isinstance(param, Float) and param.step is not None:
            count = int(math.floor((param.high - param.low) / param.step + 1e-9)) + 1
            grid[name] = [_round(param.low + i * param.step, param.step) for i in range(count)]
        else:
            kind = "log-scaled int" if isinstance(param, Int) else "float without a step"
            raise ConfigError(
                f"the grid sampler cannot grid {name!r} ({kind}); give it a step, make it a "
                "choice, or use another sampler"
            )
    if not grid:
        raise ConfigError("the grid sampler needs at least one param to grid")
    return grid


def _round(value: float, step: float) -> float:
    """``low + i * step`` without the float noise (0.30000000000000004)."""
    digits = max(0, -math.floor(math.log10(step)) + 6) if step > 0 else 6
    return round(value, digits)


# ----------------------------------------------------------------- initial points


def check_initial_points(
    points: Sequence[Mapping[str, Any]], space: SearchSpace
) -> list[dict[str, Any]]:
    """Validate Ray's ``points_to_evaluate`` against the space: every key a sampled param, every
    value one the param can take. A point may leave params out (they are sampled)."""
    checked: list[dict[str, Any]] = []
    for index, point in enumerate(points):
        where = f"initial_points[{index}]"
        if not isinstance(point, Mapping):
            raise ConfigError(f"{where} must be a mapping of param to value, got {point!r}")
        for key, value in point.items():
            if key not in space:
                hint = difflib.get_close_matches(str(key), list(space.names), n=1)
                extra = f"; did you mean {hint[0]!r}?" if hint else ""
                raise ConfigError(f"{where}: {key!r} is not a param of the space{extra}")
            param = space[key]
            if isinstance(param, Fixed):
                raise ConfigError(
                    f"{where}: {key!r} is fixed to {param.value!r}, so it cannot be set; "
                    "drop it from the point"
                )
            if isinstance(param, Float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not is_possible(param, value):
                raise ConfigError(
                    f"{where}: {key} = {value!r} is not possible; it takes "
                    f"{describe_values(param)}"
                )
        checked.append({k: _plain(space[k], v) for k, v in point.items()})
    return checked


def _plain(param: object, value: Any) -> Any:
    if isinstance(param, Float) and not isinstance(value, bool):
        return float(value)
    return value


def enqueue_initial_points(
    study: optuna.Study, points: Sequence[Mapping[str, Any]], space: SearchSpace
) -> int:
    """Queue the points to run first, once per study: a study attr records that it was done,
    so a resumed run (or a second worker) does not queue them again. Call it under the store's
    mutex. Returns how many were queued now."""
    checked = check_initial_points(points, space)
    storage = study._storage
    if not checked or INITIAL_POINTS_ATTR in storage.get_study_system_attrs(study._study_id):
        return 0
    for point in checked:
        study.enqueue_trial(point, user_attrs={"initial_point": True})
    storage.set_study_system_attr(study._study_id, INITIAL_POINTS_ATTR, checked)
    return len(checked)


# ----------------------------------------------------------------- helpers


def _resolve(kind: str, name: str, aliases: Mapping[str, str]) -> Any:
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
    except (ValueError, ImportError) as error:
        raise ConfigError(f"{kind} {name!r}: {error}") from None


# ----------------------------------------------------------------- constraints


def record_constraints(
    trial: optuna.Trial,
    constraints: Sequence[str],
    result: object,
    values: Sequence[float],
    metrics: Sequence[str] = (),
) -> dict[str, float]:
    """Store a complete trial's constraint values before it is told, with Optuna 5's
    ``Trial.set_constraint`` (system attrs ``constraints:<text>``; ``<= 0`` is feasible), which
    TPE, NSGA-II/III, GP and ``study.best_trial`` read. The metrics are the dict the trial
    returned, plus each configured metric name (and ``objective``) bound to its value. A missing
    or non-numeric metric raises :class:`TrialError`, which fails the trial. Returns the
    values by constraint text."""
    if not constraints:
        return {}
    from hpsweep._constraints import constraint_values
    from hpsweep._constraints import parse_constraints
    from hpsweep._errors import TrialError

    available: dict[str, object] = dict(result) if isinstance(result, Mapping) else {}
    for name, value in zip(metrics, values):
        available.setdefault(name, value)
    if len(values) == 1:
        available.setdefault("objective", values[0])
    try:
        computed = constraint_values(parse_constraints(list(constraints)), available)
    except (KeyError, ValueError) as error:
        raise TrialError(str(error.args[0] if error.args else error)) from None
    for text, value in computed.items():
        trial.set_constraint(text, value)
    return computed
