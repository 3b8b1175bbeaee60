"""The Python API: ``hpsweep.run(...)`` and the ``@hpsweep.search(...)`` decorator."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._config import SweepConfig
from hpsweep._config import from_mapping
from hpsweep._config import load_config
from hpsweep._errors import HpsweepError
from hpsweep._progress import Progress
from hpsweep.results import TrialRecord
from hpsweep.space import SearchSpace

if TYPE_CHECKING:
    import optuna

Objective = Callable[[dict[str, Any]], object]


@dataclass(frozen=True)
class StudyResult:
    """How a study stands after a run: its best trial (or Pareto front) and all its trials."""

    study: str
    storage: str
    directions: tuple[str, ...]
    trials: tuple[TrialRecord, ...]
    best_trials: tuple[TrialRecord, ...]
    exit_code: int = 0

    @property
    def best_trial(self) -> TrialRecord:
        if len(self.directions) > 1:
            raise ValueError("a multi-objective study has no single best trial; use best_trials")
        if not self.best_trials:
            raise ValueError(f"study {self.study!r} has no complete trial yet")
        return self.best_trials[0]

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None
        return value


def run(
    objective: Objective,
    *,
    space: SearchSpace | Mapping[str, Any],
    n_trials: int | None = None,
    direction: str = "minimize",
    directions: Sequence[str] | None = None,
    metric: str | None = None,
    storage: str | None = None,
    study: str = "default",
    params: Mapping[str, Any] | None = None,
    sampler: str | Mapping[str, Any] = "auto",
    pruner: str | Mapping[str, Any] | None = None,
    scheduler: str | Mapping[str, Any] | None = None,
    initial_points: Sequence[Mapping[str, Any]] | None = None,
    constraints: Sequence[str] | None = None,
    seed: int | None = None,
    jobs: int = 1,
    timeout: float | None = None,
    trial_timeout: float | None = None,
    max_failures: int | None = None,
    retries: int = 0,
    target: float | None = None,
    progress: Progress | None = None,
) -> StudyResult:
    """Run ``objective(params) -> float | dict | sequence`` over ``space`` until the study holds
    ``n_trials`` trials (counting earlier runs of the same study). Settings mean what the same
    keys of the sweep YAML mean (docs/configuration.md); ``pruner`` defaults to ``median``."""
    document: dict[str, Any] = {
        "study": study,
        "storage": storage,
        "n_trials": n_trials,
        "jobs": jobs,
        "sampler": sampler,
        "pruner": pruner,
        "seed": seed,
        "timeout": timeout,
        "trial_timeout": trial_timeout,
        "max_failures": max_failures,
        "retries": retries,
        "target": target,
        "scheduler": scheduler,
        "initial_points": [dict(p) for p in initial_points] if initial_points else None,
        "constraints": list(constraints) if constraints else None,
        "params": dict(params or {}),
        "space": _as_space(space).to_mapping(),
    }
    if directions is not None:
        document["directions"] = list(directions)
    else:
        document["direction"] = direction
    if metric is not None:
        document["metric"] = metric
    config = from_mapping({k: v for k, v in document.items() if v is not None})
    return run_config(config, objective=objective, progress=progress, handle_signals=False)


def _as_space(space: SearchSpace | Mapping[str, Any]) -> SearchSpace:
    if isinstance(space, SearchSpace):
        return space
    if all(not isinstance(v, Mapping) for v in space.values()):
        return SearchSpace(dict(space))
    return SearchSpace.from_mapping(dict(space))


def run_config(
    config: SweepConfig,
    *,
    objective: Objective | None = None,
    progress: Progress | None = None,
    handle_signals: bool = True,
) -> StudyResult:
    from hpsweep._session import execute

    results: list[StudyResult] = []
    summary = execute(
        config,
        objective=objective,
        progress=progress,
        handle_signals=handle_signals,
        on_done=lambda study: results.append(_result_of(study, config.storage or "")),
    )
    return dataclasses.replace(results[0], exit_code=summary.exit_code)


def _result_of(study: optuna.Study, storage: str) -> StudyResult:
    from hpsweep.engine import mask_url
    from hpsweep.results import best_records
    from hpsweep.results import trial_records

    records = trial_records(study)
    directions = tuple(d.name.lower() for d in study.directions)
    return StudyResult(
        study=study.study_name,
        storage=mask_url(storage),
        directions=directions,
        trials=tuple(records),
        best_trials=tuple(best_records(records, directions)),
    )


def search(config_path: str, **defaults: Any) -> Callable[[Objective], Callable[..., StudyResult]]:
    """Decorate ``train(cfg) -> float``: calling ``train()`` runs the whole study described by
    the YAML at ``config_path`` (fixed params, space and settings in one file), taking from
    ``sys.argv`` the options of ``hpsweep run`` that describe a study: ``--set key=value``,
    ``-p SPEC``, ``-n``, ``-j``, ``--study``, ``--storage``, ``--direction``, ``--metric``,
    ``--sampler``, ``--pruner``, ``--seed``, ``--timeout``, ``--trial-timeout``,
    ``--max-failures``, ``--retries``, ``--target`` and ``--grace``. ``defaults`` (config keys)
    stand for options not given. Returns the study's result; bad input exits with a one-line
    error."""

    def decorate(function: Objective) -> Callable[..., StudyResult]:
        @functools.wraps(function)
        def wrapper(argv: Sequence[str] | None = None) -> StudyResult:
            try:
                options = _search_arguments(function.__name__).parse_args(
                    sys.argv[1:] if argv is None else list(argv)
                )
                given = {
                    key: value
                    for key, value in vars(options).items()
                    if key not in ("sets", "params") and value is not None
                }
                config = load_config(
                    config_path,
                    sets=options.sets,
                    flags={**defaults, **given},
                    cli_space=options.params,
                )
                return run_config(config, objective=function)
            except HpsweepError as error:
                raise SystemExit(f"error: {error}") from None

        return wrapper

    return decorate


def _search_arguments(prog: str) -> argparse.ArgumentParser:
    from hpsweep._options import Parser
    from hpsweep._options import add_sweep_options

    parser = Parser(prog=prog, description="Run this function's sweep.")
    add_sweep_options(parser)
    return parser
