"""Tests every executor must pass, for executor test modules to subclass.

::

    from hpsweep.testing import BEHAVIOURS, ExecutorContract

    class TestMyExecutor(ExecutorContract):
        def make_executor(self, behaviour: str, *, jobs: int = 1) -> Executor:
            return MyExecutor(BEHAVIOURS[behaviour], jobs=jobs)

:meth:`ExecutorContract.make_executor` returns an executor whose every trial behaves as the named
behaviour (one of :data:`BEHAVIOURS`, the reference implementations as Python functions of
``params``). The tests drive it as the controller does and need no pytest fixtures, so this module
imports nothing but the standard library and hpsweep's trial side: child processes can import the
behaviours cheaply (``hpsweep.testing:double``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from typing import ClassVar

from hpsweep import client
from hpsweep.runner import Ended
from hpsweep.runner import Executor
from hpsweep.runner import Reported
from hpsweep.runner import TrialSpec

__all__ = ["BEHAVIOURS", "ExecutorContract", "drive"]


def double(params: dict[str, Any]) -> object:
    """Returns ``params["x"] * 2``."""
    return params["x"] * 2


def boom(params: dict[str, Any]) -> object:
    """Raises ``ValueError("boom")``."""
    raise ValueError("boom")


def steps(params: dict[str, Any]) -> object:
    """Reports steps 0..4 (value = step) and returns None as soon as ``should_prune()`` is True,
    else returns 10.0."""
    for step in range(5):
        client.report(float(step), step)
        if client.should_prune():
            return None
    return 10.0


def ignore_prune(params: dict[str, Any]) -> object:
    """Reports steps 0..4 without ever asking ``should_prune()``, then returns 5.0."""
    for step in range(5):
        client.report(float(step), step)
    return 5.0


def ask_first(params: dict[str, Any]) -> object:
    """Asks ``should_prune()`` before reporting anything: returns 0.0 if told to prune, else
    1.0."""
    return 0.0 if client.should_prune() else 1.0


def pruned(params: dict[str, Any]) -> object:
    """Reports step 0, then raises ``TrialPruned``."""
    client.report(1.0, 0)
    raise client.TrialPruned()


def final(params: dict[str, Any]) -> object:
    """Reports ``{"objective": params["x"]}`` with ``report_final`` and returns None."""
    client.report_final({"objective": params["x"]})
    return None


def hang(params: dict[str, Any]) -> object:
    """Runs until stopped (it notices ``should_prune()``, which a thread has to)."""
    while not client.should_prune():
        time.sleep(0.01)
    return None


BEHAVIOURS: dict[str, Callable[[dict[str, Any]], object]] = {
    "ask_first": ask_first,
    "boom": boom,
    "double": double,
    "final": final,
    "hang": hang,
    "ignore_prune": ignore_prune,
    "pruned": pruned,
    "steps": steps,
}
"""Behaviour name → reference implementation."""


class ExecutorContract:
    """The executor contract as tests; subclass it and implement :meth:`make_executor`."""

    processes: ClassVar[bool] = False
    """Set True when trials are child processes: then no child (or zombie) may outlive them."""
    stop_margin: ClassVar[float] = 2.0
    """Seconds a stopped trial may take beyond its grace period to end."""
    timeout: ClassVar[float] = 30.0
    """Seconds any one trial may take in these tests."""
    sequential_trials: ClassVar[int] = 50

    def make_executor(self, behaviour: str, *, jobs: int = 1) -> Executor:
        """An executor whose trials all behave as ``behaviour`` (a key of :data:`BEHAVIOURS`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------ harness

    def setup_method(self, method: object) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="hpsweep-contract-"))
        self._executors: list[Executor] = []
        # children this process already had (a test server, a pool) are not the executor's
        self._children_before = set(_children())

    def teardown_method(self, method: object) -> None:
        for executor in self._executors:
            executor.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def executor(self, behaviour: str, *, jobs: int = 1) -> Executor:
        executor = self.make_executor(behaviour, jobs=jobs)
        self._executors.append(executor)
        return executor

    def spec(self, number: int, **params: Any) -> TrialSpec:
        return TrialSpec(
            number=number,
            trial_id=1000 + number,
            study="contract",
            params=params,
            trial_dir=self.directory / f"trial-{number}",
        )

    def run(
        self, executor: Executor, spec: TrialSpec, *, prune_from: int | None = None
    ) -> tuple[list[Reported], Ended]:
        """Start ``spec`` and :func:`drive` it to its end."""
        executor.start(spec)
        return self.finish(executor, [spec.number], prune_from=prune_from)[spec.number]

    def finish(
        self, executor: Executor, numbers: list[int], *, prune_from: int | None = None
    ) -> dict[int, tuple[list[Reported], Ended]]:
        return drive(executor, numbers, prune_from=prune_from, timeout=self.timeout)

    # -------------------------------------------------------------------------- tests

    def test_slots(self) -> None:
        assert self.executor("double", jobs=3).slots == 3

    def test_result_is_delivered(self) -> None:
        reports, ended = self.run(self.executor("double"), self.spec(0, x=21))
        assert (ended.result, ended.error, ended.pruned, ended.stopped) == (42, None, False, False)
        assert reports == []

    def test_final_report_is_the_result(self) -> None:
        _, ended = self.run(self.executor("final"), self.spec(0, x=0.5))
        assert ended.result == {"objective": 0.5}
        assert ended.error is None

    def test_error_text_is_delivered(self) -> None:
        _, ended = self.run(self.executor("boom"), self.spec(0))
        assert ended.error is not None and "ValueError: boom" in ended.error, ended
        assert ended.result is None and not ended.pruned

    def test_reports_arrive_in_order(self) -> None:
        reports, ended = self.run(self.executor("steps"), self.spec(0), prune_from=None)
        assert [(r.step, r.value) for r in reports] == [(s, float(s)) for s in range(5)]
        assert (ended.result, ended.error) == (10.0, None)

    def test_prune_decision_reaches_the_trial(self) -> None:
        reports, ended = self.run(self.executor("steps"), self.spec(0), prune_from=2)
        assert [r.step for r in reports] == [0, 1, 2]
        assert all(r.cooperative for r in reports)
        # told to prune, it returned: pruned, with neither a result nor an error
        assert (ended.result, ended.error, ended.pruned) == (None, None, True), ended

    def test_should_prune_before_any_report_is_false(self) -> None:
        _, ended = self.run(self.executor("ask_first"), self.spec(0))
        assert ended.result == 1.0

    def test_trials_that_never_ask_need_no_answer(self) -> None:
        reports, ended = self.run(self.executor("ignore_prune"), self.spec(0), prune_from=0)
        assert [r.step for r in reports] == [0, 1, 2, 3, 4]
        assert ended.result == 5.0

    def test_trial_can_end_itself_as_pruned(self) -> None:
        reports, ended = self.run(self.executor("pruned"), self.spec(0))
        assert [r.step for r in reports] == [0]
        assert ended.pruned and ended.error is None, ended

    def test_stop_ends_a_hanging_trial(self) -> None:
        executor = self.executor("hang")
        executor.start(self.spec(0))
        assert executor.poll(0.3) == []
        grace = 1.0
        started = time.monotonic()
        executor.stop(0, grace=grace)
        _, ended = self.finish(executor, [0])[0]
        assert ended.stopped, ended
        assert time.monotonic() - started < grace + self.stop_margin

    def test_stop_and_decide_ignore_unknown_trials(self) -> None:
        executor = self.executor("double")
        executor.stop(99, grace=0.0)
        executor.decide(99, True)
        assert executor.poll(0.0) == []

    def test_poll_returns_within_timeout(self) -> None:
        executor = self.executor("hang")
        for timeout in (0.0, 0.2):
            started = time.monotonic()
            assert executor.poll(timeout) == []
            assert time.monotonic() - started < timeout + 0.1
        executor.start(self.spec(0))
        executor.poll(0.2)  # let it start and ask should_prune() repeatedly
        started = time.monotonic()
        assert executor.poll(0.3) == []
        assert time.monotonic() - started < 0.3 + 0.1

    def test_trials_run_in_parallel(self) -> None:
        executor = self.executor("double", jobs=3)
        for number in range(3):
            executor.start(self.spec(number, x=number))
        ended = self.finish(executor, [0, 1, 2])
        assert {number: end.result for number, (_, end) in ended.items()} == {0: 0, 1: 2, 2: 4}

    def test_close_ends_running_trials(self) -> None:
        executor = self.executor("hang", jobs=2)
        executor.start(self.spec(0))
        executor.start(self.spec(1))
        executor.poll(0.3)
        started = time.monotonic()
        executor.close()
        assert time.monotonic() - started < 3.0
        self.check_no_leftovers()

    def test_sequential_trials_leak_nothing(self) -> None:
        before = _open_fds()
        executor = self.executor("double")
        counts: list[int] = []
        for number in range(self.sequential_trials):
            _, ended = self.run(executor, self.spec(number, x=number))
            assert ended.result == 2 * number, ended
            counts.append(_open_fds())
            self.check_no_zombies()
        executor.close()
        assert counts[-1] == counts[4], f"open fds grew from {counts[4]} to {counts[-1]}"
        assert _open_fds() == before
        self.check_no_leftovers()

    # ---------------------------------------------------------------- process checks

    def new_children(self) -> dict[int, str]:
        """Child processes (with their states) that appeared since this test began."""
        return {
            pid: state for pid, state in _children().items() if pid not in self._children_before
        }

    def check_no_zombies(self) -> None:
        if self.processes:
            zombies = [pid for pid, state in self.new_children().items() if state == "Z"]
            assert not zombies, f"unreaped child processes: {zombies}"

    def check_no_leftovers(self) -> None:
        if self.processes:
            left = self.new_children()
            assert left == {}, f"child processes left: {left}"


def drive(
    executor: Executor,
    numbers: list[int],
    *,
    prune_from: int | None = None,
    grace: float = 1.0,
    timeout: float = 30.0,
) -> dict[int, tuple[list[Reported], Ended]]:
    """Poll ``executor`` as the controller does until every trial in ``numbers`` has ended:
    decide every report (prune from step ``prune_from`` on) and stop a trial that cannot hear a
    prune decision. Returns each trial's reports and end; fails after ``timeout`` seconds."""
    reports: dict[int, list[Reported]] = {number: [] for number in numbers}
    ended: dict[int, tuple[list[Reported], Ended]] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(numbers):
        assert time.monotonic() < deadline, f"trials {numbers} did not end in {timeout} s"
        for event in executor.poll(0.1):
            assert event.number in reports, f"event for an unknown trial: {event}"
            if isinstance(event, Reported):
                reports[event.number].append(event)
                prune = prune_from is not None and event.step >= prune_from
                executor.decide(event.number, prune)
                if prune and not event.cooperative:
                    executor.stop(event.number, grace=grace)
            else:
                assert event.number not in ended, f"a second end: {event}"
                ended[event.number] = (reports[event.number], event)
    return ended


def _open_fds() -> int:
    """How many file descriptors this process has open (-1 where /proc is missing)."""
    return len(os.listdir("/proc/self/fd")) if sys.platform.startswith("linux") else -1


def _children() -> dict[int, str]:
    """This process's children and their states (Linux; empty elsewhere)."""
    children: dict[int, str] = {}
    if not sys.platform.startswith("linux"):
        return children
    for task in Path("/proc/self/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            children[int(pid)] = stat.rsplit(")", 1)[1].split()[0]
    return children
