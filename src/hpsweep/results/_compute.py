"""Plain data computed from stored trials; renderers turn it into text, CSV, JSON or HTML."""

from __future__ import annotations

import datetime as dt
import shlex
from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

STATES = ("complete", "pruned", "fail", "running", "waiting")


@dataclass(frozen=True)
class TrialRecord:
    number: int
    state: str
    values: tuple[float, ...] | None
    params: Mapping[str, Any]
    datetime_start: dt.datetime | None
    datetime_complete: dt.datetime | None
    user_attrs: Mapping[str, Any]
    intermediate: Mapping[int, float] = field(default_factory=dict)
    constraints: Mapping[str, float] = field(default_factory=dict)
    """Constraint values by their text; ``<= 0`` is satisfied (Optuna's convention)."""

    @property
    def feasible(self) -> bool:
        return all(value <= 0.0 for value in self.constraints.values())

    @property
    def why(self) -> str:
        return str(self.user_attrs.get("why", self.state))

    @property
    def value(self) -> float | None:
        return self.values[0] if self.values and len(self.values) == 1 else None

    @property
    def duration_s(self) -> float | None:
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return (self.datetime_complete - self.datetime_start).total_seconds()

    def to_json(self, *, history: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"number": self.number, "state": self.state}
        if self.values is not None and len(self.values) > 1:
            out["values"] = list(self.values)
        else:
            out["value"] = self.value
        out.update(
            params=dict(self.params),
            datetime_start=_iso(self.datetime_start),
            datetime_complete=_iso(self.datetime_complete),
            duration_s=self.duration_s,
            user_attrs=dict(self.user_attrs),
        )
        if self.constraints:
            out["constraints"] = dict(self.constraints)
        if history:
            out["intermediate_values"] = {str(k): v for k, v in sorted(self.intermediate.items())}
        return out


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def record_of(trial: FrozenTrial) -> TrialRecord:
    return TrialRecord(
        number=trial.number,
        state=trial.state.name.lower(),
        values=tuple(trial.values) if trial.values is not None else None,
        params=dict(trial.params),
        datetime_start=trial.datetime_start,
        datetime_complete=trial.datetime_complete,
        user_attrs=dict(trial.user_attrs),
        intermediate=dict(trial.intermediate_values),
        constraints=dict(trial.constraints),
    )


def trial_records(study: optuna.Study) -> list[TrialRecord]:
    trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
    return [record_of(t) for t in trials]


@dataclass(frozen=True)
class StudyData:
    """A stored study as plain data: what every read-side command starts from."""

    name: str
    storage: str
    """The store's display URL (passwords masked)."""
    directions: tuple[str, ...]
    user_attrs: Mapping[str, Any]
    records: Sequence[TrialRecord]

    @property
    def config(self) -> Mapping[str, Any] | None:
        """The sweep config hpsweep stored when it created or resumed the study."""
        from hpsweep.engine._study import CONFIG_ATTR  # here: listing trials needs no engine

        config = self.user_attrs.get(CONFIG_ATTR)
        return config if isinstance(config, dict) else None


def study_data(study: optuna.Study, storage: str) -> StudyData:
    return StudyData(
        name=study.study_name,
        storage=storage,
        directions=tuple(d.name.lower() for d in study.directions),
        user_attrs=dict(study.user_attrs),
        records=trial_records(study),
    )


@dataclass(frozen=True)
class StudyInfo:
    name: str
    storage: str
    directions: tuple[str, ...]
    counts: Mapping[str, int]
    """Trials by state."""
    why: Mapping[str, int]
    """Finished trials by why they ended."""
    best: tuple[TrialRecord, ...]
    """The best trial, or the Pareto front for several objectives."""
    start: dt.datetime | None
    finish: dt.datetime | None
    config: Mapping[str, Any] | None
    runs: str | None = None
    """The trial command (shell-quoted) or the objective's ``module:function``."""
    sampler: str | None = None
    pruner: str | None = None
    budgets: Mapping[str, Any] = field(default_factory=dict)
    space: tuple[str, ...] = ()
    """The search space in the ``-p`` grammar, one spec per parameter."""
    metrics: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def duration_s(self) -> float | None:
        if self.start is None or self.finish is None:
            return None
        return (self.finish - self.start).total_seconds()


def best_records(records: Sequence[TrialRecord], directions: Sequence[str]) -> list[TrialRecord]:
    """The best complete trial (ties: the earliest), or the Pareto front, earliest first; as in
    Optuna, only trials that satisfy every constraint qualify."""
    complete = [
        r for r in records if r.state == "complete" and r.values is not None and r.feasible
    ]
    signs = [1.0 if d == "minimize" else -1.0 for d in directions]
    if len(signs) == 1:
        if not complete:
            return []
        return [min(complete, key=lambda r: (signs[0] * r.values[0], r.number))]  # type: ignore[index]

    def dominates(a: TrialRecord, b: TrialRecord) -> bool:
        assert a.values is not None and b.values is not None
        pairs = [(s * x, s * y) for s, x, y in zip(signs, a.values, b.values)]
        return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)

    return [r for r in complete if not any(dominates(o, r) for o in complete)]


def study_info(study: optuna.Study, storage: str) -> StudyInfo:
    return summarize(study_data(study, storage))


def summarize(data: StudyData) -> StudyInfo:
    records = data.records
    starts = [r.datetime_start for r in records if r.datetime_start is not None]
    ends = [r.datetime_complete for r in records if r.datetime_complete is not None]
    config = data.config
    described: dict[str, Any] = _describe_config(config) if config is not None else {}
    return StudyInfo(
        name=data.name,
        storage=data.storage,
        directions=data.directions,
        counts=dict(Counter(r.state for r in records)),
        why=dict(Counter(r.why for r in records if r.datetime_complete is not None)),
        best=tuple(best_records(records, data.directions)),
        start=min(starts) if starts else None,
        finish=max(ends) if ends else None,
        config=config,
        **described,
    )


_BUDGETS = ("n_trials", "timeout", "trial_timeout", "max_failures", "retries", "target", "jobs")


def _describe_config(config: Mapping[str, Any]) -> dict[str, Any]:
    what = config.get("command") or config.get("objective")
    metrics = config.get("metrics") or ([config["metric"]] if config.get("metric") else [])
    return {
        "runs": shlex.join(map(str, what)) if isinstance(what, list) else what,
        "sampler": _algorithm(config.get("sampler"), "auto"),
        "pruner": _algorithm(config.get("pruner"), "median"),
        "budgets": {k: config[k] for k in _BUDGETS if config.get(k) is not None},
        "space": _space_specs(config.get("space")),
        "metrics": tuple(map(str, metrics)),
    }


def _algorithm(value: Any, default: str) -> str:
    if not isinstance(value, Mapping):
        return str(value) if value else default
    name = str(value.get("name") or default)
    kwargs = value.get("kwargs") or {}
    if not kwargs:
        return name
    return f"{name} (" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def _space_specs(mapping: Any) -> tuple[str, ...]:
    """The stored space in the ``-p`` grammar; a space this version cannot read stays as YAML."""
    from hpsweep._errors import SpaceError
    from hpsweep.space import SearchSpace

    if not mapping:
        return ()
    try:
        return tuple(SearchSpace.from_mapping(mapping).to_cli())
    except SpaceError:
        return tuple(f"{name}: {spec}" for name, spec in dict(mapping).items())
