"""Several controllers, signals and crashes, with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support import clean_env
from support import stored_trials as trials

OBJECTIVES = textwrap.dedent("""
    import time
    import hpsweep

    def quick(p):
        time.sleep(0.02)
        return p["x"]

    def slow(p):
        for step in range(200):
            time.sleep(0.05)
            hpsweep.report(p["x"], step=step)
            if hpsweep.should_prune():
                return None
        return p["x"]
    """)


def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """A controller whose stderr goes to a file (read it with `stderr_of`), so a killed process
    leaves no pipe behind."""
    log = cwd / f"controller-{time.monotonic_ns()}.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "hpsweep", "run", "-p", "x=float(0,1)", *args],
            cwd=cwd,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=handle,
            text=True,
        )
    process.log = log  # type: ignore[attr-defined]
    return process


def finish(process: subprocess.Popen[str], timeout: float = 120) -> str:
    process.wait(timeout=timeout)
    return str(process.log.read_text())  # type: ignore[attr-defined]


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    (tmp_path / "objectives.py").write_text(OBJECTIVES)
    return tmp_path


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_four_controllers_share_one_study_without_overshoot(cwd: Path) -> None:
    processes = [start(cwd, "-n", "40", "--objective", "objectives:quick") for _ in range(4)]
    try:
        outputs = [finish(p) for p in processes]
    finally:
        for process in processes:
            process.kill()
    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    stored = trials(cwd)
    assert len(stored) == 40
    assert all(t.state.name == "COMPLETE" for t in stored)
    assert not any("locked" in output for output in outputs)
    # every controller did some of the work
    owners = {t.system_attrs["hpsweep:run"]["owner"] for t in stored}
    assert len(owners) >= 2


def test_first_ctrl_c_lets_the_running_trial_finish(cwd: Path) -> None:
    process = start(cwd, "-n", "10", "--objective", "objectives:slow", "--max-failures", "1")
    try:
        wait_for(lambda: (cwd / "hpsweep.journal").exists() and trials(cwd))
        process.send_signal(signal.SIGINT)
        stderr = finish(process, 60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted: no new trials; waiting for 1 running" in stderr
    stored = trials(cwd)
    assert len(stored) == 1 and stored[0].state.name == "COMPLETE"


def test_second_ctrl_c_stops_running_trials_as_killed(cwd: Path) -> None:
    process = start(cwd, "-n", "10", "--objective", "objectives:slow", "--grace", "5")
    try:
        wait_for(lambda: (cwd / "hpsweep.journal").exists() and trials(cwd))
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stderr = finish(process, 60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    stored = trials(cwd)
    assert [t.state.name for t in stored] == ["FAIL"]
    assert stored[0].user_attrs["why"] == "killed"


def test_sigterm_behaves_like_the_second_ctrl_c(cwd: Path) -> None:
    process = start(cwd, "-n", "10", "--objective", "objectives:slow")
    try:
        wait_for(lambda: (cwd / "hpsweep.journal").exists() and trials(cwd))
        process.send_signal(signal.SIGTERM)
        finish(process, 60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert [t.user_attrs["why"] for t in trials(cwd)] == ["killed"]


def test_kill_9_then_resume_keeps_every_finished_trial(cwd: Path) -> None:
    process = start(cwd, "-n", "30", "--objective", "objectives:quick")
    try:
        wait_for(
            lambda: (
                (cwd / "hpsweep.journal").exists()
                and sum(t.state.name == "COMPLETE" for t in trials(cwd)) >= 5
            )
        )
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    before = {t.number: t.value for t in trials(cwd) if t.state.name == "COMPLETE"}
    resumed = start(cwd, "-n", "30", "--objective", "objectives:quick")
    stderr = finish(resumed)
    assert resumed.returncode == 0, stderr
    stored = trials(cwd)
    assert {t.number: t.value for t in stored if t.number in before} == before
    assert "RUNNING" not in {t.state.name for t in stored}
    counted = [t for t in stored if not t.system_attrs.get("hpsweep:superseded")]
    assert len(counted) == 30
    lost = [t for t in stored if t.user_attrs.get("why") == "lost"]
    assert len(lost) <= 1  # the trial that was running at the kill, if any
    for trial in lost:
        rerun = [t for t in stored if t.user_attrs.get("retry_of") == trial.number]
        assert len(rerun) == 1 and rerun[0].params == trial.params


def test_kill_9_of_the_controller_leaves_no_trial_process_behind(cwd: Path) -> None:
    (cwd / "long.sh").write_text(
        '#!/bin/sh\necho $$ > "$HPSWEEP_TRIAL_DIR/pid"\n'
        'sleep 300 &\necho $! > "$HPSWEEP_TRIAL_DIR/child"\nwait\n'
    )
    (cwd / "long.sh").chmod(0o755)
    process = start(cwd, "-n", "4", "-j", "2", "--", str(cwd / "long.sh"))
    pid_files = [
        cwd / "hpsweep-runs" / "default" / f"trial-{n}" / name
        for n in (0, 1)
        for name in ("pid", "child")
    ]
    try:
        wait_for(lambda: all(p.exists() and p.read_text().strip() for p in pid_files))
        pids = [int(p.read_text()) for p in pid_files]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()

    def gone(pid: int) -> bool:
        stat = Path(f"/proc/{pid}/stat")
        try:
            return stat.read_text().split(") ")[1].startswith("Z")
        except (FileNotFoundError, ProcessLookupError):
            return True

    # the guard acts at once; a loaded machine may take a while to schedule it
    wait_for(lambda: all(gone(pid) for pid in pids), timeout=60)
    # and the next run closes the trials the dead controller left RUNNING
    finish(start(cwd, "-n", "2", "--", "true"))
    assert {t.user_attrs.get("why") for t in trials(cwd)} <= {"lost", "failed"}
    assert "RUNNING" not in {t.state.name for t in trials(cwd)}
