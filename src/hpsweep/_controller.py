"""The controller: the single writer of a study for the trials it runs.

ask → start → poll events → report / decide → stop → tell, with budgets, retries, liveness and
signals. It never runs a trial itself; an :class:`~hpsweep.runner.Executor` does, so the same loop
drives threads, processes, commands and fakes with an injected clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._config import SweepConfig
from hpsweep._errors import TrialError
from hpsweep._progress import PlainProgress
from hpsweep._progress import Progress
from hpsweep._progress import TrialOutcome
from hpsweep.engine import Owner
from hpsweep.engine import Store
from hpsweep.engine import merge_params
from hpsweep.engine import suggest
from hpsweep.engine._algorithms import record_constraints
from hpsweep.engine._algorithms import sampler_exhausted
from hpsweep.engine._liveness import OWNER_PREFIX
from hpsweep.engine._liveness import RUN_ATTR
from hpsweep.engine._liveness import SUPERSEDED_ATTR
from hpsweep.engine._liveness import recover_lost_trials
from hpsweep.engine._storage import SectionInterrupted
from hpsweep.engine._study import ask
from hpsweep.engine._study import counts_toward_budget
from hpsweep.engine._study import trials_from
from hpsweep.runner import Ended
from hpsweep.runner import Event
from hpsweep.runner import Executor
from hpsweep.runner import Reported
from hpsweep.runner import TrialSpec
from hpsweep.runner._gpus import GpuSlots

if TYPE_CHECKING:
    import optuna

Clock = Callable[[], float]


@dataclass
class _Running:
    trial: optuna.Trial
    spec: TrialSpec
    started: float
    sampled: dict[str, Any]
    steps: set[int] = field(default_factory=set)
    prune_decided: bool = False


@dataclass
class RunSummary:
    """What one ``run`` did, and how the study stands afterwards."""

    study: str
    storage: str
    counts: dict[str, int]
    """Trials this run ended, by why they ended."""
    total: int
    """Trials in the study that count toward its budget."""
    best: TrialOutcome | None
    interrupted: bool = False
    failed: bool = False
    stop_reason: str = ""

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.failed else 0


class Controller:
    """Runs one study's trials on an executor until a budget is reached."""

    def __init__(
        self,
        config: SweepConfig,
        store: Store,
        study: optuna.Study,
        executor: Executor,
        *,
        progress: Progress | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        owner: Owner | None = None,
        trial_root: Path | None = None,
        gpu_slots: GpuSlots | None = None,
        poll_interval: float = 0.1,
    ) -> None:
        self.config = config
        self.store = store
        self.study = study
        self.executor = executor
        self.progress = progress or PlainProgress()
        self._clock = clock
        self._wall = wall_clock
        self.owner = owner or Owner.current()
        self._trial_root = trial_root
        self._gpu_slots = gpu_slots
        self._poll_interval = poll_interval
        self._running: dict[int, _Running] = {}
        self._stop_reasons: dict[int, str] = {}
        # (when, trial number, reason) for every trial timeout and prune grace period; entries
        # whose trial ended or is already being stopped are dropped as they come up
        self._deadlines: list[tuple[float, int, str]] = []
        self._counts: dict[str, int] = {}
        self._best: TrialOutcome | None = None
        self._closed_reason = ""
        self._interrupts = 0
        self._handled_interrupts = 0
        self._failed_study = False
        self._failures = 0
        self._read_end = 0  # trials numbered below this have been read at least once
        self._open: set[int] = set()  # of those, the ones not finished when last read
        self._finished_count = 0  # and the ones finished, which never change again
        self._finished_counted = 0
        self._seeded = False  # whether _reseed_for has run
        self._next_beat = 0.0
        self._next_recovery = 0.0
        self._direction_signs = [1.0 if d == "minimize" else -1.0 for d in config.directions]

    # ----------------------------------------------------------------- public

    def interrupt(self) -> None:
        """Called from a signal handler: the first stops launching, the second stops trials."""
        self._interrupts += 1

    def terminate(self) -> None:
        """Stop launching and stop running trials now (SIGTERM)."""
        self._interrupts = max(self._interrupts, 2)

    def run(self) -> RunSummary:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        start = self._clock()
        self._beat(start)
        self._recover_lost()
        self._failures = self._count_failures()
        self._best = self._stored_best()
        self.progress.started(
            study=self.config.study,
            storage=self.store.display_url,
            total=self.config.n_trials,
            done=self._budget_count(finished_only=True),
        )
        try:
            self._loop(start)
        finally:
            self._shutdown()
        return RunSummary(
            study=self.config.study,
            storage=self.store.display_url,
            counts=dict(self._counts),
            total=self._budget_count(),
            best=self._best,
            interrupted=self._interrupts > 0,
            failed=self._failed_study,
            stop_reason=self._closed_reason,
        )

    # ------------------------------------------------------------- the loop

    def _loop(self, start: float) -> None:
        while True:
            now = self._clock()
            self._take_interrupts()
            self._check_budgets(now - start)
            if now >= self._next_beat:
                self._beat(now)
            while len(self._running) < self.executor.slots:
                if self._closed_reason or self._interrupts or not self._launch(now):
                    break
            if not self._running:
                if self._closed_reason:
                    return
                continue
            events = self.executor.poll(self._poll_timeout(now))
            for event in events:
                self._handle(event)
            self._enforce_deadlines(self._clock())

    def _poll_timeout(self, now: float) -> float:
        timeout = min(self._poll_interval, max(0.0, self._next_beat - now))
        deadline = self._next_deadline()
        return timeout if deadline is None else min(timeout, max(0.0, deadline - now))

    def _next_deadline(self) -> float | None:
        """The earliest deadline of a trial not yet being stopped, dropping spent ones."""
        while self._deadlines:
            when, number, _ = self._deadlines[0]
            if number in self._running and number not in self._stop_reasons:
                return when
            heapq.heappop(self._deadlines)
        return None

    def _take_interrupts(self) -> None:
        if self._interrupts == self._handled_interrupts:
            return
        self._handled_interrupts = self._interrupts
        if self._interrupts == 1:
            self._close("interrupted")
            if self._running:
                numbers = ", ".join(str(n) for n in sorted(self._running))
                self.progress.message(
                    f"interrupted: no new trials; waiting for {len(self._running)} running "
                    f"(trial {numbers}). Press Ctrl-C again to stop them."
                )
        else:
            self._close("interrupted")
            if self._running:
                self.progress.message(f"stopping {len(self._running)} running trial(s)")
            for number in list(self._running):
                self._stop(number, "killed")

    def _close(self, reason: str) -> None:
        if not self._closed_reason:
            self._closed_reason = reason

    def _check_budgets(self, elapsed: float) -> None:
        if self.config.timeout is not None and elapsed >= self.config.timeout:
            self._close(f"study timeout of {self.config.timeout:g}s reached")
        if self.config.max_failures is not None and self._failures >= self.config.max_failures:
            if not self._closed_reason:
                self._failed_study = True
            self._close(f"{self._failures} failed trials reached --max-failures")

    # ------------------------------------------------------------- launching

    def _tally(self) -> tuple[int, int, list[int]]:
        """(trials counting toward the budget, finished trials, the ids of the waiting ones in
        the order they were queued).

        A finished trial never changes again (Optuna refuses writes to it, and the superseded
        mark is set before the attempt finishes), so each finished trial is counted once and
        only the new trials and those open when last read are read again: a launch costs
        O(open + new), however long one trial runs or however large the study grows.
        """
        from optuna.trial import TrialState

        opened, new = trials_from(self.store, self.study._study_id, self._read_end, self._open)
        self._read_end += len(new)
        counted = 0
        waiting: list[tuple[int, int]] = []
        for trial in (*opened, *new):
            if trial.state.is_finished():
                self._open.discard(trial.number)
                self._finished_count += 1
                self._finished_counted += counts_toward_budget(trial)
            else:
                self._open.add(trial.number)
                counted += counts_toward_budget(trial)
                if trial.state == TrialState.WAITING:
                    waiting.append((trial.number, trial._trial_id))
        waiting_ids = [trial_id for _, trial_id in sorted(waiting)]
        return self._finished_counted + counted, self._finished_count, waiting_ids

    def _create(self) -> tuple[optuna.Trial, bool] | None:
        """Count the study and start its next trial under the store's mutex (with whether it
        was a waiting one), or None when the study is done. Counts again when a database
        restart lost the lock mid-count and another controller created a trial meanwhile."""
        while True:
            try:
                with self.store.mutex(fenced=True):
                    counted, finished, waiting = self._tally()
                    # A waiting trial (a retry, a re-run of a lost one) is inside the budget.
                    if (
                        self.config.n_trials is not None
                        and counted >= self.config.n_trials
                        and not waiting
                    ):
                        self._close(f"the study total of {self.config.n_trials} trials is reached")
                        return None
                    if not waiting and sampler_exhausted(self.study):
                        self._close("the sampler has run every point of its grid")
                        return None
                    self._reseed_for(self._read_end)
                    run = {"owner": self.owner.id, "finished_before": finished}
                    trial = ask(self.study, waiting=waiting, system_attrs={RUN_ATTR: run})
                if trial is not None:
                    return trial, bool(waiting)
            except SectionInterrupted:
                self.progress.message(
                    "the database lock was lost while counting the study and another "
                    "controller started a trial meanwhile; counting again"
                )

    def _reseed_for(self, trials_before: int) -> None:
        """Before this controller's first trial of a study that already has ``trials_before``
        trials, seed the sampler from the seed and that count: a seeded sampler would otherwise
        propose again, in a resumed study or a second controller, what the first run proposed.
        A fresh study keeps the seed itself, so that it repeats bit for bit."""
        if self._seeded:
            return
        self._seeded = True
        if self.config.seed is None or trials_before == 0:
            return
        from hpsweep.engine._study import make_algorithms

        digest = hashlib.sha256(f"{self.config.seed}:{trials_before}".encode()).digest()
        seed = int.from_bytes(digest[:4], "little")
        self.study.sampler = make_algorithms(dataclasses.replace(self.config, seed=seed))[0]

    def _launch(self, now: float) -> bool:
        created = self._create()
        if created is None:
            return False
        trial, waiting = created
        sampled = suggest(trial, self.config.space)
        # Only a waiting trial (a retry, a re-run) was created with attributes; skip the read
        # otherwise, which is a round trip on a server database.
        attrs = trial.user_attrs if waiting else {}
        attempt = int(attrs.get("attempt", 0))
        root = int(attrs.get("retry_of", trial.number))
        spec = TrialSpec(
            number=trial.number,
            trial_id=trial._trial_id,
            study=self.config.study,
            params=merge_params(dict(self.config.params), sampled),
            trial_dir=(self._trial_root / f"trial-{root}") if self._trial_root else None,
            attempt=attempt,
            env=self._gpu_slots.acquire(trial.number) if self._gpu_slots else {},
        )
        self._running[trial.number] = _Running(trial, spec, now, sampled)
        if self.config.trial_timeout:
            deadline = now + self.config.trial_timeout
            heapq.heappush(self._deadlines, (deadline, trial.number, "timeout"))
        self.executor.start(spec)
        self.progress.trial_started(trial.number, sampled)
        return True

    # ------------------------------------------------------------- events

    def _handle(self, event: Event) -> None:
        if isinstance(event, Reported):
            self._on_report(event)
        else:
            self._on_end(event)

    def _on_report(self, event: Reported) -> None:
        running = self._running.get(event.number)
        if running is None:
            return
        if self.config.multi_objective or event.step in running.steps:
            # Optuna keeps no intermediate values for multi-objective studies, and a repeated
            # step keeps its first value; the trial still gets an answer.
            self.executor.decide(event.number, running.prune_decided)
            return
        running.steps.add(event.step)
        running.trial.report(event.value, event.step)
        prune = running.trial.should_prune()
        self.executor.decide(event.number, prune)
        self.progress.trial_reported(event.number, event.step, event.value)
        if prune and not running.prune_decided:
            running.prune_decided = True
            if event.cooperative:
                deadline = self._clock() + self.config.grace
                heapq.heappush(self._deadlines, (deadline, event.number, "pruned"))
            else:
                self._stop(event.number, "pruned")

    def _enforce_deadlines(self, now: float) -> None:
        while (deadline := self._next_deadline()) is not None and deadline <= now:
            _, number, reason = heapq.heappop(self._deadlines)
            self._stop(number, reason)

    def _stop(self, number: int, reason: str) -> None:
        if number in self._stop_reasons or number not in self._running:
            return
        self._stop_reasons[number] = reason
        self.executor.stop(number, grace=self.config.grace)

    def _on_end(self, event: Ended) -> None:
        running = self._running.pop(event.number, None)
        if running is None:
            return
        if self._gpu_slots is not None:
            self._gpu_slots.release(event.number)
        reason = self._stop_reasons.pop(event.number, None)
        values: list[float] | None = None
        error: str | None = None
        feasible = True
        # Why the controller stopped a trial wins over how the trial reacted to being stopped.
        if reason == "timeout":
            why = "timeout"
            error = f"exceeded the trial timeout of {self.config.trial_timeout:g}s"
        elif reason == "killed":
            why = "killed"
            error = "stopped by the user"
        elif (
            reason == "pruned"
            or event.pruned
            or (running.prune_decided and event.result is None and event.error is None)
        ):
            why = "pruned"
        elif event.error is not None:
            why, error = "failed", event.error
        else:
            try:
                values = self._values(event.result)
                constraints = record_constraints(
                    running.trial,
                    self.config.constraints,
                    event.result,
                    values,
                    self.config.metrics,
                )
                feasible = all(value <= 0.0 for value in constraints.values())
                why = "complete"
            except TrialError as problem:
                why, error = "failed", str(problem)
        self._finish(running, why, values, error, event.notes, feasible=feasible)

    def _values(self, result: object) -> list[float]:
        if result is None:
            raise TrialError(
                "the trial returned no result (return a number, or a dict with the metric key)"
            )
        metrics = self.config.metrics
        count = len(self.config.directions)
        if isinstance(result, dict):
            if metrics:
                missing = [m for m in metrics if m not in result]
                if missing:
                    raise TrialError(
                        f"the result has no metric {missing[0]!r}; its keys are "
                        f"{sorted(map(str, result))}"
                    )
                raw: list[object] = [result[m] for m in metrics]
            elif "objective" in result:
                raw = [result["objective"]]
            elif len(result) == count:
                raw = list(result.values())
            else:
                raise TrialError(
                    f"the result has keys {sorted(map(str, result))}; set metric: "
                    "NAME to say which one to optimize"
                )
        elif isinstance(result, (list, tuple)):
            raw = list(result)
        else:
            raw = [result]
        if len(raw) != count:
            raise TrialError(f"the trial gave {len(raw)} value(s) for {count} direction(s)")
        values = []
        for item in raw:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                try:
                    item = float(item)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    raise TrialError(f"the trial's result {item!r} is not a number") from None
            if math.isnan(item):
                raise TrialError("the trial's result is nan")
            values.append(float(item))
        return values

    def _finish(
        self,
        running: _Running,
        why: str,
        values: list[float] | None,
        error: str | None,
        notes: tuple[str, ...] = (),
        *,
        feasible: bool = True,
    ) -> None:
        from optuna.trial import TrialState

        trial = running.trial
        trial.set_user_attr("why", why)
        if error:
            trial.set_user_attr("error", error[:2000])
        if notes:
            trial.set_user_attr("notes", list(notes))
        retry = why in ("failed", "timeout") and running.spec.attempt < self.config.retries
        if retry:
            # One critical section, so the study total never dips while the attempt is swapped
            # for its re-run (another controller could otherwise launch one trial too many).
            first = int(trial.user_attrs.get("retry_of", trial.number))
            with self.store.mutex():
                self.store.storage.set_trial_system_attr(trial._trial_id, SUPERSEDED_ATTR, True)
                self.study.tell(trial, state=TrialState.FAIL)
                self._enqueue_again(trial.params, first, running.spec.attempt + 1)
        elif why == "complete":
            self.study.tell(trial, values)
        elif why == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.FAIL)
        if why in ("failed", "timeout") and not retry:
            self._failures += 1
        self._counts[why] = self._counts.get(why, 0) + 1
        outcome = TrialOutcome(
            number=trial.number,
            state={"complete": "complete", "pruned": "pruned"}.get(why, "fail"),
            why=why,
            values=tuple(values) if values is not None else None,
            params=running.sampled,
            duration_s=self._clock() - running.started,
            error=error,
            retry_scheduled=retry,
        )
        # As Optuna's best_trial: a trial that breaks a constraint is never the best.
        if values is not None and feasible and self._improves(values):
            self._best = outcome
        self.progress.trial_ended(outcome, best=self._best)
        if self._interrupts == 1 and self._running:  # the countdown after a first Ctrl-C
            numbers = ", ".join(str(n) for n in sorted(self._running))
            self.progress.message(
                f"still running: {len(self._running)} (trial {numbers}); press Ctrl-C again "
                "to stop them"
            )
        target = self.config.target
        if (
            target is not None
            and values is not None
            and feasible
            and not self.config.multi_objective
        ):
            if self._direction_signs[0] * (values[0] - target) <= 0:
                self._close(f"trial {trial.number} reached the target {target:g}")

    def _improves(self, values: list[float]) -> bool:
        if self.config.multi_objective:
            return False
        best = self._best
        return (
            best is None
            or best.values is None
            or (self._direction_signs[0] * (values[0] - best.values[0]) < 0)
        )

    def _enqueue_again(self, params: dict[str, Any], first: int, attempt: int) -> None:
        """Queue the same params to run next, linked to the first attempt's number."""
        self.study.enqueue_trial(dict(params), user_attrs={"retry_of": first, "attempt": attempt})

    # ------------------------------------------------------------- liveness

    def _beat(self, now: float) -> None:
        self.store.storage.set_study_system_attr(
            self.study._study_id, OWNER_PREFIX + self.owner.id, self.owner.record()
        )
        interval = min(10.0, self.config.heartbeat_expiry / 4)
        self._next_beat = now + interval
        if now >= self._next_recovery:
            if self._next_recovery:
                self._recover_lost()
            self._next_recovery = now + self.config.heartbeat_expiry / 2

    def _recover_lost(self) -> None:
        """Close trials left RUNNING by dead controllers as lost, and queue their params again."""
        for number in recover_lost_trials(
            self.store,
            self.study,
            me=self.owner,
            now=self._wall(),
            expiry=self.config.heartbeat_expiry,
        ):
            self._counts["lost"] = self._counts.get("lost", 0) + 1
            self.progress.message(
                f"trial {number} was left running by a controller that died; it is marked lost "
                "and its params will run again"
            )

    # ------------------------------------------------------------- accounting

    def _budget_count(self, *, finished_only: bool = False) -> int:
        """Trials counting toward the budget (only the finished ones: queued re-runs and
        initial points are not done yet)."""
        trials = self.store.storage.get_all_trials(self.study._study_id, deepcopy=False)
        return sum(
            1
            for t in trials
            if counts_toward_budget(t) and (t.state.is_finished() or not finished_only)
        )

    def _count_failures(self) -> int:
        trials = self.store.storage.get_all_trials(self.study._study_id, deepcopy=False)
        return sum(
            1
            for t in trials
            if counts_toward_budget(t) and t.user_attrs.get("why") in ("failed", "timeout")
        )

    def _stored_best(self) -> TrialOutcome | None:
        if self.config.multi_objective:
            return None
        try:
            best = self.study.best_trial
        except ValueError:
            return None
        return TrialOutcome(
            number=best.number,
            state="complete",
            why="complete",
            values=tuple(best.values or ()),
            params=best.params,
            duration_s=best.duration.total_seconds() if best.duration else 0.0,
        )

    # ------------------------------------------------------------- shutdown

    def _shutdown(self) -> None:
        """Stop what still runs, record it, and leave nothing RUNNING behind."""
        if self._running:
            for number in list(self._running):
                self._stop(number, self._stop_reasons.get(number, "killed"))
            deadline = self._clock() + self.config.grace + 2.0
            while self._running and self._clock() < deadline:
                for event in self.executor.poll(0.1):
                    if isinstance(event, Ended):
                        self._on_end(event)
                    elif event.number in self._running:
                        self.executor.decide(event.number, True)
        self.executor.close()
        for running in list(self._running.values()):
            self._running.pop(running.spec.number)
            self._finish(running, "killed", None, "did not stop when asked")
        self.store.storage.set_study_system_attr(
            self.study._study_id, OWNER_PREFIX + self.owner.id, self.owner.record(closed=True)
        )


def run_summary_line(summary: RunSummary) -> str:
    parts = [f"{count} {why}" for why, count in sorted(summary.counts.items())]
    done = ", ".join(parts) if parts else "no trials run"
    line = f"study {summary.study!r}: {done} this run; {summary.total} in the study"
    if summary.best is not None and summary.best.values:
        values = ", ".join(f"{v:.6g}" for v in summary.best.values)
        line += f"; best trial {summary.best.number} = {values}"
    if summary.stop_reason:
        line += f" ({summary.stop_reason})"
    return line
