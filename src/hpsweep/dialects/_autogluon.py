"""AutoGluon MultiModal's HPO arguments (``hyperparameters`` with Ray Tune or AutoGluon search
spaces, ``hyperparameter_tune_kwargs``) as a :class:`~hpsweep._config.SweepConfig`.

``hyperparameters`` is a flat dict of dotted keys (``"optim.lr"``) mixing constants with search
spaces: Ray Tune domains (``ray.tune.uniform(...)``, read without importing Ray unless one is
passed), hpsweep's own :mod:`hpsweep.tune` equivalents, hpsweep params, or AutoGluon spaces
(``Real``, ``Int``, ``Categorical``, ``Bool``; AutoGluon's own classes or
:mod:`hpsweep.compat.autogluon`'s), whose defaults become the first trial. What maps how, and
what differs from AutoGluon, is in docs/coming-from-autogluon.md. No optuna here.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import sys
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Literal

from hpsweep import tune
from hpsweep._config import SweepConfig
from hpsweep._config import from_mapping
from hpsweep._errors import ConfigError
from hpsweep._errors import SpaceError
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import Param
from hpsweep.space import SearchSpace
from hpsweep.space._params import NAME_RE
from hpsweep.space._params import describe_values
from hpsweep.space._params import is_possible
from hpsweep.space._params import is_scalar

__all__ = [
    "AutogluonPlan",
    "NO_BEST_TRIAL",
    "NO_DICT",
    "NO_SEARCH_SPACE",
    "autogluon_plan",
    "finite",
    "flat_config",
    "metric_mode",
    "sampled_values",
    "to_param",
]

NO_SEARCH_SPACE = (
    "Please provide a search space using `hyperparameters` in order to do hyperparameter tune"
)
"""AutoGluon's ValueError when ``hyperparameters`` holds no search space, word for word."""
NO_DICT = "Please provide hyperparameters as a dictionary if you want to do HPO"
NO_BEST_TRIAL = (
    "MultiModalPredictor wasn't able to find the best trial. Either all trials failed or "
    "it's likely that the time is not enough to train a single epoch for trials."
)
"""AutoGluon's message, with the spaces its string concatenation leaves out."""

TUNE_KEYS = (
    "searcher",
    "scheduler",
    "num_trials",
    "num_to_keep",
    "searcher_init_args",
    "scheduler_init_args",
    "resources_per_trial",
)
PRESETS: dict[str, dict[str, str]] = {  # AutoGluon's RayTuneAdapter.presets
    "auto": {"searcher": "random", "scheduler": "FIFO"},
    "random": {"searcher": "random", "scheduler": "FIFO"},
    "bayes": {"searcher": "bayes", "scheduler": "FIFO"},
}
SEARCHER_ARGS: dict[str, dict[str, str]] = {
    # Ray's BasicVariantGenerator and HyperOptSearch arguments → hpsweep's sampler settings.
    "random": {"random_state": "seed"},
    "bayes": {"n_initial_points": "n_startup_trials", "random_state_seed": "seed"},
}
BAYES_STARTUP = 20
"""HyperOptSearch's ``n_initial_points``: random trials before TPE (Optuna's own default is 10)."""
ASHA_DEFAULTS = {"max_t": 9999, "grace_period": 1, "reduction_factor": 4}
"""AutoGluon's ``AsyncHyperBandScheduler(max_t=9999)`` with Ray's other defaults."""
DEFAULT_NUM_TO_KEEP = 3
TIME_SHARE = 0.95
"""AutoGluon gives Ray 95 % of ``time_limit``."""

_MAXIMIZED = frozenset(
    {
        "acc",
        "accuracy",
        "average_precision",
        "balanced_accuracy",
        "f1",
        "f1_macro",
        "f1_micro",
        "f1_weighted",
        "map",
        "mcc",
        "ndcg",
        "pearsonr",
        "precision",
        "precision_macro",
        "precision_micro",
        "precision_weighted",
        "quadratic_kappa",
        "r2",
        "recall",
        "recall_macro",
        "recall_micro",
        "recall_weighted",
        "roc_auc",
        "spearmanr",
    }
)
_MINIMIZED = frozenset(
    {
        "log_loss",
        "loss",
        "mae",
        "mape",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_error",
        "mse",
        "rmse",
        "root_mean_squared_error",
        "smape",
    }
)


def metric_mode(metric: str, mode: str | None) -> Literal["min", "max"]:
    """``min`` or ``max`` for AutoGluon's ``eval_metric``: ``mode`` when given, else inferred
    from the metric's name as AutoGluon's scorers do."""
    if mode is not None:
        if mode not in ("min", "max"):
            raise ConfigError(f"mode must be min or max, got {mode!r}")
        return "min" if mode == "min" else "max"
    if metric in _MAXIMIZED:
        return "max"
    if metric in _MINIMIZED:
        return "min"
    raise ConfigError(
        f"eval_metric {metric!r} is not one hpsweep knows the direction of; pass mode='min' "
        "or mode='max'"
    )


# ----------------------------------------------------------------------------- spaces


_NO_DEFAULT = object()


def _autogluon_kind(value: object) -> str | None:
    """``Real``, ``Int``, ``Categorical`` or ``Bool`` for an AutoGluon space (AutoGluon's own
    classes or hpsweep.compat.autogluon's), recognised without importing AutoGluon."""
    for cls in type(value).__mro__:
        if cls.__name__ in ("Bool", "Categorical", "Int", "Real") and cls.__module__.startswith(
            ("autogluon.", "hpsweep.")
        ):
            return cls.__name__
    return None


def _is_ray_domain(value: object) -> bool:
    return type(value).__module__.startswith("ray.")


def to_param(key: str, value: object) -> tuple[Param | None, object]:
    """``(param, default)`` for one ``hyperparameters`` entry: ``(None, ...)`` for a constant;
    the default is that of an AutoGluon space, else ``_NO_DEFAULT``."""
    where = f"hyperparameters[{key!r}]"
    try:
        if isinstance(value, (Float, Int, Choice)):
            return value, _NO_DEFAULT
        if isinstance(value, Fixed):
            return None, _NO_DEFAULT
        kind = _autogluon_kind(value)
        if kind is not None:
            return _from_autogluon(kind, value)
        if _is_ray_domain(value):
            return _from_ray(value, where), _NO_DEFAULT
    except SpaceError as error:
        text = str(error)
        raise SpaceError(text if text.startswith(where) else f"{where}: {text}") from None
    if isinstance(value, Mapping) and "grid_search" in value:
        raise ConfigError(
            f"{where}: tune.grid_search has no hpsweep counterpart (it runs every value for "
            "every sample); use tune.choice([...])"
        )
    return None, _NO_DEFAULT


def _from_autogluon(kind: str, value: Any) -> tuple[Param, object]:
    if kind == "Categorical":
        data = list(value.data)
        return Choice(data), value.default
    if kind == "Real":
        return Float(value.lower, value.upper, log=bool(value.log)), value.default
    if kind == "Bool":  # AutoGluon's Bool is Int(0, 1): the trial sees 0 or 1
        return Int(0, 1), value.default
    return Int(value.lower, value.upper), value.default  # AutoGluon's Int includes upper


def _from_ray(domain: Any, where: str) -> Param:
    """A Ray Tune domain as the :mod:`hpsweep.tune` function that samples the same values."""
    # Ray's own annotations are partial; its classes are only matched here, so read them as Any.
    sample: Any = importlib.import_module("ray.tune.search.sample")
    sampler = domain.get_sampler()
    q = None
    if isinstance(sampler, sample.Quantized):
        q, sampler = sampler.q, sampler.get_sampler()
    log = isinstance(sampler, sample.LogUniform)
    if isinstance(domain, sample.Categorical):
        return tune.choice(list(domain.categories))
    if isinstance(domain, (sample.Float, sample.Integer)) and isinstance(
        sampler, (sample.Uniform, sample.LogUniform)
    ):
        low, high = domain.lower, domain.upper
        if isinstance(domain, sample.Float):
            if q is None:
                return tune.loguniform(low, high) if log else tune.uniform(low, high)
            return tune.qloguniform(low, high, q) if log else tune.quniform(low, high, q)
        if q is None:
            return tune.lograndint(low, high) if log else tune.randint(low, high)
        return tune.qlograndint(low, high, q) if log else tune.qrandint(low, high, q)
    if isinstance(sampler, sample.Normal):
        raise SpaceError(
            f"{where}: tune.randn has no hpsweep counterpart (a search range must be bounded); "
            f"use tune.uniform(mean - 3 * sd, mean + 3 * sd)"
        )
    if isinstance(domain, sample.Function):
        raise SpaceError(
            f"{where}: tune.sample_from has no hpsweep counterpart; use tune.choice, "
            "tune.uniform or tune.randint"
        )
    raise SpaceError(f"{where}: {domain!r} is not a search space hpsweep can sample")


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class AutogluonPlan:
    """What :func:`hpsweep.compat.autogluon.fit` runs."""

    config: SweepConfig
    """The study, without storage or name (``fit`` places both in ``save_path``)."""
    hyperparameters: Mapping[str, Any]
    """The constants, and the searched keys bound to their params, in the caller's order."""
    searched: tuple[str, ...]
    metric: str
    """``val_<eval_metric>``, as AutoGluon names what its trials report."""
    mode: Literal["min", "max"]
    num_to_keep: int


def autogluon_plan(
    hyperparameters: object,
    hyperparameter_tune_kwargs: object,
    *,
    eval_metric: str,
    mode: str | None = None,
    time_limit: float | None = None,
) -> AutogluonPlan:
    """The study for AutoGluon's HPO arguments. Raises AutoGluon's ValueErrors for no dict and
    no search space, and :class:`ConfigError` (one line: argument, key, fix) for the rest.
    Neither argument is modified (AutoGluon pops ``num_to_keep`` from the caller's dict)."""
    if not isinstance(hyperparameters, Mapping):
        raise ValueError(NO_DICT)
    kwargs = _tune_kwargs(hyperparameter_tune_kwargs)
    params: dict[str, Param] = {}
    defaults: dict[str, Any] = {}
    for key, value in hyperparameters.items():
        if not isinstance(key, str) or not NAME_RE.fullmatch(key):
            raise ConfigError(
                f"hyperparameters: {key!r} cannot name a hyperparameter; use dotted names such "
                "as 'optim.lr'"
            )
        param, default = to_param(key, value)
        if param is None:
            continue
        params[key] = param
        if default is not _NO_DEFAULT:
            defaults[key] = _checked_default(key, param, default)
    if not params:
        raise ValueError(NO_SEARCH_SPACE)
    _check_nesting(list(params))
    chosen_mode = metric_mode(eval_metric, mode)
    if time_limit is not None and (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, (int, float))
        or not time_limit > 0
        or (isinstance(time_limit, int) and time_limit > sys.float_info.max)  # no float holds it
    ):
        raise ConfigError(f"time_limit must be a number of seconds > 0, got {time_limit!r}")
    num_trials = kwargs.get("num_trials")
    if num_trials is None:
        num_trials = 1 if time_limit is None else 1000
    document: dict[str, Any] = {
        "direction": "minimize" if chosen_mode == "min" else "maximize",
        "metric": f"val_{eval_metric}",
        "n_trials": _count(num_trials, "num_trials", 1),
        "jobs": 1,
        "executor": "thread",
        "pruner": "none",
        **_searcher(kwargs),
    }
    scheduler = _scheduler(kwargs)
    if scheduler is not None:
        del document["pruner"]
        document["scheduler"] = scheduler
    if time_limit is not None:
        document["timeout"] = TIME_SHARE * float(time_limit)
    if defaults:
        document["initial_points"] = [defaults]
    try:
        config = from_mapping(document, source=None)
    except ConfigError as error:
        raise ConfigError(f"hyperparameter_tune_kwargs: {error}") from None
    return AutogluonPlan(
        config=dataclasses.replace(config, space=SearchSpace(params)),
        hyperparameters=dict(hyperparameters),
        searched=tuple(params),
        metric=f"val_{eval_metric}",
        mode=chosen_mode,
        num_to_keep=_count(kwargs.get("num_to_keep", DEFAULT_NUM_TO_KEEP), "num_to_keep", 1),
    )


def _checked_default(key: str, param: Param, default: object) -> Any:
    if not is_scalar(default) or not is_possible(param, default):  # type: ignore[arg-type]
        raise ConfigError(
            f"hyperparameters[{key!r}]: default {default!r} is not a value the space takes "
            f"({describe_values(param)}); give a default inside it"
        )
    if isinstance(param, Float) and isinstance(default, int) and not isinstance(default, bool):
        return float(default)  # only now: an int past a float's range is refused above
    return default


def _check_nesting(names: Sequence[str]) -> None:
    """A searched key that is a prefix of another (``a`` and ``a.b``) cannot both be set."""
    for name in names:
        for other in names:
            if other.startswith(name + "."):
                raise ConfigError(
                    f"hyperparameters: {name!r} and {other!r} are both searched, but one "
                    "nests inside the other; rename one of them"
                )


def _suggestion(word: str, options: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _tune_kwargs(value: object) -> dict[str, Any]:
    """A copy of ``hyperparameter_tune_kwargs``: a dict, or one of AutoGluon's preset names."""
    if value is None:
        return dict(PRESETS["auto"])
    if isinstance(value, str):
        if value not in PRESETS:
            raise ConfigError(
                f"hyperparameter_tune_kwargs {value!r} is not a preset; use one of "
                f"{', '.join(PRESETS)}{_suggestion(value, list(PRESETS))}, or a dict"
            )
        return dict(PRESETS[value])
    if not isinstance(value, Mapping):
        raise ConfigError(
            "hyperparameter_tune_kwargs must be a dict such as {'searcher': 'bayes', "
            f"'scheduler': 'ASHA', 'num_trials': 20}}, got {value!r}"
        )
    for key in value:
        if key not in TUNE_KEYS:
            raise ConfigError(
                f"hyperparameter_tune_kwargs: unknown key {key!r}"
                f"{_suggestion(str(key), TUNE_KEYS)}; it takes {', '.join(TUNE_KEYS)}"
            )
    resources = value.get("resources_per_trial")
    if resources is not None and not isinstance(resources, Mapping):
        raise ConfigError(
            "hyperparameter_tune_kwargs.resources_per_trial must be a dict such as "
            f"{{'num_cpus': 2, 'num_gpus': 1}}, got {resources!r}"
        )
    return dict(value)


def _count(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(
            f"hyperparameter_tune_kwargs.{key} must be an integer >= {minimum}, got {value!r}"
        )
    return value


def _init_args(kwargs: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = kwargs.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"hyperparameter_tune_kwargs.{key} must be a dict, got {value!r}")
    return dict(value)


def _searcher(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``sampler`` (and ``seed``) for the searcher: random → random, bayes → TPE."""
    name = kwargs.get("searcher", "random")
    if not isinstance(name, str) or name not in SEARCHER_ARGS:  # a list is unhashable
        shown = name if isinstance(name, str) else type(name).__name__
        raise ConfigError(
            f"hyperparameter_tune_kwargs.searcher must be 'random' or 'bayes', got {shown!r}"
            f"{_suggestion(str(shown), list(SEARCHER_ARGS))}"
        )
    allowed = SEARCHER_ARGS[name]
    settings: dict[str, Any] = {"n_startup_trials": BAYES_STARTUP} if name == "bayes" else {}
    seed = None
    for key, value in _init_args(kwargs, "searcher_init_args").items():
        if key not in allowed:
            raise ConfigError(
                f"hyperparameter_tune_kwargs.searcher_init_args: {name} takes no {key!r}"
                f"{_suggestion(str(key), list(allowed))}; it takes {', '.join(allowed)}"
            )
        target = allowed[key]
        number = _count(value, f"searcher_init_args.{key}", 0)
        if target == "seed":
            seed = number
        else:
            settings[target] = number
    sampler = {"name": "tpe", "kwargs": settings} if name == "bayes" else "random"
    return {"sampler": sampler} if seed is None else {"sampler": sampler, "seed": seed}


def _scheduler(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """``scheduler:`` for ASHA (Ray's ``AsyncHyperBandScheduler``), None for FIFO."""
    name = kwargs.get("scheduler", "FIFO")
    key = name.upper() if isinstance(name, str) else None
    if key not in ("FIFO", "ASHA"):
        shown = name if isinstance(name, str) else type(name).__name__
        raise ConfigError(
            f"hyperparameter_tune_kwargs.scheduler must be 'FIFO' or 'ASHA', got {shown!r}"
        )
    args = _init_args(kwargs, "scheduler_init_args")
    if key == "FIFO":
        if args:
            raise ConfigError(
                "hyperparameter_tune_kwargs.scheduler_init_args: FIFO takes no arguments, got "
                f"{sorted(args)}"
            )
        return None
    settings = dict(ASHA_DEFAULTS)
    for option, value in args.items():
        where = f"hyperparameter_tune_kwargs.scheduler_init_args.{option}"
        if option == "time_attr":
            if value != "training_iteration":
                raise ConfigError(
                    f"{where} must be training_iteration (the step of hpsweep.report), got "
                    f"{value!r}"
                )
        elif option == "brackets":
            if value != 1:
                raise ConfigError(f"{where}: hpsweep's ASHA has one bracket, got {value!r}")
        elif option in ASHA_DEFAULTS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where} must be an integer >= 1, got {value!r}")
            settings[option] = value
        else:
            known = (*ASHA_DEFAULTS, "time_attr", "brackets")
            raise ConfigError(
                f"hyperparameter_tune_kwargs.scheduler_init_args: ASHA takes no {option!r}"
                f"{_suggestion(str(option), known)}; it takes {', '.join(known)}"
            )
    if settings["reduction_factor"] < 2:
        raise ConfigError(
            "hyperparameter_tune_kwargs.scheduler_init_args.reduction_factor must be >= 2, got "
            f"{settings['reduction_factor']}"
        )
    return {"name": "asha", **settings}


def sampled_values(params: Mapping[str, Any], searched: Sequence[str]) -> dict[str, Any]:
    """The searched keys' values, read from hpsweep's nested trial params (``optim.lr`` is
    ``params["optim"]["lr"]``)."""
    values: dict[str, Any] = {}
    for key in searched:
        node: Any = params
        for part in key.split("."):
            node = node[part]
        values[key] = node
    return values


def flat_config(sampled: Mapping[str, Any], hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """The trial's flat dotted-key config: ``hyperparameters`` in their order, each searched key
    bound to its ``sampled`` value."""
    return {
        key: sampled[key] if key in sampled else value.value if isinstance(value, Fixed) else value
        for key, value in hyperparameters.items()
    }


def finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
