"""The ``@hparam_search`` decorator (allemanenti/Optuna-Hparam-Search), on hpsweep.

A script written for it changes one import::

    from hpsweep.compat import hparam_search     # was: from hparam_search import hparam_search

    @hparam_search(config_path="config.yaml", save_db_directory="./optuna_studies")
    def train(config: dict) -> float: ...

    if __name__ == "__main__":
        train()          # python your_script.py [--set n_trials=200 model.first_layer.bias=False]

``train()`` reads ``config/config.yaml`` (relative to the working directory), applies ``--set``,
prints the decorator's banner, and runs the study ``{experiment_name}_{tag}`` in
``sqlite:///{save_db_directory}/{experiment_name}_{tag}.db`` with ``n_jobs`` trials at a time,
until the study holds ``n_trials`` trials. Calling the decorated function with a config dict runs
one trial (that is how its worker processes call it). What differs from the decorator, and why,
is in docs/coming-from-hparam-search.md.

Imports only the standard library and :mod:`hpsweep.client` at import time.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from hpsweep import client
from hpsweep._errors import HpsweepError

if TYPE_CHECKING:
    from hpsweep._api import StudyResult
    from hpsweep._progress import Progress
    from hpsweep._progress import TrialOutcome

__all__ = ["hparam_search"]

Train = Callable[[dict[str, Any]], float]
RULE = "=" * 50


def hparam_search(
    config_path: str, save_db_directory: str = "."
) -> Callable[[Train], Callable[..., Any]]:
    """Turn ``train(config) -> float`` into a search launcher: ``train()`` runs the study that
    ``config/<config_path>`` describes and returns its :class:`~hpsweep.StudyResult` (``argv``
    replaces ``sys.argv[1:]``); ``train(config)`` with a dict runs one trial."""

    def decorator(train: Train) -> Callable[..., Any]:
        @functools.wraps(train)
        def wrapper(argv: Sequence[str] | Mapping[str, Any] | None = None) -> Any:
            if isinstance(argv, Mapping):
                return _trial(train, dict(argv))
            if argv is None and client.in_trial():
                # A worker process importing the script to find `train`, and the script calls
                # train() at the top level, without `if __name__ == "__main__":`. Under the
                # decorator's fork the workers never ran that line again: here it starts
                # nothing either, and the worker goes on to run its trial.
                return None
            try:
                return _search(train, wrapper, config_path, save_db_directory, argv)
            except HpsweepError as error:
                print(f"hparam_search: error: {error}", file=sys.stderr)
                raise SystemExit(error.exit_code) from None

        return wrapper

    return decorator


def _trial(train: Train, config: dict[str, Any]) -> float:
    """One trial in a worker process (the decorator's workers announced themselves)."""
    print(f"Worker process (PID: {os.getpid()}) started.", flush=True)
    return train(config)


def _search(
    train: Train,
    wrapper: Callable[..., Any],
    config_path: str,
    save_db_directory: str,
    argv: Sequence[str] | None,
) -> StudyResult:
    import argparse  # here: importing hpsweep.compat must stay cheap for trials
    import dataclasses

    from hpsweep import _yaml
    from hpsweep._api import run_config
    from hpsweep._errors import ConfigError
    from hpsweep._progress import PlainProgress
    from hpsweep.dialects._hparam_search import apply_overrides
    from hpsweep.dialects._hparam_search import hparam_search_plan

    parser = argparse.ArgumentParser(description="Optuna Search Launcher")
    parser.add_argument(
        "--set", nargs="*", action="extend", help="Override config params, e.g., --set key=value"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    source = os.path.join("config", config_path)
    config = _yaml.load_file(source)
    if not isinstance(config, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of settings such as n_trials: 100, got "
            f"{type(config).__name__}"
        )
    if args.set:
        print(f"Applying {len(args.set)} command-line overrides...")
        for key, value in apply_overrides(config, args.set, source=source):
            print(f"  - Overrode '{key}' to '{value}'")
    plan = hparam_search_plan(config, source=source, save_db_directory=save_db_directory)
    for note in plan.notes:
        print(f"hparam_search: note: {note}", file=sys.stderr)
    os.makedirs(save_db_directory, exist_ok=True)
    study, storage = plan.config.study, plan.config.storage
    print("\n" + RULE)
    print("Starting Hyperparameter Search")
    print(f"Study Name: {study}")
    print(f"Storage URL: {storage}")
    print(f"Total Trials: {plan.n_trials}")
    print(f"Parallel Jobs: {plan.n_jobs}")
    print(RULE + "\n")
    print(f"Initializing study '{study}' at {storage}...", flush=True)
    target = _process_target(train) if (plan.config.jobs or 1) > 1 else None
    if target is not None:
        config_run = dataclasses.replace(plan.config, objective=target, executor="process")
        objective = None
    else:
        config_run = dataclasses.replace(plan.config, executor="thread")
        objective = train
        print(f"Worker process (PID: {os.getpid()}) started.", flush=True)
    result = run_config(config_run, objective=objective, progress=_FailurePrinter(PlainProgress()))
    print("\n" + RULE)
    print("Hyperparameter search complete.")
    print(f"Results are stored in: {storage}")
    print(RULE)
    return result


def _process_target(train: Train) -> str | None:
    """``module:function`` naming the decorated function for a fresh worker process, which
    imports it (nothing is pickled, so the ``spawn`` start method is no obstacle); None for a
    function a new process cannot import (then trials run in threads of this process)."""
    qualname = train.__qualname__
    if "<" in qualname:
        return None
    module = train.__module__
    if module != "__main__":
        return f"{module}:{qualname}"
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:  # python -m package.script
        return f"{spec.name}:{qualname}"
    path = getattr(main, "__file__", None)
    return f"{Path(path).resolve()}:{qualname}" if path else None


class _FailurePrinter:
    """Progress that also prints the decorator's line for each failed trial, on stdout."""

    def __init__(self, inner: Progress) -> None:
        self._inner = inner

    def started(self, *, study: str, storage: str, total: int | None, done: int) -> None:
        self._inner.started(study=study, storage=storage, total=total, done=done)

    def trial_started(self, number: int, params: Mapping[str, Any]) -> None:
        self._inner.trial_started(number, params)

    def trial_reported(self, number: int, step: int, value: float) -> None:
        self._inner.trial_reported(number, step, value)

    def trial_ended(self, outcome: TrialOutcome, *, best: TrialOutcome | None) -> None:
        if outcome.why == "failed":
            print(
                f"Trial {outcome.number} failed with exception: {_message(outcome.error)}. "
                "Pruning trial.",
                flush=True,
            )
        self._inner.trial_ended(outcome, best=best)

    def message(self, text: str) -> None:
        self._inner.message(text)

    def close(self) -> None:
        self._inner.close()


def _message(error: str | None) -> str:
    """``str(exception)`` from hpsweep's ``Type: message`` record of a failure."""
    if not error:
        return ""
    kind, sep, text = error.partition(": ")
    return text if sep and kind.replace(".", "").isidentifier() else error
