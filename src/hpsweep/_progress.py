"""What the controller tells the person watching: a protocol and the plain-text rendering."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Protocol
from typing import TextIO


@dataclass(frozen=True)
class TrialOutcome:
    """One finished trial, as the controller recorded it."""

    number: int
    state: str
    """complete, pruned or fail."""
    why: str
    """complete, pruned, failed, timeout, killed or lost."""
    values: tuple[float, ...] | None
    params: Mapping[str, Any]
    duration_s: float
    error: str | None = None
    retry_scheduled: bool = False


class Progress(Protocol):
    def started(self, *, study: str, storage: str, total: int | None, done: int) -> None: ...

    def trial_started(self, number: int, params: Mapping[str, Any]) -> None: ...

    def trial_reported(self, number: int, step: int, value: float) -> None: ...

    def trial_ended(self, outcome: TrialOutcome, *, best: TrialOutcome | None) -> None: ...

    def message(self, text: str) -> None: ...

    def close(self) -> None: ...


def format_params(params: Mapping[str, Any], limit: int = 120) -> str:
    text = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return "{" + format_params(value, 60) + "}"
    return str(value)


def format_values(values: tuple[float, ...] | None) -> str:
    if values is None:
        return "-"
    return ", ".join(f"{v:.6g}" for v in values)


class PlainProgress:
    """One line per finished trial, for logs and pipes."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._broken = False
        self._total: int | None = None
        self._done = 0

    def _print(self, text: str) -> None:
        if self._broken:
            return
        try:
            print(text, file=self._stream, flush=True)
        except OSError:
            # The reader went away (`| head`, a closed terminal): the study must go on.
            self._broken = True

    def started(self, *, study: str, storage: str, total: int | None, done: int) -> None:
        self._total, self._done = total, done
        if not self._quiet:
            budget = f"{done}/{total} trials done" if total else f"{done} trials done"
            self._print(f"hpsweep: study {study!r} on {storage} ({budget})")

    def trial_started(self, number: int, params: Mapping[str, Any]) -> None:
        pass

    def trial_reported(self, number: int, step: int, value: float) -> None:
        pass

    def trial_ended(self, outcome: TrialOutcome, *, best: TrialOutcome | None) -> None:
        if not outcome.retry_scheduled:
            self._done += 1
        if self._quiet:
            return
        count = f"{self._done}/{self._total}" if self._total else str(self._done)
        line = (
            f"[{count}] trial {outcome.number} {outcome.why} "
            f"value={format_values(outcome.values)} ({outcome.duration_s:.2f}s) "
            f"{format_params(outcome.params)}"
        )
        if outcome.error:
            line += f" | {outcome.error}"
        if outcome.retry_scheduled:
            line += " | retrying with the same params"
        if best is not None:
            line += f" | best: trial {best.number} = {format_values(best.values)}"
        self._print(line)

    def message(self, text: str) -> None:
        self._print(f"hpsweep: {text}")

    def close(self) -> None:
        pass
