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
from support import stop
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


# A command trial with a child process, which runs until the file `done` appears in the start
# directory, then reports its result; it gives up after 300 s, should a failed test leave it.
LONG = textwrap.dedent("""\
    #!/bin/sh
    echo $$ > "$HPSWEEP_TRIAL_DIR/pid"
    sleep 300 &
    echo $! > "$HPSWEEP_TRIAL_DIR/child"
    i=0
    while [ ! -e done ] && [ "$i" -lt 6000 ]; do sleep 0.05; i=$((i + 1)); done
    echo 'hpsweep: {"result": 1.0}'
    """)


def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """A controller whose stderr goes to a file (read it with `finish`), so a killed process
    leaves no pipe behind. It leads its own process group, as a shell's foreground job does."""
    log = cwd / f"controller-{time.monotonic_ns()}.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "hpsweep", "run", "-p", "x=float(0,1)", *args],
            cwd=cwd,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=handle,
            text=True,
            start_new_session=True,  # a group of its own: Ctrl-C goes to a terminal's group
        )
    process.log = log  # type: ignore[attr-defined]
    return process


def output(process: subprocess.Popen[str]) -> str:
    """What the controller has written to its stderr so far."""
    return str(process.log.read_text())  # type: ignore[attr-defined]


def finish(process: subprocess.Popen[str], timeout: float = 120) -> str:
    process.wait(timeout=timeout)
    return output(process)


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    (tmp_path / "objectives.py").write_text(OBJECTIVES)
    (tmp_path / "long.sh").write_text(LONG)
    (tmp_path / "long.sh").chmod(0o755)
    return tmp_path


def trial_pids(cwd: Path, numbers: tuple[int, ...] = (0, 1)) -> list[int]:
    """Once trials ``numbers`` of long.sh run: the pids of their shells and of their children."""
    pid_files = [
        cwd / "hpsweep-runs" / "default" / f"trial-{n}" / name
        for n in numbers
        for name in ("pid", "child")
    ]
    wait_for(lambda: all(p.exists() and p.read_text().strip() for p in pid_files))
    return [int(p.read_text()) for p in pid_files]


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def gone(pid: int) -> bool:
    """The process has exited (a zombie counts: it runs no more)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_four_controllers_share_one_study_without_overshoot(cwd: Path) -> None:
    processes = [start(cwd, "-n", "40", "--objective", "objectives:quick") for _ in range(4)]
    try:
        outputs = [finish(p) for p in processes]
    finally:
        for process in processes:
            stop(process)
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
        stop(process)
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
        stop(process)
    assert process.returncode == 130, stderr
    stored = trials(cwd)
    assert [t.state.name for t in stored] == ["FAIL"]
    assert stored[0].user_attrs["why"] == "killed"


def test_first_ctrl_c_lets_running_command_trials_finish(cwd: Path) -> None:
    process = start(cwd, "-n", "4", "-j", "2", "--", str(cwd / "long.sh"))
    try:
        pids = trial_pids(cwd)
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in a terminal: to the whole group
        wait_for(lambda: "waiting for 2 running (trial 0, 1)" in output(process))
        assert not any(gone(pid) for pid in pids)  # the trials did not get the Ctrl-C
        (cwd / "done").touch()
        stderr = finish(process, 60)
    finally:
        stop(process)
    assert process.returncode == 130, stderr
    stored = trials(cwd)
    assert [(t.state.name, t.value) for t in stored] == [("COMPLETE", 1.0)] * 2
    # each trial's `sleep 300` went with its group when the trial ended
    wait_for(lambda: all(gone(pid) for pid in pids), timeout=10)


def test_second_ctrl_c_stops_command_trials_and_their_children(cwd: Path) -> None:
    process = start(cwd, "-n", "4", "-j", "2", "--", str(cwd / "long.sh"))
    try:
        pids = trial_pids(cwd)
        os.killpg(process.pid, signal.SIGINT)
        wait_for(lambda: "waiting for 2 running (trial 0, 1)" in output(process))
        assert not any(gone(pid) for pid in pids)
        os.killpg(process.pid, signal.SIGINT)
        stderr = finish(process, 60)
    finally:
        stop(process)
    assert process.returncode == 130, stderr
    assert "stopping 2 running trial(s)" in stderr
    stored = trials(cwd)
    assert [(t.state.name, t.user_attrs["why"]) for t in stored] == [("FAIL", "killed")] * 2
    assert all(t.user_attrs["notes"] == ["stopped with SIGTERM"] for t in stored)
    # SIGTERM went to each trial's group: a dying process may still need a moment to go
    wait_for(lambda: all(gone(pid) for pid in pids), timeout=10)


def test_sigterm_behaves_like_the_second_ctrl_c(cwd: Path) -> None:
    process = start(cwd, "-n", "10", "--objective", "objectives:slow")
    try:
        wait_for(lambda: (cwd / "hpsweep.journal").exists() and trials(cwd))
        process.send_signal(signal.SIGTERM)
        finish(process, 60)
    finally:
        stop(process)
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
        stop(process)
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
    process = start(cwd, "-n", "4", "-j", "2", "--", str(cwd / "long.sh"))
    try:
        pids = trial_pids(cwd)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        stop(process)

    # the guard acts at once; a loaded machine may take a while to schedule it
    wait_for(lambda: all(gone(pid) for pid in pids), timeout=60)
    # and the next run closes the trials the dead controller left RUNNING
    finish(start(cwd, "-n", "2", "--", "true"))
    assert {t.user_attrs.get("why") for t in trials(cwd)} <= {"lost", "failed"}
    assert "RUNNING" not in {t.state.name for t in trials(cwd)}
