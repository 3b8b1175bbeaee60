"""The sweep configuration and where its values come from.

Precedence, lowest first: defaults < YAML file < ``HPSWEEP_*`` environment < command line
(``--set``, then flags).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Hashable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Literal
from typing import Protocol

from hpsweep import _yaml
from hpsweep._constraints import parse_constraint
from hpsweep._constraints import parse_constraints
from hpsweep._errors import ConfigError
from hpsweep._yaml import KeyPath
from hpsweep.space import SearchSpace
from hpsweep.space._mapping import space_from_mapping

Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Algorithm:
    """A sampler or pruner: a short name or dotted path, and its keyword arguments."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def to_mapping(self) -> dict[str, Any]:
        return {"name": self.name, "kwargs": dict(self.kwargs)}


@dataclass(frozen=True)
class SweepConfig:
    """Everything that defines a study and how it runs."""

    study: str = "default"
    storage: str | None = None
    directions: tuple[Direction, ...] = ("minimize",)
    metrics: tuple[str, ...] = ()
    n_trials: int | None = None
    jobs: int | None = None
    """Trials at a time; None means one per GPU slot when ``gpus`` is set, else 1."""
    gpus: tuple[str, ...] | Literal["auto"] | None = None
    per_gpu: int = 1
    gpus_per_trial: int = 1
    sampler: Algorithm = Algorithm("auto")
    pruner: Algorithm = Algorithm("median")
    seed: int | None = None
    space: SearchSpace = field(default_factory=lambda: SearchSpace({}))
    params: Mapping[str, Any] = field(default_factory=dict)
    objective: str | None = None
    command: tuple[str, ...] | None = None
    shell: bool = False
    timeout: float | None = None
    trial_timeout: float | None = None
    max_failures: int | None = None
    retries: int = 0
    grace: float = 10.0
    target: float | None = None
    run_dir: str = "hpsweep-runs"
    trial_cwd: Literal["start", "trial"] = "start"
    executor: Literal["auto", "thread", "process", "ray"] = "auto"
    heartbeat_expiry: float = 60.0
    ray_address: str | None = None
    """``executor: ray``: the cluster to join (``auto``, ``HOST:PORT``); None: a local Ray."""
    resources_per_trial: Mapping[str, float] = field(default_factory=dict)
    """``executor: ray``: what each trial reserves: ``cpu``, ``gpu`` (fractions allowed), and
    custom Ray resources by name. Empty means one CPU."""
    initial_points: tuple[Mapping[str, Any], ...] = ()
    """Params to run first, once per study (Ray Tune's ``points_to_evaluate``)."""
    constraints: tuple[str, ...] = ()
    """``"acc >= 0.9"``-style constraints over the metrics a trial returns."""
    source: str | None = None

    @property
    def multi_objective(self) -> bool:
        return len(self.directions) > 1

    def to_mapping(self) -> dict[str, Any]:
        """The YAML form; ``load_config`` of it gives back an equal config."""
        out: dict[str, Any] = {"study": self.study}
        if self.storage is not None:
            out["storage"] = self.storage
        if self.multi_objective:
            out["directions"] = list(self.directions)
        else:
            out["direction"] = self.directions[0]
        if len(self.metrics) == 1:
            out["metric"] = self.metrics[0]
        elif self.metrics:
            out["metrics"] = list(self.metrics)
        for key in (
            "n_trials",
            "jobs",
            "seed",
            "objective",
            "timeout",
            "trial_timeout",
            "max_failures",
            "retries",
            "grace",
            "target",
            "run_dir",
            "trial_cwd",
            "executor",
            "heartbeat_expiry",
            "ray_address",
            "shell",
        ):
            value = getattr(self, key)
            if value is not None and value != _DEFAULTS[key]:
                out[key] = value
        if self.command is not None:
            out["command"] = list(self.command)
        if self.resources_per_trial:
            out["resources_per_trial"] = dict(self.resources_per_trial)
        out["sampler"] = self.sampler.to_mapping()
        out["pruner"] = self.pruner.to_mapping()
        if self.initial_points:
            out["initial_points"] = [dict(point) for point in self.initial_points]
        if self.constraints:
            out["constraints"] = list(self.constraints)
        if self.params:
            out["params"] = dict(self.params)
        out["space"] = self.space.to_mapping()
        return out


_DEFAULTS = {
    f.name: (f.default if f.default is not dataclasses.MISSING else None)
    for f in dataclasses.fields(SweepConfig)
}
KEYS = (
    "study",
    "storage",
    "direction",
    "directions",
    "metric",
    "metrics",
    "n_trials",
    "jobs",
    "gpus",
    "per_gpu",
    "gpus_per_trial",
    "sampler",
    "pruner",
    "seed",
    "space",
    "params",
    "objective",
    "command",
    "shell",
    "timeout",
    "trial_timeout",
    "max_failures",
    "retries",
    "grace",
    "target",
    "run_dir",
    "trial_cwd",
    "executor",
    "heartbeat_expiry",
    "ray_address",
    "resources_per_trial",
    "scheduler",
    "initial_points",
    "constraints",
)
ENV_KEYS = (
    "study",
    "storage",
    "direction",
    "metric",
    "n_trials",
    "jobs",
    "gpus",
    "per_gpu",
    "gpus_per_trial",
    "sampler",
    "pruner",
    "seed",
    "objective",
    "shell",
    "timeout",
    "trial_timeout",
    "max_failures",
    "retries",
    "grace",
    "target",
    "run_dir",
    "trial_cwd",
    "executor",
    "heartbeat_expiry",
    "ray_address",
)
"""The settings ``HPSWEEP_<KEY>`` sets. Not the lists and mappings (command, space, params,
constraints, ...): those belong in the YAML file."""
_NAME_SETTINGS = frozenset(
    {
        "study",
        "storage",
        "direction",
        "metric",
        "sampler",
        "pruner",
        "objective",
        "run_dir",
        "trial_cwd",
        "executor",
        "ray_address",
    }
)
"""Settings that hold a name, taken as written (from the environment or ``--set``) rather than
typed as YAML: ``HPSWEEP_STUDY=1.10`` is the study ``1.10``, not 1.1, and ``--set pruner=none``
(or ``pruner.name=none``) the pruner ``none``, not a missing value that means the default."""
_ALIASES = {
    "direction": "directions",
    "directions": "direction",
    "metric": "metrics",
    "metrics": "metric",
    "pruner": "scheduler",
    "scheduler": "pruner",
}
"""Keys that spell the same setting: a layer that sets one replaces the other one of a lower
layer, so that HPSWEEP_DIRECTION overrides a file's ``directions`` instead of clashing with it."""


def load_config(
    path: str | Path | None = None,
    *,
    sets: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
    cli_space: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> SweepConfig:
    """Build the config from a YAML file, ``--set`` overrides, ``HPSWEEP_*`` variables and
    command-line ``flags`` (keys as in the YAML; None values are ignored)."""
    document: dict[str, Any] = {}
    source = str(path) if path is not None else None
    lines = _yaml.KeyLines({})
    if path is not None:
        try:
            loaded, lines = _yaml.load_file_with_lines(path)
        except RecursionError:
            raise ConfigError(f"{path}: the YAML nests too deeply; flatten it") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(
                f"{path}: the top level must be a mapping of keys, got {type(loaded).__name__}"
            )
        document = dict(loaded or {})
    # --set edits the file's values in place (params and space too), but it is part of the
    # command line, so the environment does not override the settings it names.
    changed = [apply_set(document, item) for item in sets]
    for key_path in changed:
        lines.replace(key_path)  # an error about such a value must not point into the file
    named = {key_path[0] for key_path in changed}
    named |= {_ALIASES[key] for key in named if key in _ALIASES}
    environment = _from_environ(os.environ if environ is None else environ)
    _overlay(document, {k: v for k, v in environment.items() if k not in named}, lines)
    _overlay(document, {k: v for k, v in (flags or {}).items() if v is not None}, lines)
    if "study" not in document:
        document["study"] = Path(path).stem if path is not None else "default"
    _check_size(document, source)
    config = from_mapping(document, source=source, lines=lines)
    if cli_space:
        extra = SearchSpace.from_cli(list(cli_space))  # its errors quote the -p spec
        config = dataclasses.replace(config, space=config.space.merged(extra))
    return config


def _overlay(document: dict[str, Any], layer: Mapping[str, Any], lines: _yaml.KeyLines) -> None:
    """Put a higher layer's settings over ``document``'s, each replacing its alias too (and
    its line in the file: the value is no longer the file's)."""
    for key, value in layer.items():
        if key in _ALIASES:
            document.pop(_ALIASES[key], None)
        document[key] = value
        lines.replace((key,))


def apply_set(document: dict[str, Any], item: str) -> tuple[str, ...]:
    """Apply one ``--set a.b=c``: a config key, a key under ``params``, or a space param (which
    becomes fixed). The value is typed as YAML types it. Returns the key path it changed in
    ``document`` (``("params", "epochs")`` for ``--set epochs=3``)."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set params.epochs=3")
    value = _scalar(text)
    parts = key.split(".")
    if parts[0] in KEYS:
        target = document
        value = _setting_value(key, text)
    elif isinstance(document.get("params"), dict) and parts[0] in document["params"]:
        target = document["params"]
    elif isinstance(document.get("space"), dict) and key in document["space"]:
        space = {**document["space"], key: {"type": "fixed", "value": value}}
        document["space"] = _without_unreachable(space, key, value)
        return ("space", key)
    else:
        params = document.get("params")
        known = list(KEYS) + (list(params) if isinstance(params, dict) else [])
        raise ConfigError(
            f"--set {_shown(key)}: unknown key {parts[0]!r}{_suggest(parts[0], known)}"
        )
    for depth, part in enumerate(parts[:-1]):
        child = target.get(part)
        if child is None and target is document and part in ("params", "sampler", "pruner"):
            child = target[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(
                f"--set {_shown(key)}: {where!r} is not a mapping, so it has no key "
                f"{parts[depth + 1]!r}"
            )
        target = child
    target[parts[-1]] = value
    return tuple(parts) if parts[0] in KEYS else ("params", *parts)


def _without_unreachable(space: dict[str, Any], fixed: str, value: Any) -> dict[str, Any]:
    """Fixing a param (``--set optimizer=adam``) drops the params whose ``when`` can no longer
    hold (``momentum`` under ``when: {optimizer: sgd}``), and those that depend on them."""
    gone = {fixed: value}
    kept: dict[str, Any] = {}
    for name, definition in space.items():
        when = definition.get("when") if isinstance(definition, dict) else None
        unreachable = isinstance(when, dict) and any(
            other in gone
            and (other != fixed or value not in (need if isinstance(need, list) else [need]))
            for other, need in when.items()
        )
        if unreachable:
            gone[name] = None
        else:
            kept[name] = definition
    return kept


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings of the ``HPSWEEP_*`` variables that are set and not empty, each checked."""
    if "HPSWEEP_TRIAL_ID" in environ:
        return {}  # inside a trial these variables describe the trial, not a new sweep
    settings: dict[str, Any] = {}
    for key in ENV_KEYS:
        name = f"HPSWEEP_{key.upper()}"
        text = environ.get(name, "")
        if not text:
            continue  # `HPSWEEP_SEED= hpsweep run ...` unsets a variable for one command
        value = _env_value(key, text)
        try:  # alone, so that a bad value's error names the variable it came from
            from_mapping({key: value})
        except ConfigError as error:
            raise ConfigError(f"environment variable {name}: {error}") from None
        settings[key] = value
    return settings


def _env_value(key: str, text: str) -> Any:
    if key == "shell" and text in ("0", "1"):
        return text == "1"  # as HPSWEEP_DEBUG=1
    return _setting_value(key, text)


def _setting_value(key: str, text: str) -> Any:
    """A config setting's value from command-line or environment text: YAML-typed, except that
    a name is taken as written (see :data:`_NAME_SETTINGS`)."""
    value = _scalar(text)
    if key in ("sampler", "pruner", "scheduler") and isinstance(value, dict):
        return value  # HPSWEEP_SAMPLER='{name: tpe, kwargs: {n_startup_trials: 5}}'
    if key in _NAME_SETTINGS or key in ("sampler.name", "pruner.name", "scheduler.name"):
        return text.strip()
    return value


def _shown(key: str) -> str:
    """A key as typed when it prints on one line, else quoted with escapes."""
    return key if key.isprintable() else repr(key)


def _scalar(text: str) -> Any:
    """``_yaml.scalar``; text nested too deeply for the YAML parser stays a string."""
    try:
        return _yaml.scalar(text)
    except RecursionError:
        return text


MAX_VALUES = 100_000
"""The most values a config may expand to: a few YAML aliases can otherwise stand for billions."""


def _check_size(document: Any, source: str | None) -> None:
    """Refuse a config whose YAML aliases (``*name``) repeat other aliases until it stands for
    more than MAX_VALUES values, before anything walks or prints it (a "billion laughs" file)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(document, False)]
    while stack:
        value, children_done = stack.pop()
        if not isinstance(value, (dict, list)) or id(value) in sizes:
            continue
        children = list(value.values()) if isinstance(value, dict) else value
        if not children_done:
            stack.append((value, True))
            stack.extend((child, False) for child in children)
            continue
        size = 1 + sum(sizes.get(id(child), 1) for child in children)
        if size > MAX_VALUES:
            prefix = f"{source}: " if source else ""
            raise ConfigError(
                f"{prefix}the config stands for more than {MAX_VALUES} values (YAML aliases "
                "that repeat other aliases); write the values out instead"
            )
        sizes[id(value)] = size


def _suggest(name: str, candidates: Sequence[str]) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


class _Fail(Protocol):
    """Makes the error for a message about the value at the key ``path``: the message starts
    with the config's source and, when it was read from a YAML file, that key's line."""

    def __call__(self, message: str, *path: Hashable) -> ConfigError: ...


def _dotted(path: KeyPath) -> str:
    """A key path as messages name it: ``scheduler.max_t``."""
    return ".".join(map(str, path))


def from_mapping(
    document: Mapping[str, Any],
    *,
    source: str | None = None,
    lines: _yaml.KeyLines | None = None,
) -> SweepConfig:
    """Validate a config mapping (the YAML form) into a :class:`SweepConfig`. Messages start
    with ``source: ``, and with the line of the key they are about when ``lines`` (those of the
    YAML file ``source``) has it: ``sweep.yaml: line 3: n_trials must be ...``."""
    lead = f"{source}: " if source else ""

    def place(path: KeyPath) -> str:
        line = lines.line(path) if lines is not None else None
        return lead if line is None else f"{lead}line {line}: "

    def fail(message: str, *path: Hashable) -> ConfigError:
        return ConfigError(place(path) + message)

    for key in document:
        if key not in KEYS:
            raise fail(f"unknown key {key!r}{_suggest(str(key), KEYS)}", key)
    values: dict[str, Any] = {"source": source}
    values["study"] = _string(document.get("study", "default"), ("study",), fail)
    if not values["study"]:
        raise fail("study must not be empty", "study")
    if document.get("storage") is not None:
        values["storage"] = _string(document["storage"], ("storage",), fail)
    values["directions"] = _directions(document, fail)
    values["metrics"] = _metrics(document, len(values["directions"]), fail)
    if document.get("gpus") is not None:
        values["gpus"] = _gpus(document["gpus"], fail)
    for key, minimum in (
        ("n_trials", 1),
        ("jobs", 1),
        ("retries", 0),
        ("max_failures", 1),
        ("per_gpu", 1),
        ("gpus_per_trial", 1),
    ):
        if document.get(key) is not None:
            values[key] = _integer(document[key], (key,), minimum, fail)
    if document.get("seed") is not None:
        values["seed"] = _integer(document["seed"], ("seed",), 0, fail)
    for key in ("timeout", "trial_timeout", "grace", "heartbeat_expiry"):
        if document.get(key) is not None:
            values[key] = _positive(document[key], (key,), fail)
    if document.get("target") is not None:
        values["target"] = _number(document["target"], ("target",), fail)
    for key in ("sampler", "pruner"):
        if document.get(key) is not None:
            values[key] = _algorithm(document[key], key, fail)
    if document.get("scheduler") is not None:
        if document.get("pruner") is not None:
            raise fail("give pruner or scheduler (Ray Tune's word for it), not both", "scheduler")
        values["pruner"] = _scheduler(document["scheduler"], fail)
    if document.get("initial_points") is not None:
        values["initial_points"] = _initial_points(document["initial_points"], fail)
    if document.get("constraints") is not None:
        values["constraints"] = _constraints(document["constraints"], fail)
    if document.get("params") is not None:
        if not isinstance(document["params"], Mapping):
            raise fail(
                f"params must be a mapping of fixed values, got {document['params']!r}", "params"
            )
        values["params"] = dict(document["params"])
    if document.get("space") is not None:
        if not isinstance(document["space"], Mapping):
            raise fail("space must be a mapping of param name to definition", "space")
        values["space"] = space_from_mapping(
            dict(document["space"]), place=lambda path: place(("space", *path))
        )
    if document.get("objective") is not None:
        values["objective"] = _objective(document["objective"], fail)
    if document.get("shell") is not None:
        values["shell"] = _boolean(document["shell"], ("shell",), fail)
    if document.get("command") is not None:
        values["command"] = _command(document["command"], values.get("shell", False), fail)
    if values.get("objective") and values.get("command"):
        raise fail("give either objective (a Python function) or command, not both", "command")
    if document.get("run_dir") is not None:
        values["run_dir"] = _string(document["run_dir"], ("run_dir",), fail)
    if document.get("ray_address") is not None:
        values["ray_address"] = _string(document["ray_address"], ("ray_address",), fail)
    if document.get("resources_per_trial") is not None:
        values["resources_per_trial"] = _resources(document["resources_per_trial"], fail)
    for key, allowed in (
        ("trial_cwd", ("start", "trial")),
        ("executor", ("auto", "thread", "process", "ray")),
    ):
        if document.get(key) is not None:
            values[key] = _one_of(document[key], key, allowed, fail)
    return SweepConfig(**values)


def _resources(value: Any, fail: _Fail) -> dict[str, float]:
    """``{cpu: 1, gpu: 0.5, my_resource: 1}``: what a Ray trial reserves, each a number >= 0."""
    if not isinstance(value, Mapping) or not value:
        raise fail(
            f"resources_per_trial must be a mapping such as {{cpu: 1, gpu: 0.5}}, got {value!r}",
            "resources_per_trial",
        )
    resources: dict[str, float] = {}
    for name, amount in value.items():
        path = ("resources_per_trial", name)
        number = _number(amount, path, fail)
        if number < 0:
            raise fail(f"{_dotted(path)} must be >= 0, got {amount!r}", *path)
        resources[str(name).lower() if str(name).lower() in ("cpu", "gpu") else str(name)] = number
    return resources


def _string(value: Any, path: KeyPath, fail: _Fail) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise fail(f"{_dotted(path)} must be a string, got {value!r}", *path)
    return str(value)


def _as_number(value: Any) -> float | None:
    """``value`` as a float, numeric strings included (PyYAML reads ``1e-3`` as a string); None
    when it is no number."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int past the largest float
        return None
    return None if math.isnan(number) else number


def _number(value: Any, path: KeyPath, fail: _Fail) -> float:
    number = _as_number(value)
    if number is None:
        raise fail(f"{_dotted(path)} must be a number, got {value!r}", *path)
    return number


def _positive(value: Any, path: KeyPath, fail: _Fail) -> float:
    number = _number(value, path, fail)
    if number <= 0:
        raise fail(f"{_dotted(path)} must be > 0 seconds, got {value!r}", *path)
    return number


def _integer(value: Any, path: KeyPath, minimum: int, fail: _Fail) -> int:
    number = _as_number(value)
    if number is None or not number.is_integer() or number < minimum:
        raise fail(f"{_dotted(path)} must be an integer >= {minimum}, got {value!r}", *path)
    return int(number)


def _boolean(value: Any, path: KeyPath, fail: _Fail) -> bool:
    if isinstance(value, bool):
        return value
    raise fail(f"{_dotted(path)} must be true or false, got {value!r}", *path)


def _one_of(value: Any, key: str, allowed: Sequence[str], fail: _Fail) -> Any:
    if value not in allowed:
        raise fail(
            f"{key} must be one of {', '.join(allowed)}, got {value!r}"
            f"{_suggest(str(value), allowed)}",
            key,
        )
    return value


def _gpus(value: Any, fail: _Fail) -> tuple[str, ...] | str:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, int) and not isinstance(items, bool):
        items = [items]
    if not isinstance(items, list) or not items:
        raise fail(
            f"gpus must be auto or a list of device ids such as [0, 1], got {value!r}", "gpus"
        )
    devices = tuple(str(item).strip() for item in items)
    if any(not d for d in devices) or len(set(devices)) != len(devices):
        raise fail(f"gpus must list distinct device ids, got {value!r}", "gpus")
    return devices


def _directions(document: Mapping[str, Any], fail: _Fail) -> tuple[str, ...]:
    if "direction" in document and "directions" in document:
        raise fail(
            "give direction (one objective) or directions (several), not both", "directions"
        )
    key = "directions" if "directions" in document else "direction"
    raw = document.get("directions", [document.get("direction", "minimize")])
    if isinstance(raw, str) or not isinstance(raw, list) or not raw:
        raise fail(
            f"directions must be a non-empty list, e.g. [minimize, maximize], got {raw!r}", key
        )
    result = []
    for index, item in enumerate(raw):
        text = str(item).lower()
        if text in ("min", "max"):
            text += "imize"
        if text not in ("minimize", "maximize"):
            path = (key, index) if key == "directions" else (key,)
            raise fail(f"direction must be minimize or maximize, got {item!r}", *path)
        result.append(text)
    return tuple(result)


def _metrics(document: Mapping[str, Any], count: int, fail: _Fail) -> tuple[str, ...]:
    if "metric" in document and "metrics" in document:
        raise fail("give metric or metrics, not both", "metrics")
    if document.get("metrics") is not None:
        key = "metrics"
        raw = document["metrics"]
        if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
            raise fail(f"metrics must be a list of names, got {raw!r}", key)
        metrics = tuple(raw)
    elif document.get("metric") is not None:
        key = "metric"
        metrics = (_string(document["metric"], (key,), fail),)
    else:
        return ()
    if len(metrics) != count:
        raise fail(
            f"{len(metrics)} metric(s) {list(metrics)} for {count} direction(s); "
            "give one metric per direction",
            key,
        )
    return metrics


def _algorithm(value: Any, key: str, fail: _Fail) -> Algorithm:
    if isinstance(value, str):
        return Algorithm(value)
    if not isinstance(value, Mapping):
        raise fail(f"{key} must be a name or {{name: ..., kwargs: {{...}}}}, got {value!r}", key)
    for item in value:
        if item not in ("name", "kwargs"):
            raise fail(
                f"{key}: unknown key {item!r}{_suggest(str(item), ('name', 'kwargs'))}", key, item
            )
    if "name" not in value:
        raise fail(f"{key} needs a name, e.g. {key}: {{name: tpe}}", key)
    kwargs = value.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise fail(f"{key}.kwargs must be a mapping, got {kwargs!r}", key, "kwargs")
    return Algorithm(_string(value["name"], (key, "name"), fail), dict(kwargs))


_SCHEDULER_DEFAULTS = {  # Ray Tune's defaults
    "asha": {"max_t": 100, "grace_period": 1, "reduction_factor": 4},
    "hyperband": {"max_t": 81, "grace_period": 1, "reduction_factor": 3},
}


def _scheduler(value: Any, fail: _Fail) -> Algorithm:
    """Ray Tune's ``scheduler`` as a pruner: fifo → none; asha → successive halving with
    ``min_resource=grace_period`` and no rung at or past ``max_t``; hyperband → hyperband with
    ``max_resource=max_t`` (docs/pruning.md)."""
    spec = {"name": value} if isinstance(value, str) else value
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise fail(
            "scheduler must be fifo, asha or hyperband, or e.g. "
            f"{{name: asha, max_t: 100, grace_period: 1, reduction_factor: 4}}, got {value!r}",
            "scheduler",
        )
    name = str(spec["name"]).lower()
    if name not in ("fifo", "asha", "hyperband"):
        raise fail(
            f"scheduler must be fifo, asha or hyperband, got {spec['name']!r}",
            "scheduler",
            "name",
        )
    allowed = ("name", *_SCHEDULER_DEFAULTS.get(name, {}))
    for key in spec:
        if key not in allowed:
            raise fail(
                f"scheduler {name}: unknown key {key!r}; it takes {', '.join(allowed)}"
                f"{_suggest(str(key), allowed)}",
                "scheduler",
                key,
            )
    if name == "fifo":
        return Algorithm("none")
    numbers = dict(_SCHEDULER_DEFAULTS[name])
    for key in numbers:
        if spec.get(key) is not None:
            numbers[key] = _integer(spec[key], ("scheduler", key), 1, fail)
    grace, rf, max_t = numbers["grace_period"], numbers["reduction_factor"], numbers["max_t"]
    if rf < 2 or grace > max_t:
        raise fail(
            f"scheduler {name} needs reduction_factor >= 2 and grace_period <= max_t, but got "
            f"reduction_factor={rf}, grace_period={grace}, max_t={max_t}",
            "scheduler",
        )
    if name == "asha":
        return Algorithm("asha", {"min_resource": grace, "reduction_factor": rf, "max_t": max_t})
    return Algorithm(
        "hyperband", {"min_resource": grace, "max_resource": max_t, "reduction_factor": rf}
    )


def _initial_points(value: Any, fail: _Fail) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not all(isinstance(p, Mapping) for p in value):
        raise fail(
            "initial_points must be a list of {param: value} mappings, e.g. "
            f"[{{lr: 0.01, layers: 2}}], got {value!r}",
            "initial_points",
        )
    for index, point in enumerate(value):
        for key, item in point.items():
            if not isinstance(key, str) or isinstance(item, (dict, list)):
                raise fail(
                    f"initial_points[{index}]: {key!r}: {item!r} is not param: value",
                    "initial_points",
                    index,
                    key,
                )
    return tuple(dict(point) for point in value)


def _constraints(value: Any, fail: _Fail) -> tuple[str, ...]:
    # Each item alone first, so that an error about one names its line.
    for index, item in enumerate(value if isinstance(value, list) else []):
        try:
            parse_constraint(item)
        except ConfigError as error:
            raise fail(str(error), "constraints", index) from None
    try:
        parsed = parse_constraints(value)
    except ConfigError as error:
        raise fail(str(error), "constraints") from None
    return tuple(c.text for c in parsed)


def _objective(value: Any, fail: _Fail) -> str:
    text = _string(value, ("objective",), fail)
    module, sep, function = text.partition(":")
    if not sep or not module or not function:
        raise fail(
            f"objective must be module:function (e.g. train:objective), got {text!r}", "objective"
        )
    return text


def _command(value: Any, shell: bool, fail: _Fail) -> tuple[str, ...]:
    if isinstance(value, str) and shell:
        return (value,)
    if isinstance(value, str):
        raise fail(
            "command must be a list of arguments, e.g. [python, train.py, --lr, '{lr}'] "
            "(a string is never split; set shell: true to run it through /bin/sh)",
            "command",
        )
    if not isinstance(value, list) or not value:
        raise fail(f"command must be a non-empty list of arguments, got {value!r}", "command")
    return tuple(str(item) for item in value)
