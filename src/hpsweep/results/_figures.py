"""What the HTML report shows, as plain data: computed here, drawn by ``_html``.

Every figure is a frozen dataclass of lists, so it can be checked directly in tests and drawn by
any plotting library; only :func:`report_data` touches optuna (for distributions and importances).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal

from hpsweep.results._compute import StudyData
from hpsweep.results._compute import StudyInfo
from hpsweep.results._compute import TrialRecord
from hpsweep.results._compute import best_records
from hpsweep.results._compute import study_data
from hpsweep.results._compute import summarize

if TYPE_CHECKING:
    import optuna

ParamKind = Literal["float", "int", "categorical"]


@dataclass(frozen=True)
class ParamSpec:
    """How a param's values are laid out on an axis."""

    name: str
    kind: ParamKind
    log: bool = False
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Importances:
    """Param importances for one objective, or why there are none."""

    objective: str
    values: Mapping[str, float] = field(default_factory=dict)
    """Param -> importance, most important first; empty when they could not be computed."""
    note: str | None = None
    """Why there are no values, or what Optuna warned about the ones there are."""


@dataclass(frozen=True)
class ReportData:
    info: StudyInfo
    records: Sequence[TrialRecord]
    params: Mapping[str, ParamSpec]
    objectives: tuple[str, ...]
    """One label per objective: the metric names, else ``value`` (or ``value 0``, ...)."""
    importances: tuple[Importances, ...]


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class History:
    """Each complete trial's value by trial number, and the best so far."""

    objective: str
    direction: str
    numbers: list[int]
    values: list[float]
    best_so_far: list[float] | None
    """None for one of several objectives, where 'best' is a front, not a line."""


@dataclass(frozen=True)
class Axis:
    """One parallel-coordinates axis: numeric positions, with tick labels for choices."""

    label: str
    values: list[float]
    tick_values: list[float] | None = None
    tick_text: list[str] | None = None


@dataclass(frozen=True)
class Parallel:
    objective: str
    axes: list[Axis]
    """The params every complete trial has, then the objective."""
    left_out: list[str]
    """Params some complete trials do not have (conditional ones)."""


@dataclass(frozen=True)
class Slice:
    """One param against the objective, for the complete trials that have the param."""

    param: ParamSpec
    objective: str
    x: list[Any]
    y: list[float]
    numbers: list[int]
    categories: list[str] | None = None
    """The axis order of a categorical param (its choices, as text)."""


@dataclass(frozen=True)
class Curves:
    """Intermediate values by step, one line per trial, grouped by how the trial ended."""

    groups: Mapping[str, list[tuple[int, list[int], list[float]]]]
    """``complete``/``pruned``/``other`` -> [(trial number, steps, values)]."""


@dataclass(frozen=True)
class Pareto:
    x_objective: str
    y_objective: str
    x: list[float]
    y: list[float]
    numbers: list[int]
    on_front: list[bool]


@dataclass(frozen=True)
class TrialTable:
    header: list[str]
    rows: list[list[str]]
    sort_keys: list[list[float | str | None]]
    """Per cell, what sorting compares: a number, a text, or None (always last)."""
    states: list[str]


@dataclass(frozen=True)
class Figures:
    histories: list[History]
    parallels: list[Parallel]
    importances: tuple[Importances, ...]
    slices: list[Slice]
    curves: Curves | None
    paretos: list[Pareto]
    table: TrialTable

    @property
    def count(self) -> int:
        """How many plots this makes (the importance notes without values draw none)."""
        return (
            len(self.histories)
            + len(self.parallels)
            + sum(1 for i in self.importances if i.values)
            + len(self.slices)
            + (1 if self.curves is not None else 0)
            + len(self.paretos)
        )


# ----------------------------------------------------------------------------- compute


def report_data(study: optuna.Study, storage: str) -> ReportData:
    """Everything the report shows about ``study``, read once."""
    data = study_data(study, storage)
    trials = study.get_trials(deepcopy=False)
    params: dict[str, ParamSpec] = {}
    for trial in trials:
        for name, distribution in trial.distributions.items():
            if name not in params:
                params[name] = param_spec(name, distribution)
    objectives = objective_labels(data)
    return ReportData(
        info=summarize(data),
        records=data.records,
        params=params,
        objectives=objectives,
        importances=importances(study, objectives),
    )


def param_spec(name: str, distribution: Any) -> ParamSpec:
    from optuna.distributions import CategoricalDistribution
    from optuna.distributions import IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return ParamSpec(name, "categorical", choices=tuple(distribution.choices))
    kind: ParamKind = "int" if isinstance(distribution, IntDistribution) else "float"
    return ParamSpec(name, kind, log=bool(getattr(distribution, "log", False)))


def objective_labels(data: StudyData) -> tuple[str, ...]:
    count = len(data.directions)
    config = data.config or {}
    metrics = config.get("metrics") or ([config["metric"]] if config.get("metric") else [])
    if len(metrics) == count:
        return tuple(str(m) for m in metrics)
    return ("value",) if count == 1 else tuple(f"value {i}" for i in range(count))


def importances(study: optuna.Study, objectives: Sequence[str]) -> tuple[Importances, ...]:
    """Optuna's param importances per objective, or a note saying why there are none."""
    from optuna.importance import get_param_importances
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = sorted({name for t in complete for name in t.params})
    directions = [d.name.lower() for d in study.directions]
    out = []
    for index, objective in enumerate(objectives):
        if len(complete) < 2:
            note = f"needs at least 2 complete trials; the study has {len(complete)}"
            out.append(Importances(objective, note=note))
            continue
        if len(names) < 2:
            note = f"only one param ({', '.join(names) or 'none'}): there is nothing to compare"
            out.append(Importances(objective, note=note))
            continue
        sign = -1.0 if directions[index] == "maximize" else 1.0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                values = get_param_importances(
                    study,
                    target=None if len(objectives) == 1 else _target(index, sign),
                )
            except Exception as error:  # optuna's evaluators raise several types
                note = f"Optuna could not compute them: {type(error).__name__}: {error}"
                out.append(Importances(objective, note=note))
                continue
        notes = [
            str(w.message)
            for w in caught
            if "achieve low `target` values" not in str(w.message)  # the sign handles it
        ]
        left_out = [n for n in names if n not in values]
        if left_out:
            notes.append(
                f"{', '.join(left_out)} left out: not every complete trial has them "
                "(conditional params)"
            )
        out.append(Importances(objective, dict(values), " ".join(notes) or None))
    return tuple(out)


def _target(index: int, sign: float) -> Any:
    return lambda trial: sign * trial.values[index]


def figures(report: ReportData) -> Figures:
    records = report.records
    directions = report.info.directions
    complete = [r for r in records if r.state == "complete" and r.values is not None]
    multi = len(directions) > 1
    histories = [
        history(complete, index, label, directions[index], best_line=not multi)
        for index, label in enumerate(report.objectives)
        if complete
    ]
    parallels = [parallel(complete, report.params, 0, report.objectives[0])] if complete else []
    slices = [
        slice_of(complete, spec, 0, report.objectives[0])
        for spec in report.params.values()
        if any(spec.name in r.params for r in complete)
    ]
    paretos = []
    if multi:
        front = {r.number for r in best_records(records, directions)}
        shown = range(min(3, len(directions)))
        for i in shown:
            for j in shown:
                if i < j:
                    paretos.append(pareto(complete, front, i, j, report.objectives))
    return Figures(
        histories=histories,
        parallels=parallels,
        importances=report.importances if complete else (),
        slices=slices,
        curves=curves(records),
        paretos=paretos,
        table=trial_table(records, report.objectives),
    )


def history(
    complete: Sequence[TrialRecord], index: int, label: str, direction: str, *, best_line: bool
) -> History:
    ordered = sorted(complete, key=lambda r: r.number)
    values = [r.values[index] for r in ordered if r.values is not None]
    best: list[float] | None = None
    if best_line:
        pick = min if direction == "minimize" else max
        best = []
        for value in values:
            best.append(value if not best else pick(best[-1], value))
    return History(label, direction, [r.number for r in ordered], values, best)


def parallel(
    complete: Sequence[TrialRecord],
    params: Mapping[str, ParamSpec],
    index: int,
    label: str,
) -> Parallel:
    present = [n for n in params if any(n in r.params for r in complete)]
    shared = [n for n in present if all(n in r.params for r in complete)]
    axes = [_axis(params[name], [r.params[name] for r in complete]) for name in shared]
    axes.append(Axis(label, [r.values[index] for r in complete if r.values is not None]))
    return Parallel(label, axes, [n for n in present if n not in shared])


def _axis(spec: ParamSpec, values: list[Any]) -> Axis:
    if spec.kind == "categorical":
        texts = [text(c) for c in spec.choices]
        position = {t: float(i) for i, t in enumerate(texts)}
        return Axis(
            spec.name,
            [position.get(text(v), math.nan) for v in values],
            tick_values=list(position.values()),
            tick_text=texts,
        )
    if spec.log and all(isinstance(v, (int, float)) and v > 0 for v in values):
        return Axis(f"log10({spec.name})", [math.log10(v) for v in values])
    return Axis(spec.name, [float(v) for v in values])


def slice_of(complete: Sequence[TrialRecord], spec: ParamSpec, index: int, label: str) -> Slice:
    having = [r for r in complete if spec.name in r.params and r.values is not None]
    x = [r.params[spec.name] for r in having]
    categories = None
    if spec.kind == "categorical":
        categories = [text(c) for c in spec.choices]
        x = [text(v) for v in x]
    return Slice(
        param=spec,
        objective=label,
        x=x,
        y=[r.values[index] for r in having if r.values is not None],
        numbers=[r.number for r in having],
        categories=categories,
    )


def curves(records: Sequence[TrialRecord]) -> Curves | None:
    groups: dict[str, list[tuple[int, list[int], list[float]]]] = {}
    for record in records:
        if not record.intermediate:
            continue
        steps = sorted(record.intermediate)
        group = record.state if record.state in ("complete", "pruned") else "other"
        groups.setdefault(group, []).append(
            (record.number, steps, [record.intermediate[s] for s in steps])
        )
    return Curves(groups) if groups else None


def pareto(
    complete: Sequence[TrialRecord],
    front: set[int],
    i: int,
    j: int,
    objectives: Sequence[str],
) -> Pareto:
    having = [r for r in complete if r.values is not None]
    return Pareto(
        x_objective=objectives[i],
        y_objective=objectives[j],
        x=[r.values[i] for r in having if r.values is not None],
        y=[r.values[j] for r in having if r.values is not None],
        numbers=[r.number for r in having],
        on_front=[r.number in front for r in having],
    )


def trial_table(records: Sequence[TrialRecord], objectives: Sequence[str]) -> TrialTable:
    names: list[str] = []
    for record in records:
        names.extend(n for n in record.params if n not in names)
    header = ["number", "state", "why", *objectives, "duration (s)", *names, "error"]
    rows: list[list[str]] = []
    keys: list[list[float | str | None]] = []
    for r in records:
        values: list[float | None] = list(r.values or ())
        values += [None] * (len(objectives) - len(values))
        error = str(r.user_attrs.get("error", ""))
        params = [r.params.get(n) if n in r.params else None for n in names]
        rows.append(
            [
                str(r.number),
                r.state,
                r.why,
                *("" if v is None else f"{v:.6g}" for v in values),
                "" if r.duration_s is None else f"{r.duration_s:.3f}",
                *("" if n not in r.params else text(r.params[n]) for n in names),
                error,
            ]
        )
        keys.append(
            [
                float(r.number),
                r.state,
                r.why,
                *values,
                r.duration_s,
                *(_sort_key(p) for p in params),
                error or None,
            ]
        )
    return TrialTable(header, rows, keys, [r.state for r in records])


def _sort_key(value: Any) -> float | str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return text(value)


def text(value: Any) -> str:
    """A param value as it is written in YAML and on the command line."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
