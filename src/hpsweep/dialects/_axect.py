"""Axect/pytorch_template's ``OptimizeConfig`` YAML (``configs/optimize_template.yaml``), as a
:class:`~hpsweep._config.SweepConfig`.

The file has exactly the keys ``study_name, trials, seed, metric, direction, sampler{name, kwargs},
pruner{name, kwargs}, search_space``; ``search_space`` nests ``category: {param: {type: int|float|
categorical, min, max, step, log, choices}}`` and each param is searched under the name
``f"{category}_{param}"``, as the template names it in Optuna. ``pruner.PFLPruner`` becomes
hpsweep's ``pfl`` pruner. What maps how, and what differs from the template, is in
docs/coming-from-optuna-template.md. No optuna here.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsweep import _yaml
from hpsweep._config import SweepConfig
from hpsweep._config import _check_size
from hpsweep._config import _from_environ
from hpsweep._config import _scalar
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
    "AxectPlan",
    "OptimizeSpec",
    "axect_plan",
    "check_optimize_config",
    "is_axect_file",
    "nest_params",
    "read_optimize_file",
]

KEYS = ("study_name", "trials", "seed", "metric", "direction", "sampler", "pruner", "search_space")
REQUIRED = ("study_name", "trials", "seed", "metric", "direction")
_EXAMPLES = {
    "study_name": "study_name: Optimize_Template",
    "trials": "trials: 20",
    "seed": "seed: 42",
    "metric": "metric: val_loss",
    "direction": "direction: minimize",
}
_PARAM_KEYS = {
    "int": ("type", "min", "max", "step", "log"),
    "float": ("type", "min", "max", "step", "log"),
    "categorical": ("type", "choices"),
}
_PARAM_EXAMPLES = {
    "int": "{type: int, min: 3, max: 5}",
    "float": "{type: float, min: 1.e-3, max: 1.e-2, log: true}",
    "categorical": "{type: categorical, choices: [32, 64, 128]}",
}
DEFAULT_SAMPLER = "optuna.samplers.TPESampler"
"""What ``optuna.create_study`` uses when the file names no sampler."""
PFL_KWARGS = (
    "n_startup_trials",
    "n_warmup_epochs",
    "top_k",
    "target_epoch",
    "variant",
    "seed_stride",
)
PFL_VARIANTS = ("raw", "head", "log10", "v2025")
"""hpsweep.engine._pfl.VARIANTS (that module imports optuna, so the names are repeated here)."""
EXTRA_SETS = ("project", "run_config")
"""``--set`` keys of the command line that are not keys of the file (see :func:`axect_plan`)."""


@dataclass(frozen=True)
class AxectParam:
    """One searched param: its Optuna name ``category_param`` and where it nests."""

    name: str
    category: str
    param: str
    kind: str
    """int, float or categorical: the ``type`` the file gives it."""


@dataclass(frozen=True)
class OptimizeSpec:
    """A checked optimize config, in hpsweep's terms."""

    study_name: str
    trials: int
    seed: int | None
    metric: str
    direction: str
    sampler: str
    sampler_kwargs: Mapping[str, Any]
    pruner: str | None
    """hpsweep's pruner name (``pfl``, a dotted path, ...); None when the file names none."""
    pruner_kwargs: Mapping[str, Any]
    space: SearchSpace
    params: tuple[AxectParam, ...]
    notes: tuple[str, ...] = ()


def _class_name(dotted: str) -> str:
    return dotted.rpartition(".")[2]


def _suggestion(word: str, options: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _fail(source: str | None, message: str) -> ConfigError:
    return ConfigError(f"{source}: {message}" if source else message)


# ----------------------------------------------------------------------------- detection


def is_axect_document(document: object) -> bool:
    """Whether a loaded YAML document is an optimize config: it has ``study_name`` or
    ``search_space``, which hpsweep's own format never uses (it says ``study`` and ``space``)."""
    return isinstance(document, dict) and ("study_name" in document or "search_space" in document)


def is_axect_file(path: str | Path) -> bool:
    """Whether ``hpsweep run PATH`` should read PATH as an optimize config. A file that cannot
    be read is not one: ``load_config`` then reports why."""
    try:
        return is_axect_document(_yaml.load_file(path))
    except (ConfigError, RecursionError):
        return False


# ----------------------------------------------------------------------------- checking


def read_optimize_file(path: str | Path) -> dict[str, Any]:
    """The mapping of an optimize config file, checked (duplicate keys, unknown keys, types).
    Raises :class:`ConfigError` naming the file, the key and the fix."""
    document = _load_mapping(path, "an optimize config such as study_name: Optimize_Template")
    check_optimize_config(document, source=str(path))
    return document


def _load_mapping(path: str | Path, example: str) -> dict[str, Any]:
    try:
        document = _yaml.load_file(path)
    except RecursionError:
        raise ConfigError(f"{path}: the YAML nests too deeply; flatten it") from None
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping ({example}), got {type(document).__name__}"
        )
    _check_size(document, str(path))
    return document


def check_optimize_config(document: Mapping[str, Any], *, source: str | None) -> OptimizeSpec:
    """Check an optimize config mapping and describe it in hpsweep's terms.

    Raises :class:`ConfigError` (one line: ``source: key: problem; fix``) for a missing,
    unknown or mistyped key, an unknown param type, a grid over a non-categorical param, or two
    params that share an Optuna name."""
    for key in document:
        if key not in KEYS:
            raise _fail(
                source,
                f"unknown key {key!r}{_suggestion(str(key), KEYS)} (an optimize config takes "
                f"{', '.join(KEYS)})",
            )
    for key in REQUIRED:
        if key not in document:
            raise _fail(source, f"missing key {key!r}; add it, e.g. {_EXAMPLES[key]}")
    study_name = document["study_name"]
    if not isinstance(study_name, (str, int)) or isinstance(study_name, bool) or study_name == "":
        raise _fail(source, f"study_name must be a non-empty string, got {study_name!r}")
    trials = _whole(document["trials"], "trials", 1, source)
    seed = None if document["seed"] is None else _whole(document["seed"], "seed", 0, source)
    metric = document["metric"]
    if not isinstance(metric, str) or not metric:
        raise _fail(source, f"metric must be a name such as val_loss, got {metric!r}")
    direction = document["direction"]
    if direction not in ("minimize", "maximize"):
        raise _fail(
            source,
            f"direction must be minimize or maximize, got {direction!r}"
            f"{_suggestion(str(direction), ('minimize', 'maximize'))}",
        )
    sampler, sampler_kwargs = _algorithm(document.get("sampler"), "sampler", source)
    pruner, pruner_kwargs = _algorithm(document.get("pruner"), "pruner", source)
    params, space = _search_space(document.get("search_space"), source)
    sampler = sampler or DEFAULT_SAMPLER
    if _class_name(sampler) == "GridSampler":
        _check_grid(params, sampler_kwargs, source)
    notes: list[str] = []
    if pruner is not None and _class_name(pruner) == "PFLPruner":
        pruner, pruner_kwargs = "pfl", _pfl_kwargs(pruner_kwargs, source)
        if "variant" not in pruner_kwargs and any(p.param == "infimum_lr" for p in params):
            notes.append(
                f"{source or 'the config'}: search_space names infimum_lr as the v2025 template "
                "did; PFL uses HEAD's raw-loss semantics unless pruner.kwargs.variant is log10"
            )
    return OptimizeSpec(
        study_name=str(study_name),
        trials=trials,
        seed=seed,
        metric=metric,
        direction=direction,
        sampler=sampler,
        sampler_kwargs=sampler_kwargs,
        pruner=pruner,
        pruner_kwargs=pruner_kwargs,
        space=space,
        params=params,
        notes=tuple(notes),
    )


def _whole(value: Any, key: str, minimum: int, source: str | None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(source, f"{key} must be a whole number >= {minimum}, got {value!r}")
    return value


def _algorithm(value: Any, key: str, source: str | None) -> tuple[str | None, dict[str, Any]]:
    """``{name: dotted.Path, kwargs: {...}}``; an empty mapping (or none) names nothing."""
    example = (
        "{name: optuna.samplers.TPESampler, kwargs: {n_startup_trials: 10}}"
        if key == "sampler"
        else "{name: pruner.PFLPruner, kwargs: {n_startup_trials: 10}}"
    )
    if value is None or value == {}:
        return None, {}
    if not isinstance(value, Mapping):
        raise _fail(source, f"{key} must be a mapping such as {example}, got {value!r}")
    for item in value:
        if item not in ("name", "kwargs"):
            raise _fail(
                source,
                f"{key}: unknown key {item!r}{_suggestion(str(item), ('name', 'kwargs'))}; "
                f"{key} takes name and kwargs",
            )
    name = value.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(source, f"{key}.name must name a class, e.g. {key}: {example}, got {name!r}")
    kwargs = value.get("kwargs")
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping):
        raise _fail(source, f"{key}.kwargs must be a mapping of arguments, got {kwargs!r}")
    for argument in kwargs:
        if not isinstance(argument, str):
            raise _fail(source, f"{key}.kwargs: argument names must be strings, got {argument!r}")
    return name, dict(kwargs)


def _pfl_kwargs(kwargs: Mapping[str, Any], source: str | None) -> dict[str, Any]:
    for key, value in kwargs.items():
        where = f"pruner.kwargs.{_shown(key)}"
        if key not in PFL_KWARGS:
            raise _fail(
                source,
                f"{where}: PFLPruner takes no {key!r}{_suggestion(key, PFL_KWARGS)}; it takes "
                f"{', '.join(PFL_KWARGS)}",
            )
        if key == "variant":
            if value not in PFL_VARIANTS:
                raise _fail(
                    source,
                    f"{where} must be raw (HEAD: raw-loss prediction) or log10 (v2025: -log10 "
                    f"prediction), got {value!r}",
                )
        else:
            minimum = 1 if key == "top_k" else 0
            _whole(value, where, minimum, source)
    return dict(kwargs)


def _search_space(value: Any, source: str | None) -> tuple[tuple[AxectParam, ...], SearchSpace]:
    example = "search_space: {net_config: {nodes: {type: categorical, choices: [32, 64]}}}"
    if value is None or value == {}:
        raise _fail(source, f"search_space is empty; add the params to search, e.g. {example}")
    if not isinstance(value, Mapping):
        raise _fail(source, f"search_space must map categories to params, e.g. {example}")
    params: list[AxectParam] = []
    built: dict[str, Param] = {}
    for category, entries in value.items():
        where = f"search_space.{category}"
        _check_name(category, "search_space", source)
        if not isinstance(entries, Mapping) or not entries:
            raise _fail(
                source,
                f"{where} must map param names to definitions, e.g. {category}: {{lr: "
                f"{_PARAM_EXAMPLES['float']}}}, got {entries!r}",
            )
        for param, definition in entries.items():
            _check_name(param, where, source)
            name = f"{category}_{param}"
            if name in built:
                first = next(p for p in params if p.name == name)
                raise _fail(
                    source,
                    f"{where}.{param} and search_space.{first.category}.{first.param} are both "
                    f"searched as {name!r}; rename one of them",
                )
            kind, built[name] = _param(definition, f"{where}.{param}", source)
            params.append(AxectParam(name, str(category), str(param), kind))
    return tuple(params), SearchSpace(built)


def _check_name(name: Any, where: str, source: str | None) -> None:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise _fail(
            source,
            f"{where}: {name!r} cannot name a param; use letters, digits and '_' (quote it if "
            "YAML reads it as a number or a boolean)",
        )


def _param(definition: Any, where: str, source: str | None) -> tuple[str, Param]:
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
            f"{where}.type is {shown}; it must be int, float or categorical"
            f"{_suggestion(str(kind), tuple(_PARAM_KEYS))}",
        )
    for key in definition:
        if key not in _PARAM_KEYS[kind]:
            raise _fail(
                source,
                f"{where}: unknown key {key!r} for type {kind}"
                f"{_suggestion(str(key), _PARAM_KEYS[kind])}; it takes "
                f"{', '.join(_PARAM_KEYS[kind])}",
            )
    try:
        if kind == "categorical":
            return kind, _categorical(definition, where, source)
        for key in ("min", "max"):
            if key not in definition:
                raise _fail(
                    source,
                    f"{where} needs {key}, e.g. {where.rpartition('.')[2]}: "
                    f"{_PARAM_EXAMPLES[kind]}",
                )
        # Int checks that its bounds are whole (4.0 is, 4.5 is not): Any, not int.
        low: Any = _number(definition["min"], f"{where}.min", source)
        high: Any = _number(definition["max"], f"{where}.max", source)
        log = definition.get("log", False)
        if log is None:
            log = False
        if not isinstance(log, bool):
            raise _fail(source, f"{where}.log must be true or false, got {log!r}")
        step = definition.get("step")
        if kind == "int":
            return kind, Int(low, high, step=1 if step is None else step, log=log)
        return kind, Float(
            low,
            high,
            log=log,
            step=None if step is None else _number(step, f"{where}.step", source),
        )
    except SpaceError as error:
        raise _fail(source, f"{where}: {error}") from None


def _categorical(definition: Mapping[str, Any], where: str, source: str | None) -> Choice:
    choices = definition.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _fail(
            source,
            f"{where}.choices must be a non-empty list such as [32, 64, 128], got {choices!r}",
        )
    for item in choices:
        if not is_scalar(item):
            raise _fail(
                source,
                f"{where}.choices: {item!r} is not a number, string, boolean or null; write it "
                "as a string and convert it in the trial",
            )
    return Choice(choices)


def _number(value: Any, where: str, source: str | None) -> int | float:
    """A YAML number; ``1e-3``, which PyYAML (YAML 1.1) reads as a string, is read as 0.001."""
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


def _check_grid(
    params: Sequence[AxectParam], kwargs: Mapping[str, Any], source: str | None
) -> None:
    """The template grids only categorical params (``grid_search_space``)."""
    for param in params:
        if param.kind != "categorical":
            raise _fail(
                source,
                f"search_space.{param.category}.{param.param}: Unsupported grid search space "
                f"type: {param.kind}; GridSampler grids only categorical params, so give it "
                "type: categorical with choices, or use another sampler",
            )
    if "search_space" in kwargs:
        raise _fail(
            source,
            "sampler.kwargs.search_space is built from search_space's choices; remove it",
        )


# ----------------------------------------------------------------------------- trial params


def nest_params(
    params: Mapping[str, Any], spec: OptimizeSpec, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``{category: {param: value}}`` from the flat ``category_param`` values in ``params``,
    deep-merged into a copy of ``base`` (a run config): what the template's ``suggest_params``
    returns and its objective merges into the run config."""
    merged = _deep_copy(dict(base or {}))
    for param in spec.params:
        if param.name in params:
            node = merged.get(param.category)
            if not isinstance(node, dict):
                node = merged[param.category] = {}
            node[param.param] = params[param.name]
    return merged


def _deep_copy(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in mapping.items()}


# ----------------------------------------------------------------------------- the study


@dataclass(frozen=True)
class AxectPlan:
    """What ``hpsweep run optimize_template.yaml`` runs."""

    config: SweepConfig
    """The study; its ``n_trials`` is None unless ``-n`` gave a study total (else the run adds
    ``spec.trials`` trials)."""
    spec: OptimizeSpec
    project: str | None
    run_config: Mapping[str, Any] | None


def sweep_document(
    spec: OptimizeSpec, *, project: str | None, run_config: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The native config mapping of ``spec``: the study ``study_name`` in
    ``sqlite:///{project}_Opt.db`` when ``project`` is known (else hpsweep's default store), the
    run config as fixed params with ``project`` set to ``{project}_Opt`` as the template's
    objective sets it."""
    document: dict[str, Any] = {
        "study": spec.study_name,
        "direction": spec.direction,
        "metric": spec.metric,
        "sampler": {"name": spec.sampler, "kwargs": dict(spec.sampler_kwargs)},
        "pruner": {"name": spec.pruner or "none", "kwargs": dict(spec.pruner_kwargs)},
    }
    if spec.seed is not None and "seed" not in spec.sampler_kwargs:
        document["seed"] = spec.seed
    if project is not None:
        document["storage"] = f"sqlite:///{project}_Opt.db"
    if run_config is not None:
        params = _deep_copy(run_config)
        if project is not None:
            params["project"] = f"{project}_Opt"
        document["params"] = params
    return document


def axect_plan(
    path: str | Path,
    *,
    sets: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
    cli_space: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> AxectPlan:
    """The study ``hpsweep run PATH`` runs for an optimize config.

    ``--set`` takes the file's keys (``trials=5``, ``pruner.kwargs.variant=log10``,
    ``search_space.net_config.layers.max=6``) and two of the command line's own:
    ``project=NAME`` (the run config's project: the store is ``sqlite:///NAME_Opt.db``) and
    ``run_config=PATH`` (the run config YAML: its ``project``, and the fixed values every trial
    gets, merged with the trial's params). ``HPSWEEP_*`` variables and ``flags`` (the command
    line's, keyed as in hpsweep's YAML) override what the file implies, as for any config."""
    source = str(path)
    document = _load_mapping(path, "an optimize config such as study_name: Optimize_Template")
    extras: dict[str, Any] = {}
    for item in sets:
        _apply_set(document, extras, item, source)
    spec = check_optimize_config(document, source=source)
    run_config: dict[str, Any] | None = None
    if extras.get("run_config") is not None:
        run_path = Path(str(extras["run_config"]))
        run_config = _load_mapping(run_path, "a run config such as project: MyProject")
    project = extras.get("project")
    if project is None and run_config is not None and run_config.get("project") is not None:
        project = run_config["project"]
    if project is not None:
        if isinstance(project, (dict, list)) or str(project) == "":
            raise ConfigError(f"--set project: a project name is needed, got {project!r}")
        project = str(project)
    native = sweep_document(spec, project=project, run_config=run_config)
    native.update(_from_environ(os.environ if environ is None else environ))
    native.update({k: v for k, v in (flags or {}).items() if v is not None})
    config = from_mapping(native, source=source)
    space = spec.space
    if cli_space:
        space = space.merged(SearchSpace.from_cli(list(cli_space)))
    config = dataclasses.replace(config, space=space)
    if config.objective is not None and config.executor in ("process", "ray"):
        raise ConfigError(
            f"{source}: an optimize config runs Python objectives in this process, so that they "
            f"get the nested run config; drop --executor {config.executor}, or run a command "
            "after -- instead"
        )
    return AxectPlan(config, spec, project, run_config)


def _apply_set(document: dict[str, Any], extras: dict[str, Any], item: str, source: str) -> None:
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set project=MyProject")
    value = _scalar(text)
    parts = key.split(".")
    if key in EXTRA_SETS:
        extras[key] = value
        return
    if parts[0] not in KEYS:
        known = (*KEYS, *EXTRA_SETS)
        raise ConfigError(
            f"--set {_shown(key)}: {source} has no key {parts[0]!r}"
            f"{_suggestion(parts[0], known)} (give one of {', '.join(known)})"
        )
    target = document
    for depth, part in enumerate(parts[:-1]):
        child = target.get(part)
        if child is None and part in ("sampler", "pruner", "kwargs"):
            child = target[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(
                f"--set {_shown(key)}: {where!r} is not a mapping in {source}, so it has no key "
                f"{parts[depth + 1]!r}"
            )
        target = child
    target[parts[-1]] = value
