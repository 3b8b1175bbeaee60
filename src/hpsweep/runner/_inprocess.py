"""Run Python callables as trials in threads of the controller's process."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpsweep import client
from hpsweep.runner._base import Ended
from hpsweep.runner._base import Event
from hpsweep.runner._base import Reported
from hpsweep.runner._base import TrialSpec

Objective = Callable[[dict[str, Any]], object]


def describe_exception(error: BaseException) -> str:
    """``TypeName: message``, the form failures are recorded in."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def is_pruned_exception(error: BaseException) -> bool:
    """hpsweep's, optuna's or any framework's ``TrialPruned``, recognised by name alone."""
    return type(error).__name__ == "TrialPruned"


def call_objective(objective: Objective, channel: _ThreadChannel, spec: TrialSpec) -> Ended:
    """Run one trial in this thread, with ``channel`` as its client, and say how it ended."""
    with client.bound(channel):
        try:
            result = objective(dict(spec.params))
        except BaseException as error:  # a trial must never take its host down
            if is_pruned_exception(error):
                return Ended(spec.number, pruned=True)
            return Ended(spec.number, error=describe_exception(error))
    return Ended(
        spec.number,
        result=channel.final if result is None else result,
        pruned=channel.told_to_prune,
    )


class _ThreadChannel:
    """The channel of one in-process trial: reports go to the executor's queue, and
    ``should_prune()`` waits for the controller's decision on the last reported step."""

    def __init__(self, spec: TrialSpec, events: queue.SimpleQueue[Event]) -> None:
        self.params = dict(spec.params)
        self.number: int | None = spec.number
        self.final: object | None = None
        self._spec = spec
        self._events = events
        self._changed = threading.Condition()
        self._sent = 0
        self._answered = 0
        self._prune = False
        self._stopping = False
        self._next_step = 0
        self.told_to_prune = False

    @property
    def trial_dir(self) -> Path | None:
        """The trial's directory, made when first asked for: a sweep of quick functions that
        never ask leaves no empty folders behind."""
        directory = self._spec.trial_dir
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        return directory

    def report(self, value: float, step: int | None) -> None:
        if step is None:
            step = self._next_step
        self._next_step = step + 1
        with self._changed:
            self._sent += 1
        self._events.put(Reported(self._spec.number, step, float(value)))

    def should_prune(self) -> bool:
        with self._changed:
            self._changed.wait_for(lambda: self._stopping or self._answered >= self._sent)
            if self._stopping or self._prune:
                self.told_to_prune = True
                return True
            return False

    def report_final(self, result: object) -> None:
        self.final = result

    def answer(self, prune: bool) -> None:
        with self._changed:
            self._answered += 1
            self._prune = self._prune or prune
            self._changed.notify_all()

    def ask_to_stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()


class InProcessExecutor:
    """Runs ``objective(params)`` in up to ``jobs`` threads.

    Threads cannot be killed: :meth:`stop` makes ``should_prune()`` return True, and a trial that
    still runs after the grace period is abandoned (reported as stopped; its thread is left to
    finish on its own and its result is ignored). Use process executors for hard limits.
    """

    def __init__(self, objective: Objective, *, jobs: int = 1) -> None:
        self._objective = objective
        self._jobs = jobs
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._channels: dict[int, _ThreadChannel] = {}
        self._deadlines: dict[int, float] = {}
        self._work: queue.SimpleQueue[tuple[_ThreadChannel, TrialSpec] | None] = (
            queue.SimpleQueue()
        )
        self._threads = 0
        self._abandoned_numbers: set[int] = set()

    @property
    def slots(self) -> int:
        return self._jobs

    def start(self, spec: TrialSpec) -> None:
        channel = _ThreadChannel(spec, self._events)
        self._channels[spec.number] = channel
        # Worker threads are reused: starting a thread costs more than a trivial trial. A thread
        # held by an abandoned trial is replaced, so running trials always have one each.
        if self._threads < len(self._channels) + self._abandoned:
            self._threads += 1
            threading.Thread(target=self._work_loop, name="hpsweep-trial", daemon=True).start()
        self._work.put((channel, spec))

    def _work_loop(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            self._run(*item)

    def _run(self, channel: _ThreadChannel, spec: TrialSpec) -> None:
        self._events.put(call_objective(self._objective, channel, spec))

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        wait = self._wait_bound(timeout)
        try:
            events.append(
                self._events.get(timeout=wait) if wait > 0 else self._events.get_nowait()
            )
        except queue.Empty:
            pass
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        return self._settle(events)

    def _wait_bound(self, timeout: float) -> float:
        if not self._deadlines:
            return timeout
        return max(0.0, min(timeout, min(self._deadlines.values()) - time.monotonic()))

    def _settle(self, events: list[Event]) -> list[Event]:
        """Drop events of abandoned trials, mark stopped ones, abandon those past their grace."""
        settled: list[Event] = []
        for event in events:
            if event.number not in self._channels:
                if isinstance(event, Ended) and event.number in self._abandoned_numbers:
                    self._abandoned_numbers.discard(event.number)  # its thread is free again
                continue
            if isinstance(event, Ended):
                del self._channels[event.number]
                if self._deadlines.pop(event.number, None) is not None:
                    event = Ended(
                        event.number,
                        result=event.result,
                        error=event.error,
                        pruned=event.pruned,
                        stopped=True,
                    )
            settled.append(event)
        now = time.monotonic()
        for number, deadline in list(self._deadlines.items()):
            if deadline <= now:
                del self._deadlines[number]
                del self._channels[number]
                self._abandoned_numbers.add(number)
                settled.append(
                    Ended(number, stopped=True, notes=("did not stop in time; thread abandoned",))
                )
        return settled

    def decide(self, number: int, prune: bool) -> None:
        channel = self._channels.get(number)
        if channel is not None:
            channel.answer(prune)

    def stop(self, number: int, *, grace: float) -> None:
        channel = self._channels.get(number)
        if channel is not None and number not in self._deadlines:
            channel.ask_to_stop()
            self._deadlines[number] = time.monotonic() + grace

    @property
    def _abandoned(self) -> int:
        return len(self._abandoned_numbers)

    def close(self) -> None:
        for number in list(self._channels):
            self.stop(number, grace=0.0)
        self._settle([])
        for _ in range(self._threads):
            self._work.put(None)  # idle workers exit; abandoned ones finish on their own
        self._threads = 0
