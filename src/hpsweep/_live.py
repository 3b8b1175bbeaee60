"""Live progress on a terminal, drawn by rich.

The controller calls the :class:`~hpsweep._progress.Progress` methods on its hot path, so here they
only update plain state under a lock; rich's own thread draws a snapshot of it a few times a
second. ``rich`` is imported only when a live view is made, so ``hpsweep --help`` never loads it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections import deque
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import TYPE_CHECKING
from typing import Any
from typing import TextIO

from hpsweep._progress import PlainProgress
from hpsweep._progress import Progress
from hpsweep._progress import TrialOutcome
from hpsweep._progress import format_params
from hpsweep._progress import format_values

if TYPE_CHECKING:
    from rich.console import Console
    from rich.console import RenderableType
    from rich.live import Live
    from rich.table import Table


def make_progress(*, quiet: bool, stream: TextIO | None = None) -> Progress:
    """The live view on a terminal; one line per finished trial in logs and pipes; only the
    summary with ``quiet``."""
    stream = stream or sys.stderr
    if quiet or not _is_terminal(stream):
        return PlainProgress(stream, quiet=quiet)
    from rich.console import Console

    return RichProgress(console=Console(file=stream))


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


@dataclass
class _Running:
    params: Mapping[str, Any]
    started: float
    step: int | None = None
    value: float | None = None


@dataclass
class _State:
    study: str = ""
    storage: str = ""
    total: int | None = None
    done: int = 0
    done_at_start: int = 0
    started: float | None = None
    running: dict[int, _Running] = field(default_factory=dict)
    ended: Counter[str] = field(default_factory=Counter)
    best: TrialOutcome | None = None
    recent: deque[TrialOutcome] = field(default_factory=lambda: deque(maxlen=5))


class RichProgress:
    """Bar and ETA, running trials with their last report, the best so far, recent endings."""

    def __init__(
        self,
        *,
        console: Console | None = None,
        refresh_per_second: float = 6.0,
        clock: Callable[[], float] = time.monotonic,
        max_rows: int = 12,
    ) -> None:
        from rich.console import Console

        self._console = console or Console(stderr=True)
        self._refresh = refresh_per_second
        self._clock = clock
        self._max_rows = max_rows
        self._lock = threading.Lock()
        self._state = _State()
        self._live: Live | None = None

    # ------------------------------------------------------- Progress (hot path)

    def started(self, *, study: str, storage: str, total: int | None, done: int) -> None:
        from rich.live import Live

        with self._lock:
            state = self._state
            state.study, state.storage, state.total = study, storage, total
            state.done = state.done_at_start = done
            state.started = self._clock()
        self._live = Live(
            console=self._console,
            refresh_per_second=self._refresh,
            get_renderable=self.renderable,
        )
        self._live.start()

    def trial_started(self, number: int, params: Mapping[str, Any]) -> None:
        with self._lock:
            self._state.running[number] = _Running(params, self._clock())

    def trial_reported(self, number: int, step: int, value: float) -> None:
        with self._lock:
            running = self._state.running.get(number)
            if running is not None:
                running.step, running.value = step, value

    def trial_ended(self, outcome: TrialOutcome, *, best: TrialOutcome | None) -> None:
        with self._lock:
            state = self._state
            state.running.pop(outcome.number, None)
            if not outcome.retry_scheduled:
                state.done += 1
            state.ended[outcome.why] += 1
            state.best = best
            state.recent.append(outcome)

    def message(self, text: str) -> None:
        # Rare (interrupts, recovered trials): printed above the live view.
        self._console.print(f"hpsweep: {text}", markup=False, highlight=False)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()  # draws the final state and leaves it on screen
            self._live = None

    # ------------------------------------------------------- drawing (rich's thread)

    def renderable(self) -> RenderableType:
        """A snapshot of the state, drawn."""
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = self._clock()
        with self._lock:
            state = self._state
            running = sorted((n, replace(r)) for n, r in state.running.items())
            recent = list(state.recent)
            ended = dict(state.ended)
            best, total, done = state.best, state.total, state.done
            done_this_run = done - state.done_at_start
            elapsed = now - state.started if state.started is not None else 0.0
            study, storage = state.study, state.storage

        head = Table.grid(padding=(0, 1))
        head.add_row(Text(f"study {study!r} on {storage}", style="bold"))
        line = Table.grid(padding=(0, 1))
        cells: list[RenderableType] = []
        if total:
            cells.append(ProgressBar(total=total, completed=min(done, total), width=30))
            cells.append(Text(f"{done}/{total} trials", style="bold"))
            cells.append(Text(f"{100 * min(done, total) / total:.0f}%"))
        else:
            cells.append(Text(f"{done} trials", style="bold"))
        cells.append(Text(f"elapsed {_clock_text(elapsed)}"))
        if total and done_this_run > 0 and done < total:
            eta = elapsed / done_this_run * (total - done)
            cells.append(Text(f"ETA {_clock_text(eta)}", style="cyan"))
        line.add_row(*cells)
        parts: list[RenderableType] = [head, line]
        parts.append(_ended_text(ended, len(running)))
        if best is not None:
            parts.append(
                Text.assemble(
                    ("best ", "bold green"),
                    f"trial {best.number} = {format_values(best.values)}  ",
                    (format_params(best.params), "dim"),
                )
            )
        if running:
            table = _table(("running", "elapsed", "step", "last value"), "params")
            for number, trial in running[: self._max_rows]:
                table.add_row(
                    str(number),
                    _clock_text(now - trial.started),
                    "-" if trial.step is None else str(trial.step),
                    "-" if trial.value is None else f"{trial.value:.6g}",
                    format_params(trial.params),
                )
            if len(running) > self._max_rows:
                table.add_row("", "", "", "", f"... and {len(running) - self._max_rows} more")
            parts.append(table)
        if recent:
            table = _table(("ended", "why", "value", "took"), "params")
            for outcome in reversed(recent):
                why = outcome.why + (" (retry)" if outcome.retry_scheduled else "")
                table.add_row(
                    str(outcome.number),
                    Text(why, style=_WHY_STYLES.get(outcome.why, "red")),
                    format_values(outcome.values),
                    f"{outcome.duration_s:.1f}s",
                    format_params(outcome.params),
                )
            parts.append(table)
        return Group(*parts)


_WHY_STYLES = {"complete": "green", "pruned": "yellow"}


def _table(short: tuple[str, ...], wide: str) -> Table:
    from rich.table import Table

    # The short columns keep their width; the params column takes what is left, then ellipsis.
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=True)
    for header in short:
        table.add_column(header, justify="left" if header == "why" else "right", no_wrap=True)
    table.add_column(wide, no_wrap=True, overflow="ellipsis", ratio=1)
    return table


def _ended_text(ended: Mapping[str, int], running: int) -> RenderableType:
    from rich.text import Text

    text = Text()
    text.append(f"running {running}", style="cyan")
    for why in ("complete", "pruned", "failed", "timeout", "killed", "lost"):
        if ended.get(why):
            text.append("  ")
            text.append(f"{why} {ended[why]}", style=_WHY_STYLES.get(why, "red"))
    return text


def _clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
