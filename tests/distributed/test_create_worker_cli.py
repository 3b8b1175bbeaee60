"""`hpsweep create` and `hpsweep worker` on the embedded store: no server needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna

from hpsweep.engine import open_store
from support import clean_env


def hpsweep(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hpsweep", *args],
        cwd=cwd,
        env={**clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_create_then_workers_need_only_study_and_storage(workdir: Path) -> None:
    (workdir / "objectives.py").write_text("def f(p):\n    return p['x']\n")
    (workdir / "sweep.yaml").write_text(
        "objective: objectives:f\nn_trials: 6\nsampler: random\n"
        "space:\n  x: {type: float, low: 0, high: 1}\n"
    )
    created = hpsweep(workdir, "create", "sweep.yaml", "--storage", "s.journal")
    assert created.returncode == 0, created.stderr
    assert "created study 'sweep'" in created.stderr
    assert "note:" not in created.stderr  # the config sets nothing that is a host's own
    done = hpsweep(
        workdir,
        "worker",
        "--study",
        "sweep",
        "-q",
        "-j",
        "2",
        env={"HPSWEEP_STORAGE": "s.journal", "HPSWEEP_HOST_ID": "node-7"},
    )
    assert done.returncode == 0, done.stderr
    assert "6 in the study" in done.stderr
    store = open_store(str(workdir / "s.journal"), readonly=True)
    try:
        study = optuna.load_study(study_name="sweep", storage=store.storage)
        assert len(study.trials) == 6
        stored = study.user_attrs["hpsweep.config"]
        assert "storage" not in stored and "jobs" not in stored  # the worker's -j stays its own
        owners = store.storage.get_study_system_attrs(study._study_id)
        assert {v["host"] for k, v in owners.items() if k.startswith("hpsweep:owner:")} == {
            "node-7"
        }
    finally:
        store.close()
    again = hpsweep(workdir, "worker", "--study", "sweep", "--storage", "s.journal", "-q")
    assert again.returncode == 0 and "0 in the study" not in again.stderr  # nothing left to do


def test_a_worker_takes_none_of_the_host_settings_of_the_run_that_made_the_study(
    workdir: Path,
) -> None:
    (workdir / "o.py").write_text(
        "import time\n\ndef f(p):\n    time.sleep(0.2)\n    return p['x']\n"
    )
    run = hpsweep(
        workdir,
        *("run", "--study", "wj", "--storage", "s.journal", "-n", "8", "-q"),
        *("-p", "x=float(0,1)", "--objective", "o:f"),
        # this run's own: its wall-time budget, in-process trials, its trial dirs' place
        *("--timeout", "0.5", "--executor", "thread", "--run-dir", "run-dirs"),
    )
    assert run.returncode == 0, run.stderr
    assert "study timeout of 0.5s reached" in run.stderr  # it left trials to the worker
    done = hpsweep(workdir, "worker", "--study", "wj", "--storage", "s.journal", "-q", "-j", "2")
    assert done.returncode == 0, done.stderr
    assert "the study total of 8 trials is reached" in done.stderr
    assert "timeout" not in done.stderr
    # -j 2 with the default executor: trial processes, with their dirs in the default run dir
    assert sorted(p.name for p in (workdir / "hpsweep-runs" / "wj").iterdir())
    assert not (workdir / "run-dirs").exists()
    store = open_store(str(workdir / "s.journal"), readonly=True)
    try:
        trials = optuna.load_study(study_name="wj", storage=store.storage).trials
        assert len(trials) == 8 and {t.state.name for t in trials} == {"COMPLETE"}
    finally:
        store.close()


def test_create_says_which_settings_workers_leave_to_each_host(workdir: Path) -> None:
    (workdir / "objectives.py").write_text("def f(p):\n    return p['x']\n")
    (workdir / "sweep.yaml").write_text(
        "objective: objectives:f\nn_trials: 2\njobs: 4\ntimeout: 60\ntrial_timeout: 30\n"
        "space:\n  x: {type: float, low: 0, high: 1}\n"
    )
    created = hpsweep(workdir, "create", "sweep.yaml", "--storage", "s.journal")
    assert created.returncode == 0, created.stderr
    note = created.stderr.splitlines()[0]
    assert note.startswith("hpsweep: note: jobs, timeout belong to each host"), created.stderr


def test_worker_and_create_errors_are_one_line(workdir: Path) -> None:
    (workdir / "bare.yaml").write_text("space:\n  x: {type: float, low: 0, high: 1}\n")
    cases = [
        (["create", "bare.yaml"], "workers need something to run"),
        (["worker", "--study", "x"], "needs --storage"),
        (
            ["run", "--executor", "ray", "-p", "x=float(0,1)", "-n", "1", "--", "true"],
            "executor: ray runs Python objectives",
        ),
    ]
    for args, expected in cases:
        done = hpsweep(workdir, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert expected in done.stderr, done.stderr
