"""The seam between the controller and whatever runs trials.

Executors start trials, report what trials say, and stop them. They never block the controller
(``poll`` waits at most ``timeout``) and never touch the study store: the controller is the single
writer. No optuna here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Protocol
from typing import runtime_checkable


@dataclass(frozen=True)
class TrialSpec:
    """Everything an executor needs to run one trial."""

    number: int
    trial_id: int
    study: str
    params: Mapping[str, Any]
    """Fixed params with the sampled ones merged in: what the objective receives."""
    trial_dir: Path | None = None
    attempt: int = 0
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for the trial (GPU assignment, ...), on top of the user's."""


@dataclass(frozen=True)
class Reported:
    """A trial reported an intermediate value.

    ``cooperative`` is False when the trial cannot hear a prune decision (marker lines on stdout):
    the controller then stops it instead of waiting for it to ask.
    """

    number: int
    step: int
    value: float
    cooperative: bool = True


@dataclass(frozen=True)
class Ended:
    """A trial is over; the controller decides which state that means."""

    number: int
    result: object | None = None
    """What the trial returned or reported as its final result, if anything."""
    error: str | None = None
    """Why it failed (exception text, exit code or signal with the end of stderr), if it did."""
    pruned: bool = False
    """The trial ended as pruned: it raised TrialPruned, or it ended after ``should_prune()``
    told it True (whatever it returned then is a partial result)."""
    stopped: bool = False
    """It ended because :meth:`Executor.stop` was called."""
    notes: tuple[str, ...] = ()
    """Things worth recording, e.g. malformed report lines that were skipped."""


Event = Reported | Ended


@runtime_checkable
class Executor(Protocol):
    """Runs trials for the controller. All methods return promptly."""

    @property
    def slots(self) -> int:
        """How many trials it runs at once."""
        ...

    def start(self, spec: TrialSpec) -> None:
        """Begin running ``spec``; a free slot is the caller's responsibility."""
        ...

    def poll(self, timeout: float) -> list[Event]:
        """Events since the last call, waiting at most ``timeout`` seconds for the first one."""
        ...

    def decide(self, number: int, prune: bool) -> None:
        """The controller's answer to the trial's pending or next ``should_prune()``."""
        ...

    def stop(self, number: int, *, grace: float) -> None:
        """End a running trial: ask it to stop, force it after ``grace`` seconds. An
        :class:`Ended` event with ``stopped=True`` follows."""
        ...

    def close(self) -> None:
        """Stop every running trial at once and release all resources."""
        ...
