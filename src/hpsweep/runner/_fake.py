"""A scripted executor on a simulated clock, for testing and simulating the controller.

Nothing runs and nothing sleeps: ``poll`` moves the shared :class:`FakeClock` to the next
scripted event, so hours of trials take milliseconds (as in Syne Tune's simulator backend).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

from hpsweep.runner._base import Ended
from hpsweep.runner._base import Event
from hpsweep.runner._base import Reported
from hpsweep.runner._base import TrialSpec


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class FakeTrial:
    """What one trial does: its reports as ``(seconds after start, value)`` pairs, numbered as
    steps 0, 1, ...; then after ``duration`` it returns ``result`` or fails with ``error``."""

    duration: float
    result: object = None
    error: str | None = None
    reports: Sequence[tuple[float, float]] = ()
    cooperative: bool = True
    """Whether it hears prune decisions (a channel) or only reports (marker lines)."""
    ignores_stop: bool = False
    """Whether it ignores the polite stop and needs the kill after the grace period."""
    ignores_prune: bool = False
    """Whether a cooperative trial runs on after being told to prune (it never asks)."""


@dataclass(order=True)
class _Scheduled:
    time: float
    order: int
    event: Event = field(compare=False)


class FakeExecutor:
    """Runs :class:`FakeTrial` scripts chosen by ``script(spec)`` on ``clock``."""

    def __init__(
        self, script: Callable[[TrialSpec], FakeTrial], clock: FakeClock, *, slots: int = 1
    ) -> None:
        self._script = script
        self.clock = clock
        self._slots = slots
        self._queue: list[_Scheduled] = []
        self._order = itertools.count()
        self._trials: dict[int, FakeTrial] = {}
        self.started: list[TrialSpec] = []
        self.decisions: list[tuple[int, bool]] = []
        self.stops: list[int] = []
        self.busy_time = 0.0
        self._start_times: dict[int, float] = {}
        self.max_running = 0

    @property
    def slots(self) -> int:
        return self._slots

    def _schedule(self, at: float, event: Event) -> None:
        heapq.heappush(self._queue, _Scheduled(at, next(self._order), event))

    def _cancel(self, number: int) -> None:
        self._queue = [s for s in self._queue if s.event.number != number]
        heapq.heapify(self._queue)

    def start(self, spec: TrialSpec) -> None:
        trial = self._script(spec)
        now = self.clock.now
        self._trials[spec.number] = trial
        self._start_times[spec.number] = now
        self.started.append(spec)
        self.max_running = max(self.max_running, len(self._trials))
        for step, (offset, value) in enumerate(trial.reports):
            self._schedule(now + offset, Reported(spec.number, step, value, trial.cooperative))
        self._schedule(
            now + trial.duration, Ended(spec.number, result=trial.result, error=trial.error)
        )

    def poll(self, timeout: float) -> list[Event]:
        horizon = self.clock.now + timeout
        if not self._queue or self._queue[0].time > horizon:
            self.clock.now = max(self.clock.now, horizon)
            return []
        self.clock.now = max(self.clock.now, self._queue[0].time)
        events: list[Event] = []
        while self._queue and self._queue[0].time <= self.clock.now:
            event = heapq.heappop(self._queue).event
            if isinstance(event, Ended):
                self._end(event.number)
            events.append(event)
        return events

    def _end(self, number: int) -> None:
        self._trials.pop(number, None)
        self.busy_time += self.clock.now - self._start_times.pop(number, self.clock.now)

    def decide(self, number: int, prune: bool) -> None:
        self.decisions.append((number, prune))
        trial = self._trials.get(number)
        if prune and trial is not None and trial.cooperative and not trial.ignores_prune:
            self._cancel(number)
            self._schedule(self.clock.now, Ended(number, pruned=True))

    def stop(self, number: int, *, grace: float) -> None:
        self.stops.append(number)
        trial = self._trials.get(number)
        if trial is None:
            return
        self._cancel(number)
        delay = grace if trial.ignores_stop else 0.0
        self._schedule(self.clock.now + delay, Ended(number, stopped=True))

    def close(self) -> None:
        for number in list(self._trials):
            self._end(number)
        self._queue.clear()
