"""The live progress view: state updates on the hot path, drawing on rich's thread, and the
choice between it and the plain lines."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from hpsweep._live import RichProgress
from hpsweep._live import make_progress
from hpsweep._progress import PlainProgress
from hpsweep._progress import TrialOutcome


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def outcome(number: int, why: str, value: float | None, **params: object) -> TrialOutcome:
    state = {"complete": "complete", "pruned": "pruned"}.get(why, "fail")
    return TrialOutcome(
        number=number,
        state=state,
        why=why,
        values=(value,) if value is not None else None,
        params=params,
        duration_s=2.0,
    )


def drawn(progress: RichProgress, width: int = 110) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(progress.renderable())
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_view_shows_progress_running_trials_best_and_endings() -> None:
    clock = FakeClock()
    console = Console(file=io.StringIO(), force_terminal=True, width=110)
    progress = RichProgress(console=console, clock=clock)
    progress.started(study="demo", storage="hpsweep.journal", total=10, done=2)
    try:
        progress.trial_started(2, {"lr": 0.01, "opt": "adam"})
        progress.trial_started(3, {"lr": 0.5, "opt": "sgd"})
        best = outcome(2, "complete", 0.25, lr=0.01, opt="adam")
        clock.now += 10
        progress.trial_ended(best, best=best)
        progress.trial_ended(outcome(4, "pruned", None, lr=0.9), best=best)
        progress.trial_ended(outcome(5, "failed", None, lr=0.7), best=best)
        progress.trial_started(6, {"lr": 0.002, "opt": "sgd"})
        progress.trial_reported(3, 7, 0.125)
        clock.now += 5
        text = drawn(progress)
    finally:
        progress.close()
    assert "study 'demo' on hpsweep.journal" in text
    assert "5/10 trials" in text and "50%" in text
    assert "elapsed 0:15" in text and "ETA 0:25" in text  # 3 trials in 15 s, 5 to go
    assert "running 2  complete 1  pruned 1  failed 1" in text
    assert "best trial 2 = 0.25  lr=0.01, opt=adam" in text
    running_row = next(line for line in text.splitlines() if "lr=0.5, opt=sgd" in line)
    assert running_row.split()[:4] == ["3", "0:15", "7", "0.125"]
    assert "lr=0.002, opt=sgd" in text
    assert "failed" in text and "pruned" in text


def test_a_study_without_a_total_shows_counts_not_a_bar() -> None:
    progress = RichProgress(console=Console(file=io.StringIO()), clock=FakeClock())
    progress._state.total = None
    text = drawn(progress)
    assert "0 trials" in text and "ETA" not in text and "%" not in text


def test_many_running_trials_are_cut_to_the_row_limit() -> None:
    progress = RichProgress(console=Console(file=io.StringIO()), clock=FakeClock(), max_rows=3)
    for number in range(8):
        progress.trial_started(number, {"x": number})
    assert "... and 5 more" in drawn(progress)


def test_hot_path_methods_only_update_state_and_rich_draws_on_its_own_thread() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    progress = RichProgress(console=console, refresh_per_second=20)
    drawing_threads: set[str] = set()
    draw = progress.renderable

    def spy() -> object:
        drawing_threads.add(threading.current_thread().name)
        return draw()

    progress.renderable = spy  # type: ignore[method-assign]
    progress.started(study="s", storage="x", total=None, done=0)
    try:
        drawing_threads.clear()  # start() and close() draw once on the caller's thread
        began = time.perf_counter()
        calls = 20_000
        for number in range(calls):
            progress.trial_started(number, {"x": 1})
            progress.trial_reported(number, 1, 0.5)
            progress.trial_ended(outcome(number, "complete", 0.5, x=1), best=None)
        per_call = (time.perf_counter() - began) / (3 * calls)
        deadline = time.monotonic() + 5
        while not drawing_threads and time.monotonic() < deadline:
            time.sleep(0.05)
        drawn_by = set(drawing_threads)
    finally:
        progress.close()
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} µs per call"
    assert drawn_by and threading.current_thread().name not in drawn_by


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_live_view_is_for_terminals_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    assert isinstance(make_progress(quiet=False, stream=FakeTerminal()), RichProgress)
    plain = make_progress(quiet=False, stream=io.StringIO())
    assert isinstance(plain, PlainProgress) and not plain._quiet
    quiet = make_progress(quiet=True, stream=FakeTerminal())
    assert isinstance(quiet, PlainProgress) and quiet._quiet
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(make_progress(quiet=False, stream=FakeTerminal()), PlainProgress)


OBJECTIVE = textwrap.dedent("""
    import time
    import hpsweep

    def slow(p):
        for step in range(3):
            time.sleep(0.15)
            hpsweep.report(p["x"] + step, step=step)
        return p["x"]
    """)
RUN = ["run", "-n", "4", "-j", "2", "-p", "x=float(0,1)", "--objective", "objectives:slow"]


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HPSWEEP_")}
    clean.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
    return clean


def run_in_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run hpsweep with a pseudo-terminal as its stdout and stderr; returns its exit code and
    everything it wrote there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "hpsweep", *args],
        cwd=cwd,
        env=env(),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks: list[bytes] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closes when the process is gone
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            elif process.poll() is not None:
                break
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return code, b"".join(chunks).decode(errors="replace")


def test_run_on_a_terminal_shows_the_live_view(tmp_path: Path) -> None:
    (tmp_path / "objectives.py").write_text(OBJECTIVE)
    code, screen = run_in_terminal(RUN, tmp_path)
    assert code == 0, screen
    assert "\x1b[" in screen  # drawn with terminal control sequences
    assert "━" in screen and "4/4 trials" in screen
    assert "last value" in screen  # a frame drawn while trials ran
    assert "best trial" in screen and "complete 4" in screen
    assert "[1/4] trial" not in screen
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen).rstrip().splitlines()[-1]
    assert last.startswith("hpsweep: study 'default': 4 complete this run")


def test_run_in_a_pipe_prints_plain_lines(tmp_path: Path) -> None:
    (tmp_path / "objectives.py").write_text(OBJECTIVE)
    done = subprocess.run(
        [sys.executable, "-m", "hpsweep", *RUN],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "\x1b[" not in done.stderr
    assert lines[0].startswith("hpsweep: study 'default' on hpsweep.journal (0/4 trials done)")
    assert [line.split()[0] for line in lines[1:5]] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert lines[-1].startswith("hpsweep: study 'default': 4 complete this run")


def test_quiet_prints_only_the_summary_even_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "objectives.py").write_text(OBJECTIVE)
    code, screen = run_in_terminal([*RUN, "--quiet"], tmp_path)
    assert code == 0, screen
    assert screen.strip().splitlines() == [screen.strip()]
    assert screen.startswith("hpsweep: study 'default': 4 complete this run")
