"""The Ray executor under the controller: pruning and trial timeouts, as with local processes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import optuna
import pytest

from hpsweep._config import from_mapping
from hpsweep._progress import PlainProgress
from hpsweep._session import execute
from hpsweep.engine import open_store

pytestmark = pytest.mark.usefixtures("ray_local")

OBJECTIVES = textwrap.dedent("""
    import time
    import hpsweep

    def steps(p):
        for step in range(10):
            hpsweep.report(p["x"], step=step)
            if hpsweep.should_prune():
                return None
            time.sleep(0.01)
        return p["x"]

    def deaf(p):
        time.sleep(60)  # hears nothing: only killing its actor ends it
        return 0.0

    def polite(p):
        while not hpsweep.should_prune():
            time.sleep(0.01)
        return None
    """)


def _run(workdir: Path, **settings: object) -> list[optuna.trial.FrozenTrial]:
    (workdir / "ray_objectives.py").write_text(OBJECTIVES)
    document = {
        "study": "ray",
        "storage": str(workdir / "hpsweep.journal"),
        "executor": "ray",
        "resources_per_trial": {"cpu": 1},
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "sampler": {"name": "random", "kwargs": {"seed": 3}},
        **settings,
    }
    summary = execute(
        from_mapping(document), progress=PlainProgress(quiet=True), handle_signals=False
    )
    assert summary.exit_code == 0, summary
    store = open_store(str(workdir / "hpsweep.journal"), readonly=True)
    try:
        return optuna.load_study(
            study_name=str(document["study"]), storage=store.storage
        ).get_trials()
    finally:
        store.close()


def test_pruning_decisions_reach_trials_on_ray(workdir: Path) -> None:
    trials = _run(
        workdir,
        objective="ray_objectives:steps",
        n_trials=8,
        jobs=2,
        pruner={"name": "threshold", "kwargs": {"upper": 0.5}},
    )
    assert len(trials) == 8
    for trial in trials:
        x = trial.params["x"]
        if x > 0.5:
            # told at step 0, it returned at once: one intermediate value, pruned
            assert trial.user_attrs["why"] == "pruned", trial
            assert list(trial.intermediate_values) == [0]
        else:
            assert trial.user_attrs["why"] == "complete", trial
            assert trial.value == x
            assert list(trial.intermediate_values) == list(range(10))


def test_trial_timeouts_stop_trials_on_ray(workdir: Path) -> None:
    for objective in ("ray_objectives:deaf", "ray_objectives:polite"):
        study = objective.split(":")[1]
        trials = _run(
            workdir,
            study=study,
            objective=objective,
            n_trials=2,
            jobs=2,
            trial_timeout=1.0,
            grace=0.5,
        )
        assert [t.user_attrs["why"] for t in trials] == ["timeout", "timeout"], objective
        for trial in trials:
            assert trial.duration is not None and trial.duration.total_seconds() < 6, trial
