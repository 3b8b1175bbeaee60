"""Trials that misbehave: they flood stdout or stderr, write invalid UTF-8, close their report
channel, leave a daemon behind, ignore SIGTERM, or report thousands of steps a second. The
controller stays responsive (other trials start and end on time), its memory stays flat, logs
are capped with a note, and each such trial ends in a recorded state (docs/protocol.md, "Lines,
logs and limits" and "Stopping")."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpsweep import client
from hpsweep.runner import CommandExecutor
from hpsweep.runner import Ended
from hpsweep.runner import Reported
from hpsweep.runner import TrialSpec
from hpsweep.runner import _command
from hpsweep.runner._command import LOG_LIMIT
from hpsweep.runner._command import log_limit_from_env
from hpsweep.runner._procutil import parse_size
from support import clean_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")

SRC = Path(client.__file__).parents[1]
PYTHON = sys.executable

# One script, many faults: `python faulty.py MODE [ARG]`, or `python faulty.py N` in a study,
# where trial N plays STUDY_MODES[N] and every other trial is a short, well-behaved one.
FAULTY = r"""
import os, signal, socket, sys, time

def result(value):
    print('hpsweep: {"result": %s}' % value, flush=True)

def short(arg):
    time.sleep(0.2)
    result(1.0)

def flood(fd, megabytes):
    chunk = b"y\n" * (1 << 19)  # 1 MiB of tiny lines: the worst case for line splitting
    stream = os.fdopen(fd, "wb", buffering=0, closefd=False)
    for _ in range(megabytes):
        stream.write(chunk)
    stream.write(b"\xff\xfe not UTF-8 \x80\n")

def flood_stdout(arg):
    flood(1, int(arg or 200))
    result(2.0)

def flood_stderr(arg):
    flood(2, int(arg or 200))
    sys.stderr.write("ValueError: the real reason, after the flood\n")
    sys.exit(1)

def invalid_utf8(arg):
    out = sys.stdout.buffer
    out.write(b"\xff\xfe\x00 plain garbage \x80\x81\n")
    out.write(b'hpsweep: {"step": 0, "value": 0.5}\xff\n')  # not JSON once decoded: noted
    out.write(b'hpsweep: {"step": 1, "value": 0.25}\n')
    out.flush()
    sys.stderr.buffer.write(b"\xff\xfe stderr garbage\n")
    sys.stderr.flush()
    channel = socket.socket(fileno=int(os.environ["HPSWEEP_CHANNEL_FD"]))
    channel.sendall(b'\xff\xfe\x80\n{"v":1,"op":"report","value":0.125,"step":2}\n'
                    b'{"v":1,"op":"final","result":\xff}\n{"v":1,"op":"final","result":3.0}\n')

def close_channel(arg):
    os.close(int(os.environ["HPSWEEP_CHANNEL_FD"]))
    from hpsweep import client  # finds no channel: falls back to marker lines
    for step in range(3):
        client.report(step / 10, step)
        time.sleep(0.05)
    assert client.should_prune() is False
    client.report_final(4.0)

def close_channel_later(arg):
    fd = int(os.environ["HPSWEEP_CHANNEL_FD"])
    from hpsweep import client
    client.report(0.5, 0)
    assert client.should_prune() is False
    os.close(fd)  # under the client's feet
    for step in range(1, 4):  # the socket is gone: reports are dropped, should_prune is True
        client.report(step / 10, step)
    print('hpsweep: {"step": 9, "value": 0.9}', flush=True)  # marker lines still work
    result(5.0)

def daemon(pidfile):
    # double fork + setsid: the grandchild leaves the trial's session and process group
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open(pidfile + ".tmp", "w") as handle:
                handle.write(str(os.getpid()))
            os.rename(pidfile + ".tmp", pidfile)
            time.sleep(120)  # holding stdout, stderr and the channel
            os._exit(0)
        os._exit(0)
    while not os.path.exists(pidfile):
        time.sleep(0.01)
    result(6.0)

def group_child(pidfile):
    # a double fork without setsid stays in the trial's process group: it dies with the trial
    if os.fork() == 0:
        if os.fork() == 0:
            with open(pidfile + ".tmp", "w") as handle:
                handle.write(str(os.getpid()))
            os.rename(pidfile + ".tmp", pidfile)
            time.sleep(120)
            os._exit(0)
        os._exit(0)
    while not os.path.exists(pidfile):
        time.sleep(0.01)
    result(7.0)

def ignore_term(arg):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print('hpsweep: {"step": 0, "value": 1.0}', flush=True)
    while True:
        time.sleep(1)

def report_flood(kind, seconds=2.0):
    from hpsweep import client
    end = time.monotonic() + seconds
    step = 0
    while time.monotonic() < end:
        if kind == "markers":
            lines = ''.join('hpsweep: {"step": %d, "value": %d}\n' % (s, s)
                            for s in range(step, step + 100))
            sys.stdout.write(lines)
            sys.stdout.flush()
            step += 100
        else:
            for _ in range(100):
                client.report(float(step), step)
                step += 1
    with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "sent"), "w") as handle:
        handle.write(str(step))
    result(8.0)

MODES = {
    "short": short,
    "flood_stdout": flood_stdout,
    "flood_stderr": flood_stderr,
    "invalid_utf8": invalid_utf8,
    "close_channel": close_channel,
    "close_channel_later": close_channel_later,
    "daemon": daemon,
    "group_child": group_child,
    "ignore_term": ignore_term,
    "channel_flood": lambda arg: report_flood("channel", float(arg or 2)),
    "marker_flood": lambda arg: report_flood("markers", float(arg or 2)),
}
STUDY_MODES = {
    0: ("flood_stdout", "200"),
    1: ("marker_flood", "2"),
    2: ("daemon", os.path.join(os.environ.get("HPSWEEP_TRIAL_DIR", "."), "daemon.pid")),
    3: ("close_channel", ""),
    4: ("invalid_utf8", ""),
    5: ("channel_flood", "2"),
    6: ("flood_stderr", "200"),
}

if sys.argv[1].isdigit():
    mode, arg = STUDY_MODES.get(int(sys.argv[1]), ("short", ""))
else:
    mode, arg = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
MODES[mode](arg)
"""


def child_env(**extra: str) -> dict[str, str]:
    """This hpsweep importable, no HPSWEEP_* from outside, byte-code caching on."""
    env = clean_env(drop=["PYTHONDONTWRITEBYTECODE"])
    env["PYTHONPATH"] = str(SRC)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "hpsweep-test-pycache")
    env.update(extra)
    return env


def rss_mib(pid: int | str = "self") -> float:
    """Resident memory of a process, from /proc/<pid>/status (VmRSS), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def alive(pid: int) -> bool:
    """Running (a zombie, or gone, counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def kill_pid_in(path: Path) -> None:
    """Kill the process whose pid a trial wrote to ``path`` (a daemon it left behind)."""
    try:
        pid = int(path.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


CAPPED = re.compile(rb"\n\[hpsweep: log capped at (\d+) bytes; (\d+) bytes dropped\]\n$")


class Harness:
    """Executors on the faulty script, driven as the controller drives them; all closed after."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.script = directory / "faulty.py"
        self.script.write_text(FAULTY)
        self.executors: list[CommandExecutor] = []
        self.pid_files: list[Path] = []

    def executor(self, **options: Any) -> CommandExecutor:
        options.setdefault("base_env", child_env())
        executor = CommandExecutor([PYTHON, str(self.script), "{mode}", "{arg}"], **options)
        self.executors.append(executor)
        return executor

    def spec(self, number: int, mode: str, arg: object = "") -> TrialSpec:
        trial_dir = self.directory / f"trial-{number}"
        return TrialSpec(number, number, "faults", {"mode": mode, "arg": arg}, trial_dir)

    def run(
        self, mode: str, arg: object = "", **options: Any
    ) -> tuple[list[Reported], Ended, Path]:
        executor = self.executor(**options)
        spec = self.spec(0, mode, arg)
        executor.start(spec)
        reports: list[Reported] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for event in executor.poll(0.1):
                if isinstance(event, Reported):
                    reports.append(event)
                    executor.decide(event.number, False)
                else:
                    assert spec.trial_dir is not None
                    return reports, event, spec.trial_dir
        raise AssertionError(f"trial {mode} did not end")

    def close(self) -> None:
        for executor in self.executors:
            executor.close()
        for path in self.pid_files:
            kill_pid_in(path)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    try:
        yield made
    finally:
        made.close()


def drive_with_short_trials(
    executor: CommandExecutor,
    harness: Harness,
    fault: TrialSpec,
    *,
    report_cost: float = 0.0,
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Run ``fault`` in one slot and 0.2 s trials one after another in the other, as the
    controller would (``report_cost`` seconds of work per report, as storing it costs), until
    the fault ends. Returns what was seen: the fault's reports and end, the short trials'
    durations, the longest poll call, the most reports one poll returned, and RSS samples."""
    executor.start(fault)
    number = 1
    started = {number: time.monotonic()}
    executor.start(harness.spec(number, "short"))
    seen: dict[str, Any] = {
        "reports": [],
        "short": [],
        "longest_poll": 0.0,
        "most_reports": 0,
        "rss": [rss_mib()],
    }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        begun = time.monotonic()
        events = executor.poll(0.05)
        seen["longest_poll"] = max(seen["longest_poll"], time.monotonic() - begun)
        reports = [e for e in events if isinstance(e, Reported) and e.number == fault.number]
        seen["most_reports"] = max(seen["most_reports"], len(reports))
        for event in events:
            if isinstance(event, Reported):
                if event.number == fault.number:
                    seen["reports"].append(event)
                if report_cost:
                    time.sleep(report_cost)
                executor.decide(event.number, False)
            elif event.number == fault.number:
                seen["ended"] = event
                seen["rss"].append(rss_mib())
                return seen
            else:
                assert event.result == 1.0, event
                seen["short"].append(time.monotonic() - started.pop(event.number))
                seen["rss"].append(rss_mib())
                number += 1
                started[number] = time.monotonic()
                executor.start(harness.spec(number, "short"))
    raise AssertionError("the faulty trial did not end")


# ---------------------------------------------------------------------------- floods


def test_a_stdout_flood_is_capped_and_starves_nobody(harness: Harness) -> None:
    executor = harness.executor(jobs=2, log_limit=8 << 20)
    before = rss_mib()
    seen = drive_with_short_trials(executor, harness, harness.spec(0, "flood_stdout", 256))
    ended: Ended = seen["ended"]
    # the marker line after 256 MiB of output is still read, and the trial ends complete
    assert ended.result == 2.0 and ended.error is None
    flooded = (
        256 * (1 << 20) + len(b"\xff\xfe not UTF-8 \x80\n") + len('hpsweep: {"result": 2.0}\n')
    )
    dropped = flooded - (8 << 20)
    assert ended.notes == (
        "stdout.log capped at 8 MiB (set HPSWEEP_LOG_LIMIT to change it); "
        f"{dropped} bytes dropped",
    )
    log = (harness.directory / "trial-0" / "stdout.log").read_bytes()
    last = f"[hpsweep: log capped at {8 << 20} bytes; {dropped} bytes dropped]\n".encode()
    assert log.endswith(b"y\n" + last) and len(log) == (8 << 20) + len(last)
    # the other slot kept running 0.2 s trials, each promptly; the loop never blocked
    assert seen["short"], "no short trial ended while the flood ran"
    assert max(seen["short"]) < 2.0, seen["short"]
    assert seen["longest_poll"] < 0.5, seen["longest_poll"]
    # 256 MiB went through the controller; its memory did not grow with it
    assert max(seen["rss"]) - before < 24, (before, seen["rss"])


def test_a_stderr_flood_is_capped_and_the_error_still_names_its_reason(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HPSWEEP_LOG_LIMIT", "1M")
    before = rss_mib()
    _, ended, trial_dir = harness.run("flood_stderr", 64)
    assert ended.error is not None
    assert ended.error.startswith("exit code 1; stderr: ")
    assert ended.error.endswith("ValueError: the real reason, after the flood")
    assert len(ended.notes) == 1 and ended.notes[0].startswith("stderr.log capped at 1 MiB")
    log = (trial_dir / "stderr.log").read_bytes()
    assert CAPPED.search(log) is not None and len(log) < (1 << 20) + 100
    assert (trial_dir / "stdout.log").read_bytes() == b""
    assert rss_mib() - before < 24


def test_the_log_limit_setting() -> None:
    assert log_limit_from_env({}) == LOG_LIMIT == 100 << 20
    assert log_limit_from_env({"HPSWEEP_LOG_LIMIT": "2G"}) == 2 << 30
    assert log_limit_from_env({"HPSWEEP_LOG_LIMIT": "0"}) == 0  # no cap
    assert parse_size("1.5 MiB") == 3 << 19
    from hpsweep._errors import ConfigError

    with pytest.raises(ConfigError, match="HPSWEEP_LOG_LIMIT='lots' is not a size"):
        log_limit_from_env({"HPSWEEP_LOG_LIMIT": "lots"})


def test_no_cap_with_log_limit_zero(harness: Harness) -> None:
    _, ended, trial_dir = harness.run("flood_stdout", 3, log_limit=0)
    assert ended.result == 2.0 and ended.notes == ()
    assert (trial_dir / "stdout.log").stat().st_size > 3 << 20


def test_a_retry_gets_its_own_cap(harness: Harness) -> None:
    executor = harness.executor(log_limit=1 << 20)
    for attempt in range(2):
        spec = harness.spec(0, "flood_stdout", 2)
        executor.start(TrialSpec(0, 0, "faults", spec.params, spec.trial_dir, attempt=attempt))
        while not any(isinstance(e, Ended) for e in executor.poll(0.1)):
            pass
    log = (harness.directory / "trial-0" / "stdout.log").read_bytes()
    assert log.count(b"[hpsweep: log capped at 1048576 bytes;") == 2
    assert b"----- hpsweep: trial 0, attempt 2 -----\n" in log


@pytest.mark.parametrize("kind", ["channel_flood", "marker_flood"])
def test_thousands_of_reports_a_second_are_all_taken_in_bounded_batches(
    harness: Harness, kind: str
) -> None:
    executor = harness.executor(jobs=2)
    before = rss_mib()
    # each report costs the "controller" 0.2 ms, as storing one does: the trial is slowed down
    # (its pipe fills), the other slot is not
    seen = drive_with_short_trials(
        executor, harness, harness.spec(0, kind, 1.5), report_cost=0.0002
    )
    ended: Ended = seen["ended"]
    assert ended.result == 8.0 and ended.error is None and ended.notes == ()
    sent = int((harness.directory / "trial-0" / "sent").read_text())
    assert [r.step for r in seen["reports"]] == list(range(sent))  # none lost, in order
    assert sent >= 1000
    assert seen["most_reports"] <= 64  # one poll hands back a bounded batch per trial
    assert seen["short"] and max(seen["short"]) < 2.0, seen["short"]
    assert seen["longest_poll"] < 0.5, seen["longest_poll"]
    assert max(seen["rss"]) - before < 24


# ------------------------------------------------------------------------ line splitting


def _reference_lines(
    stream: bytes, limit: int, needles: tuple[bytes, ...]
) -> tuple[list[bytes], list[bytes], int]:
    """What the line splitter must give for ``stream``: complete lines up to ``limit`` bytes
    holding a needle (all of them without needles), the unterminated rest, and how many lines
    were too long."""
    *complete, last = stream.split(b"\n")
    lines = [
        x for x in complete if len(x) <= limit and (not needles or any(n in x for n in needles))
    ]
    overlong = sum(1 for x in complete if len(x) > limit) + (len(last) > limit)
    return lines, [last] if last and len(last) <= limit else [], overlong


@pytest.mark.parametrize("needles", [(), (b"hpsweep:", b"}")])
def test_line_splitting_matches_a_plain_split(
    needles: tuple[bytes, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The splitter skips uninteresting lines without looking at them one by one; on random
    streams cut at random places it must still agree with ``bytes.split``."""
    monkeypatch.setattr(_command, "LINE_LIMIT", 24)
    rng = random.Random(7)
    pieces = [b"\n", b"y", b"hpsweep:", b"}", b"{", b"x" * 30, b"\xff", b" "]
    for _ in range(400):
        stream = b"".join(rng.choice(pieces) for _ in range(rng.randrange(60)))
        splitter = _command._Lines(needles)
        got: list[bytes] = []
        position = 0
        while position < len(stream):
            step = rng.choice([1, 2, 5, 17, 64])
            got += splitter.feed(stream[position : position + step])
            position += step
        rest = splitter.rest()
        assert (got, rest, splitter.overlong) == _reference_lines(stream, 24, needles), stream


# ---------------------------------------------------------------------------- garbage


def test_invalid_utf8_everywhere_is_survived(harness: Harness) -> None:
    reports, ended, trial_dir = harness.run("invalid_utf8")
    assert sorted((r.step, r.value, r.cooperative) for r in reports) == [
        (1, 0.25, False),
        (2, 0.125, True),
    ]
    assert ended.result == 3.0 and ended.error is None
    assert len(ended.notes) == 1
    assert ended.notes[0].startswith("3 malformed report lines ignored, first: ")
    assert (trial_dir / "stdout.log").read_bytes().startswith(b"\xff\xfe\x00 plain garbage")
    assert (trial_dir / "stderr.log").read_bytes() == b"\xff\xfe stderr garbage\n"


# ---------------------------------------------------------------------- the channel


def test_a_trial_that_closes_its_channel_at_once_reports_by_marker_lines(
    harness: Harness,
) -> None:
    reports, ended, _ = harness.run("close_channel")
    assert [(r.step, r.value, r.cooperative) for r in reports] == [
        (0, 0.0, False),
        (1, 0.1, False),
        (2, 0.2, False),
    ]
    assert ended.result == 4.0 and ended.error is None and ended.notes == ()


def test_a_trial_that_closes_its_channel_later_keeps_running(harness: Harness) -> None:
    reports, ended, _ = harness.run("close_channel_later")
    # the report before the close arrives; those after it are lost with the socket; marker
    # lines still arrive; the trial ends with its result, recorded as complete
    assert [(r.step, r.cooperative) for r in reports] == [(0, True), (9, False)]
    assert ended.result == 5.0 and ended.error is None and not ended.pruned


# ------------------------------------------------------------------------ daemons


def test_a_daemon_that_left_the_group_does_not_hold_the_trial(harness: Harness) -> None:
    pid_file = harness.directory / "daemon.pid"
    harness.pid_files.append(pid_file)
    started = time.monotonic()
    _, ended, _ = harness.run("daemon", pid_file)
    took = time.monotonic() - started
    daemon = int(pid_file.read_text())
    # the trial ends when its main process exits, with a note naming the daemon that still
    # holds its pipes; hpsweep leaves it alone (it asked to leave with setsid)
    assert ended.result == 6.0 and ended.error is None
    assert took < 3.0
    assert len(ended.notes) == 1
    assert re.fullmatch(
        rf"process {daemon} \(python[\d.]*\) still held its stdout, stderr and channel after "
        r"it ended: it left the trial's process group \(setsid\?\), so hpsweep did not stop it",
        ended.notes[0],
    ), ended.notes
    assert alive(daemon)


def test_a_forked_child_in_the_group_dies_with_the_trial(harness: Harness) -> None:
    pid_file = harness.directory / "child.pid"
    harness.pid_files.append(pid_file)
    started = time.monotonic()
    _, ended, _ = harness.run("group_child", pid_file)
    assert time.monotonic() - started < 3.0
    assert ended.result == 7.0 and ended.error is None and ended.notes == ()
    child = int(pid_file.read_text())
    assert until(lambda: not alive(child), timeout=2.0), "the orphan outlived its trial"


# -------------------------------------------------------------- through the CLI


def _hpsweep(*argv: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "hpsweep", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _stored(cwd: Path, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    listing = _hpsweep("trials", "--format", "json", "--history", cwd=cwd, env=env)
    assert listing.returncode == 0, listing.stderr
    return {trial["number"]: trial for trial in json.loads(listing.stdout)}


def test_a_trial_that_ignores_sigterm_is_killed_and_recorded(tmp_path: Path) -> None:
    (tmp_path / "faulty.py").write_text(FAULTY)
    env = child_env()
    started = time.monotonic()
    run = _hpsweep(
        *("run", "-n", "1", "-p", "x=float(0,1)", "--sampler", "random"),
        *("--trial-timeout", "1", "--grace", "0.5"),
        *("--", PYTHON, "faulty.py", "ignore_term"),
        cwd=tmp_path,
        env=env,
    )
    assert time.monotonic() - started < 15
    assert run.returncode == 0, run.stderr
    trial = _stored(tmp_path, env)[0]
    assert trial["state"] == "fail"
    assert trial["user_attrs"] == {
        "why": "timeout",
        "error": "exceeded the trial timeout of 1s",
        "notes": ["did not stop within 0.5 s of SIGTERM; killed"],
    }


class Sampler(threading.Thread):
    """Samples a process's VmRSS every 50 ms until it exits."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []

    def run(self) -> None:
        start = time.monotonic()
        while True:
            try:
                self.samples.append((time.monotonic() - start, rss_mib(self.pid)))
            except (OSError, AssertionError):
                return
            time.sleep(0.05)


def test_a_study_of_faulty_trials_through_the_cli(tmp_path: Path) -> None:
    """Seven kinds of faulty trial among short ones, two at a time: every trial ends in a
    recorded state with its notes, the short trials keep finishing, memory stays flat."""
    (tmp_path / "faulty.py").write_text(FAULTY)
    env = child_env(HPSWEEP_LOG_LIMIT="16M")
    argv = [
        *("-m", "hpsweep", "run", "-n", "16", "-j", "2", "-p", "x=float(0,1)"),
        *("--sampler", "random", "--pruner", "none", "--trial-timeout", "30"),
        *("--", PYTHON, "faulty.py", "{trial.number}"),
    ]
    controller = subprocess.Popen(
        [PYTHON, *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = Sampler(controller.pid)
    sampler.start()
    try:
        _, progress = controller.communicate(timeout=60)
    finally:
        controller.kill()
        controller.wait()
        kill_pid_in(tmp_path / "hpsweep-runs" / "default" / "trial-2" / "daemon.pid")
    sampler.join()
    assert controller.returncode == 0, progress
    trials = _stored(tmp_path, env)
    assert sorted(trials) == list(range(16))
    why = {number: trial["user_attrs"]["why"] for number, trial in trials.items()}
    assert why == {**dict.fromkeys(range(16), "complete"), 6: "failed"}, progress
    notes = {n: trial["user_attrs"].get("notes", []) for n, trial in trials.items()}
    capped = "capped at 16 MiB (set HPSWEEP_LOG_LIMIT to change it); "
    assert len(notes[0]) == 1 and notes[0][0].startswith("stdout.log " + capped)
    assert len(notes[6]) == 1 and notes[6][0].startswith("stderr.log " + capped)
    assert trials[6]["user_attrs"]["error"].endswith(
        "ValueError: the real reason, after the flood"
    )
    assert len(notes[2]) == 1 and "left the trial's process group (setsid?)" in notes[2][0]
    assert notes[4][0].startswith("3 malformed report lines ignored")
    for number in (1, 5):  # every report of the report floods is stored
        sent = (tmp_path / "hpsweep-runs" / "default" / f"trial-{number}" / "sent").read_text()
        assert len(trials[number]["intermediate_values"]) == int(sent) >= 1000
    # the short trials (0.2 s each) kept finishing while the floods ran, and progress with them
    short = [trials[n]["duration_s"] for n in range(7, 16)]
    assert max(short) < 3.0 and sorted(short)[len(short) // 2] < 1.5, short
    assert len(re.findall(r"^\[\d+/16\] trial \d+ ", progress, re.M)) == 16, progress
    # 400 MiB of floods and thousands of reports went through; the controller stayed small
    peak = max(rss for _, rss in sampler.samples)
    assert peak < 100, sampler.samples  # 55 MiB measured; a normal study takes about 50
