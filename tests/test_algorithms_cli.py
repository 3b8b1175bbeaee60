"""Every pruner and every sampler by name through the CLI, on command trials (`hpsweep run --
python trial.py {x}`, reporting with ``hpsweep.report``) and on function trials
(`--objective trial:curve` in worker processes). tests/engine/test_algorithms.py covers the same
names through ``hpsweep.run``, in threads; here the prune decisions travel over the trial
channel to another process, and the algorithm is named in a YAML config as a user would."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from hpsweep.engine._algorithms import PRUNERS
from hpsweep.engine._algorithms import SAMPLERS
from hpsweep.engine._auto import cmaes_available
from hpsweep.engine._auto import gp_available
from hpsweep.results import read_study
from support import hpsweep
from support import stored_trials

pytestmark = pytest.mark.slow

EPOCHS = 12

# One file for both kinds of trial: `trial:curve` is the function trial, and run as a script it
# is the command trial. Its loss at each epoch is worse for larger x (and, past x = 0.5, starts
# rising after a few epochs), so a pruner has something to prune; it obeys the pruner.
TRIAL = textwrap.dedent(f"""
    import sys

    import hpsweep


    def curve(p):
        x = p["x"]
        loss = 0.0
        for epoch in range({EPOCHS}):
            loss = x + 1.0 / (epoch + 1) + max(0.0, x - 0.5) * epoch * 0.2
            hpsweep.report(loss, epoch)
            if hpsweep.should_prune():
                raise hpsweep.TrialPruned()
        return loss


    if __name__ == "__main__":
        hpsweep.report_final(curve({{"x": float(sys.argv[1])}}))
    """)

# The two kinds of trial, as the arguments after the config: a command, one at a time, and a
# function in worker processes (one spawned per trial), two at a time.
KINDS = {
    "command": ["--", sys.executable, "trial.py", "{x}"],
    "function": ["--objective", "trial:curve", "--executor", "process", "-j", "2"],
}

# The kwargs tests/engine/test_algorithms.py uses, and whether the pruner must prune some of
# the 12 trials (each that can does, on this curve, with this seed).
PRUNER_CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "none": ({}, False),
    "median": ({"n_startup_trials": 3}, True),
    "percentile": ({"percentile": 25.0, "n_startup_trials": 3}, True),
    "asha": ({"min_resource": 1, "reduction_factor": 2}, True),
    "successive_halving": ({"min_resource": 1, "reduction_factor": 2}, True),
    "hyperband": ({"min_resource": 1, "max_resource": EPOCHS, "reduction_factor": 2}, True),
    "threshold": ({"upper": 1.5}, True),
    "patient": ({"wrapped_pruner": {"name": "median"}, "patience": 1}, True),
    "wilcoxon": ({"p_threshold": 0.5, "n_startup_steps": 2}, True),
    "pfl": ({"n_startup_trials": 3, "n_warmup_epochs": 2, "top_k": 2}, True),
}

# gp needs torch and scipy, cmaes needs cmaes; auto needs neither (without torch it picks TPE).
NEEDS = {
    "gp": (gp_available(), "needs torch and scipy: pip install 'hpsweep[gp]'"),
    "cmaes": (cmaes_available(), "needs cmaes: pip install 'hpsweep[cmaes]'"),
}
SAMPLER_CASES = [
    pytest.param(name, marks=pytest.mark.skipif(not NEEDS[name][0], reason=NEEDS[name][1]))
    if name in NEEDS
    else name
    for name in SAMPLERS
]
# A stepped float, so that grid and brute force have points to enumerate: 0, 0.125, ..., 1.
GRID = [i / 8 for i in range(9)]


def sweep(cwd: Path, kind: str, **config: Any) -> list[FrozenTrial]:
    """Run the study ``config`` describes with trials of ``kind``; the study's trials."""
    (cwd / "trial.py").write_text(TRIAL)
    # JSON is YAML; kwargs can only be given in a config file
    (cwd / "sweep.yaml").write_text(json.dumps({"study": "s", "seed": 2, **config}))
    hpsweep(cwd, "run", "sweep.yaml", "-q", *KINDS[kind], timeout=120)
    return stored_trials(cwd, "s")


def stored_config(cwd: Path) -> Mapping[str, Any]:
    """The config hpsweep stored in the study when it created it."""
    config = read_study(str(cwd / "hpsweep.journal"), "s", intermediate=False).config
    assert config is not None
    return config


def test_the_cases_cover_every_pruner() -> None:
    assert set(PRUNER_CASES) == set(PRUNERS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", PRUNERS)
def test_each_pruner_through_the_cli(tmp_path: Path, name: str, kind: str) -> None:
    kwargs, prunes = PRUNER_CASES[name]
    trials = sweep(
        tmp_path,
        kind,
        space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
        n_trials=12,
        sampler="random",
        pruner={"name": name, "kwargs": kwargs},
    )
    assert stored_config(tmp_path)["pruner"] == {"name": name, "kwargs": kwargs}
    assert len(trials) == 12
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(pruned) + len(complete) == 12, [t.user_attrs for t in trials]
    # a complete trial ran every epoch; a pruned one stopped when it was told to
    assert all(sorted(t.intermediate_values) == list(range(EPOCHS)) for t in complete)
    assert all(t.user_attrs["why"] == "pruned" for t in pruned)
    if prunes:
        assert pruned, f"{name} pruned nothing"
        # what is pruned is worse, on average, than what completes
        mean = lambda ts: sum(t.params["x"] for t in ts) / len(ts)  # noqa: E731
        assert mean(pruned) > mean(complete)
    else:
        assert not pruned


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", SAMPLER_CASES)
def test_each_sampler_through_the_cli(tmp_path: Path, name: str, kind: str) -> None:
    trials = sweep(
        tmp_path,
        kind,
        space={"x": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.125}},
        n_trials=12,
        sampler=name,
        pruner="none",
    )
    assert stored_config(tmp_path)["sampler"] == {"name": name, "kwargs": {}}
    assert all(t.state == TrialState.COMPLETE for t in trials), [t.user_attrs for t in trials]
    xs = [t.params["x"] for t in trials]
    if name in ("grid", "bruteforce"):
        # every point once, and the run ends with the points, short of the budget of 12
        assert sorted(xs) == GRID
    else:
        assert len(trials) == 12
        assert set(xs) <= set(GRID)
        assert min(t.value for t in trials if t.value is not None) < 0.5
