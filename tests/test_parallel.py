"""-j N: several trials at once, for commands and Python objectives."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from support import hpsweep
from support import stored_trials

OBJECTIVES = textwrap.dedent("""
    import os, time

    def sleepy(p):
        time.sleep(0.4)
        return float(os.getpid())

    def crash(p):
        if p["x"] > 0.5:
            os.abort()
        return p["x"]
    """)


def run(cwd: Path, *args: str) -> list[optuna.trial.FrozenTrial]:
    result = hpsweep(cwd, "run", "-p", "x=float(0,1)", *args, check=False, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    return stored_trials(cwd)


def overlapping(trials: list[optuna.trial.FrozenTrial]) -> int:
    """How many pairs of trials ran at the same time."""
    spans = [(t.datetime_start, t.datetime_complete) for t in trials]
    return sum(
        1 for i, a in enumerate(spans) for b in spans[i + 1 :] if a[0] < b[1] and b[0] < a[1]
    )  # type: ignore[operator]


def test_python_objectives_run_in_worker_processes_in_parallel(tmp_path: Path) -> None:
    (tmp_path / "objectives.py").write_text(OBJECTIVES)
    trials = run(tmp_path, "-n", "4", "-j", "2", "--objective", "objectives:sleepy")
    assert len(trials) == 4 and all(t.state.name == "COMPLETE" for t in trials)
    assert overlapping(trials) >= 2
    pids = {t.value for t in trials}
    assert os.getpid() not in pids and len(pids) == 4  # a fresh process per trial


def test_threads_on_request_share_the_controller_process(tmp_path: Path) -> None:
    (tmp_path / "objectives.py").write_text(OBJECTIVES)
    trials = run(
        tmp_path, "-n", "4", "-j", "2", "--executor", "thread", "--objective", "objectives:sleepy"
    )
    assert overlapping(trials) >= 2 and len({t.value for t in trials}) == 1


def test_a_crashing_python_objective_fails_one_trial_not_the_study(tmp_path: Path) -> None:
    (tmp_path / "objectives.py").write_text(OBJECTIVES)
    trials = run(tmp_path, "-n", "6", "-j", "2", "--seed", "1", "--objective", "objectives:crash")
    assert len(trials) == 6
    crashed = [t for t in trials if t.params["x"] > 0.5]
    assert crashed and all(t.state.name == "FAIL" for t in crashed)
    assert all("SIGABRT" in t.user_attrs["error"] for t in crashed)
    assert all(t.state.name == "COMPLETE" for t in trials if t.params["x"] <= 0.5)


def test_command_trials_in_parallel(tmp_path: Path) -> None:
    trials = run(
        tmp_path,
        "-n",
        "4",
        "-j",
        "2",
        "--",
        sys.executable,
        "-c",
        "import time; time.sleep(0.4); print('hpsweep: {{\"result\": {x}}}')",
    )
    assert overlapping(trials) >= 2 and all(t.state.name == "COMPLETE" for t in trials)


def test_trial_timeouts_hold_under_load(tmp_path: Path) -> None:
    (tmp_path / "objectives.py").write_text(
        OBJECTIVES
        + textwrap.dedent("""
        def sometimes_hangs(p):
            time.sleep(60 if p["x"] > 0.5 else 0.1)
            return p["x"]
        """)
    )
    trials = run(
        tmp_path,
        "-n",
        "8",
        "-j",
        "3",
        "--seed",
        "4",
        "--trial-timeout",
        "1.5",
        "--grace",
        "0.5",
        "--objective",
        "objectives:sometimes_hangs",
    )
    assert len(trials) == 8
    for trial in trials:
        if trial.params["x"] > 0.5:
            assert trial.user_attrs["why"] == "timeout"
            assert trial.duration is not None and trial.duration.total_seconds() < 5
        else:
            assert trial.state.name == "COMPLETE"


def test_a_missing_objective_module_is_one_error_before_any_trial(tmp_path: Path) -> None:
    result = hpsweep(
        tmp_path,
        "run",
        "-p",
        "x=float(0,1)",
        "-j",
        "2",
        "--objective",
        "nothere:f",
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no module 'nothere'" in result.stderr and not (tmp_path / "hpsweep.journal").exists()


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("import notinstalledpkg\n", "ModuleNotFoundError: No module named 'notinstalledpkg'"),
        ("def f(p):\n    return (\n", "SyntaxError: '(' was never closed"),
        ("raise RuntimeError('no config here')\n", "RuntimeError: no config here"),
    ],
)
def test_an_objective_module_that_fails_to_import_is_one_error(
    tmp_path: Path, source: str, what: str
) -> None:
    (tmp_path / "broken.py").write_text(source)
    args = ("run", "-p", "x=float(0,1)", "-n", "2", "--objective", "broken:f")
    result = hpsweep(tmp_path, *args, check=False, timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("hpsweep: error: objective 'broken:f': importing broken failed with ")
    assert what in line and line.endswith("fix the module (--debug shows the traceback)")
    assert not (tmp_path / "hpsweep.journal").exists()
