"""Run Python objectives as trials on a Ray cluster (``executor: ray``).

One long-lived actor per slot runs trial after trial, so a trial costs a couple of actor calls
(milliseconds), not a process start. A trial is one *streaming* actor call: the actor runs the
objective in a thread with a client channel bound to it, and yields each report and finally the
end as they happen; the controller's side waits on those streams with ``ray.wait(timeout=...)``,
so :meth:`RayExecutor.poll` never blocks for longer than asked. Prune decisions and stop requests
go back as (threaded) actor calls tagged with the trial number. A trial that does not stop within
its grace period has its actor killed; the slot gets a fresh actor for its next trial.

The actor only computes: the controller stays the single writer of the study. Ray is imported
lazily (``pip install 'hpsweep[ray]'``), and the objective is imported inside the actor (a
``module:function`` name) or shipped with cloudpickle (a callable).
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsweep._errors import ConfigError
from hpsweep.runner._base import Ended
from hpsweep.runner._base import Event
from hpsweep.runner._base import Reported
from hpsweep.runner._base import TrialSpec
from hpsweep.runner._inprocess import _ThreadChannel
from hpsweep.runner._inprocess import call_objective

Objective = Callable[[dict[str, Any]], object]
_ACTOR_THREADS = 4  # the trial's stream, plus decide/stop calls arriving while it runs


class _TrialActor:
    """Runs one trial at a time, reused across trials (becomes a Ray actor class at runtime)."""

    def __init__(self, target: str | Objective, path: str | None) -> None:
        if path and path not in sys.path:
            sys.path.insert(0, path)  # where the driver started: `module:function` is found there
        self._target = target
        self._objective: Objective | None = None
        self._lock = threading.Lock()
        self._channel: _ThreadChannel | None = None
        self._number: int | None = None
        self._stop_before_start: set[int] = set()

    def _load(self) -> Objective:
        if self._objective is None:
            if isinstance(self._target, str):
                from hpsweep._child import load

                self._objective = load(self._target)
            else:
                self._objective = self._target
        return self._objective

    def ping(self) -> bool:
        return True

    def run(
        self, number: int, trial_id: int, study: str, params: dict[str, Any], trial_dir: str | None
    ) -> Iterator[tuple[Any, ...]]:
        """Yield ``("report", step, value)`` for each report, then ``("end", result, error,
        pruned)``."""
        spec = TrialSpec(
            number=number,
            trial_id=trial_id,
            study=study,
            params=params,
            trial_dir=Path(trial_dir) if trial_dir else None,
        )
        if spec.trial_dir is not None:
            with contextlib.suppress(OSError):  # a node may not share the driver's filesystem
                spec.trial_dir.mkdir(parents=True, exist_ok=True)
        events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        channel = _ThreadChannel(spec, events)
        with self._lock:
            self._channel, self._number = channel, number
            if number in self._stop_before_start:
                self._stop_before_start.discard(number)
                channel.ask_to_stop()
        worker = threading.Thread(
            target=self._work, args=(channel, spec, events), name=f"hpsweep-trial-{number}"
        )
        worker.start()
        try:
            while True:
                event = events.get()
                if isinstance(event, Reported):
                    yield ("report", event.step, event.value)
                else:
                    yield ("end", event.result, event.error, event.pruned)
                    return
        finally:
            worker.join()
            with self._lock:
                self._channel, self._number = None, None

    def _work(
        self, channel: _ThreadChannel, spec: TrialSpec, events: queue.SimpleQueue[Event]
    ) -> None:
        events.put(call_objective(self._load(), channel, spec))

    def decide(self, number: int, prune: bool) -> None:
        with self._lock:
            if self._number == number and self._channel is not None:
                self._channel.answer(prune)

    def stop(self, number: int) -> None:
        with self._lock:
            if self._number == number and self._channel is not None:
                self._channel.ask_to_stop()
            else:
                self._stop_before_start.add(number)  # the stop overtook the start


@dataclass
class _Running:
    number: int
    actor: Any
    stream: Any
    stopping: bool = False
    kill_at: float | None = None
    grace: float = 0.0


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in one line, within ``timeout``, when ``address`` (``host:port`` or
    ``ray://host:port``) does not answer: ``ray.init`` would retry for minutes, printing its
    connection warnings. ``auto`` and ``local`` are Ray's to resolve."""
    if address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"ray_address {address!r} is not host:port (or ray://host:port, auto, local)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(
            f"cannot reach the Ray cluster at {address}: {reason}; check the address (the "
            "head node's host:port) and that the cluster is running"
        ) from None


class RayExecutor:
    """Runs ``target(params)`` on Ray, ``jobs`` trials at a time, one reused actor per slot.

    ``target`` is ``"module:function"`` (imported in the actor, with the driver's working
    directory on ``sys.path``) or a callable (shipped with cloudpickle). ``resources`` is what
    each trial reserves: ``cpu`` (default 1), ``gpu`` (fractions share a GPU), ``memory`` (bytes)
    and custom Ray resources by name. ``address`` is passed to ``ray.init`` when Ray is not
    initialized yet (None starts a local Ray; ``auto`` joins the cluster of ``ray start``); a Ray
    started here is shut down by :meth:`close`.
    """

    def __init__(
        self,
        target: str | Objective,
        *,
        jobs: int = 1,
        resources: Mapping[str, float] | None = None,
        address: str | None = None,
        init_options: Mapping[str, Any] | None = None,
    ) -> None:
        if jobs < 1:
            raise ConfigError(f"jobs must be at least 1, but got jobs={jobs}")
        if isinstance(target, str) and ":" not in target:
            raise ConfigError(
                f"a Python target must be module:function (e.g. train:objective), got {target!r}"
            )
        try:
            import ray
        except ModuleNotFoundError:
            raise ConfigError("executor: ray needs Ray: pip install 'hpsweep[ray]'") from None
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            import logging

            options: dict[str, Any] = {
                "include_dashboard": False,
                "logging_level": logging.WARNING,
                **(init_options or {}),
            }
            if address is not None:
                check_reachable(address)
            ray.init(address=address, **options)
            self._owns_ray = True
        self._jobs = jobs
        self._target = target
        options = actor_options(resources or {})
        _warn_if_unschedulable(ray.cluster_resources(), options)  # type: ignore[no-untyped-call]
        self._actor_class = ray.remote(_TrialActor).options(**options)
        self._idle: list[Any] = []
        self._trials: dict[int, _Running] = {}
        self._pending: list[Event] = []
        self._closed = False

    @property
    def slots(self) -> int:
        return self._jobs

    def start(self, spec: TrialSpec) -> None:
        if self._closed:
            raise RuntimeError("this executor is closed")
        if spec.number in self._trials:
            raise ValueError(f"trial {spec.number} is already running")
        actor = self._idle.pop() if self._idle else self._new_actor()
        stream = actor.run.options(num_returns="streaming").remote(
            spec.number,
            spec.trial_id,
            spec.study,
            dict(spec.params),
            str(spec.trial_dir.absolute()) if spec.trial_dir is not None else None,
        )
        self._trials[spec.number] = _Running(spec.number, actor, stream)

    def _new_actor(self) -> Any:
        return self._actor_class.remote(self._target, os.getcwd())

    def poll(self, timeout: float) -> list[Event]:
        if self._closed:
            return []
        ray = self._ray
        events, self._pending = self._pending, []
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            now = time.monotonic()
            self._kill_overdue(now, events)
            wait = 0.0 if events else max(0.0, deadline - now)
            for trial in self._trials.values():
                if trial.kill_at is not None:
                    wait = min(wait, max(0.0, trial.kill_at - now))
            streams = {id(t.stream): t for t in self._trials.values()}
            if not streams:
                if wait > 0:
                    time.sleep(wait)
            else:
                values = [t.stream for t in streams.values()]
                ready, _ = ray.wait(values, num_returns=1, timeout=wait)
                if ready:
                    ready, _ = ray.wait(values, num_returns=len(values), timeout=0)
                for stream in ready:
                    self._drain(streams[id(stream)], events)
            if events or time.monotonic() >= deadline:
                return events

    def _drain(self, trial: _Running, events: list[Event]) -> None:
        """Take every item of the trial's stream that has arrived."""
        ray = self._ray
        while self._trials.get(trial.number) is trial:
            try:
                ref = next(trial.stream)
                item = ray.get(ref)
            except StopIteration:  # cannot happen: the stream ends right after its "end" item
                self._forget_actor(trial)
                events.append(Ended(trial.number, error="the trial's stream ended early"))
                del self._trials[trial.number]
                return
            except Exception as error:  # the actor died (killed, out of memory, node lost)
                self._forget_actor(trial)
                if trial.stopping:
                    ended = Ended(trial.number, stopped=True, notes=("its Ray actor ended",))
                else:
                    ended = Ended(trial.number, error=f"the Ray actor running it died: {error}")
                events.append(ended)
                del self._trials[trial.number]
                return
            if item[0] == "report":
                events.append(Reported(trial.number, int(item[1]), float(item[2])))
            else:
                _, result, failure, pruned = item
                self._idle.append(trial.actor)
                events.append(
                    Ended(
                        trial.number,
                        result=result,
                        error=failure,
                        pruned=bool(pruned),
                        stopped=trial.stopping,
                    )
                )
                del self._trials[trial.number]
                return
            more, _ = ray.wait([trial.stream], num_returns=1, timeout=0)
            if not more:
                return

    def _forget_actor(self, trial: _Running) -> None:
        with contextlib.suppress(Exception):
            self._ray.kill(trial.actor, no_restart=True)

    def _kill_overdue(self, now: float, events: list[Event]) -> None:
        for trial in list(self._trials.values()):
            if trial.kill_at is not None and trial.kill_at <= now:
                self._forget_actor(trial)
                del self._trials[trial.number]
                events.append(
                    Ended(
                        trial.number,
                        stopped=True,
                        notes=(
                            f"did not stop within {trial.grace:g} s; its Ray actor was killed",
                        ),
                    )
                )

    def decide(self, number: int, prune: bool) -> None:
        trial = self._trials.get(number)
        if trial is not None:
            trial.actor.decide.remote(number, prune)

    def stop(self, number: int, *, grace: float) -> None:
        """``should_prune()`` answers True from now on; the actor is killed after ``grace``."""
        trial = self._trials.get(number)
        if trial is None or trial.stopping:
            return
        trial.stopping = True
        trial.grace = grace
        trial.kill_at = time.monotonic() + max(0.0, grace)
        trial.actor.stop.remote(number)

    def close(self) -> None:
        """Kill every actor at once (running trials end without events), and shut Ray down if
        this executor started it."""
        if self._closed:
            return
        self._closed = True
        for trial in self._trials.values():
            self._forget_actor(trial)
        for actor in self._idle:
            with contextlib.suppress(Exception):
                self._ray.kill(actor, no_restart=True)
        self._trials.clear()
        self._idle.clear()
        self._pending.clear()
        if self._owns_ray:
            self._ray.shutdown()


def actor_options(resources: Mapping[str, float]) -> dict[str, Any]:
    """Ray actor options for one trial slot: ``cpu``/``gpu``/``memory`` map to Ray's own
    options, any other name is a custom resource."""
    options: dict[str, Any] = {
        "num_cpus": float(resources.get("cpu", 1.0)),
        "num_gpus": float(resources.get("gpu", 0.0)),
        "max_concurrency": _ACTOR_THREADS,
        "max_restarts": 0,  # a dead actor means a lost trial, reported as such, never re-run
    }
    if "memory" in resources:
        options["memory"] = int(resources["memory"])
    custom = {k: float(v) for k, v in resources.items() if k not in ("cpu", "gpu", "memory")}
    if custom:
        options["resources"] = custom
    return options


def _warn_if_unschedulable(cluster: Mapping[str, float], options: Mapping[str, Any]) -> None:
    """Say so when no node of the cluster could ever hold one trial: Ray would wait for one
    forever (an autoscaling cluster may still add it, so this is a warning, not an error)."""
    wanted = {
        "CPU": options["num_cpus"],
        "GPU": options["num_gpus"],
        **options.get("resources", {}),
    }
    short = [
        f"{name}={amount:g} (the cluster has {cluster.get(name, 0):g})"
        for name, amount in wanted.items()
        if amount > cluster.get(name, 0)
    ]
    if short:
        print(
            f"hpsweep: warning: each Ray trial asks for {', '.join(short)}; trials wait until "
            "the cluster has that (check resources_per_trial)",
            file=sys.stderr,
        )
