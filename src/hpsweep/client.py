"""The trial side of hpsweep: read params, report progress, learn whether to stop.

Works the same inside an in-process trial and in a trial subprocess started by hpsweep; outside
any study every call is a no-op (with a one-time hint). Standard library only, so
`import hpsweep` stays cheap in the trial.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol

from hpsweep import _wire

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "Channel",
    "TrialPruned",
    "in_trial",
    "params",
    "report",
    "report_final",
    "should_prune",
    "trial_dir",
    "trial_number",
]


class TrialPruned(Exception):
    """Raise inside a trial to end it as pruned (``optuna.TrialPruned`` works too)."""


class Channel(Protocol):
    """What a running trial talks to; executors provide one per trial."""

    params: dict[str, Any]
    number: int | None

    @property
    def trial_dir(self) -> Path | None: ...

    def report(self, value: float, step: int | None) -> None: ...

    def should_prune(self) -> bool: ...

    def report_final(self, result: object) -> None: ...


class _Outside:
    """Not running under hpsweep: everything is a no-op."""

    params: dict[str, Any] = {}
    trial_dir: Path | None = None
    number: int | None = None
    _hinted = False

    def _hint(self) -> None:
        if not _Outside._hinted:
            _Outside._hinted = True
            print(
                "hpsweep: not running under hpsweep, so report()/should_prune() do nothing "
                "(start this script with `hpsweep run -- ...`)",
                file=sys.stderr,
            )

    def report(self, value: float, step: int | None) -> None:
        self._hint()

    def should_prune(self) -> bool:
        self._hint()
        return False

    def report_final(self, result: object) -> None:
        self._hint()


class _Subprocess:
    """A trial subprocess: the socket named by HPSWEEP_CHANNEL_FD, else marker lines on stdout."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.params = json.loads(environ.get(_wire.ENV_PARAMS) or "{}")
        self._trial_dir = environ.get(_wire.ENV_TRIAL_DIR) or None
        number = environ.get(_wire.ENV_TRIAL_NUMBER)
        self.number = int(number) if number else None
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._reader: Any = None
        self._lost = False
        self._next_step = 0
        fd = environ.get(_wire.ENV_CHANNEL_FD)
        if fd:
            self._socket = _claim_channel(fd)
            self._reader = self._socket.makefile("rb") if self._socket is not None else None

    @property
    def trial_dir(self) -> Path | None:
        if self._trial_dir is None:
            return None
        from pathlib import Path  # on first use: a trial that never asks saves the import

        return Path(self._trial_dir)

    def _send(self, message: _wire.Message) -> bool:
        if self._lost:
            return False
        if self._socket is None:
            if isinstance(message, (_wire.Report, _wire.Final, _wire.Pruned)):
                print(_wire.marker_line(message), flush=True)
            return False
        try:
            self._socket.sendall(_wire.encode(message))
            return True
        except OSError:
            self._lose()
            return False

    def _lose(self) -> None:
        """The controller is gone: nobody listens, and the trial should stop rather than run on
        unattended. Never fall back to marker lines then: stdout is a broken pipe too."""
        self._lost = True
        if self._socket is not None:
            # The trial may have closed the descriptor itself (os.closerange in a library):
            # closing it again raises EBADF, which must not crash the trial.
            with contextlib.suppress(OSError):
                self._reader.close()
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None

    def report(self, value: float, step: int | None) -> None:
        with self._lock:
            if step is None:
                step = self._next_step
            self._next_step = step + 1
            self._send(_wire.Report(float(value), step))

    def should_prune(self) -> bool:
        with self._lock:
            if self._lost:
                return True
            if self._socket is None:
                return False  # marker lines only: the controller stops such trials by signal
            if not self._send(_wire.PruneQuery()):
                return True
            try:
                line = self._reader.readline()
            except OSError:
                line = b""
            if not line:
                self._lose()
                return True
            return _wire.decode_decision(line)

    def report_final(self, result: object) -> None:
        with self._lock:
            self._send(_wire.Final(result))

    def report_exception(self, error: BaseException) -> None:
        """Tell the controller how the trial is ending: pruned, or failing with ``error``."""
        with self._lock:
            if type(error).__name__ == "TrialPruned":
                self._send(_wire.Pruned())
            elif self._socket is not None:
                text = str(error).strip()
                name = type(error).__name__
                self._send(_wire.Failed(f"{name}: {text}" if text else name))


def _claim_channel(fd: str) -> socket.socket | None:
    """Open the channel and keep it to this process: processes the trial starts itself get
    neither the fd nor the variable naming it, since in them that number may be any other file
    (they still reach the controller through marker lines on the stdout they inherit)."""
    os.environ.pop(_wire.ENV_CHANNEL_FD, None)
    try:
        channel = socket.socket(fileno=int(fd))
    except (OSError, ValueError):
        return None
    if channel.family != socket.AF_UNIX or channel.type != socket.SOCK_STREAM:
        channel.detach()  # not ours: leave that fd open for whoever owns it
        return None
    channel.set_inheritable(False)
    return channel


def _install_excepthook(channel: _Subprocess) -> None:
    """Let an uncaught exception tell the controller why the trial ends: ``TrialPruned`` ends it
    as pruned (without a traceback), anything else is recorded as ``Type: message``."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
        channel.report_exception(error)
        if type(error).__name__ == "TrialPruned":
            print(f"hpsweep: trial pruned ({kind.__name__} raised)", file=sys.stderr)
        else:
            previous(kind, error, traceback)

    sys.excepthook = hook


_local = threading.local()
_process_channel: Channel | None = None
_bound: list[Channel] = []
"""The channels of the in-process trials running now, in any thread."""


def _current() -> Channel:
    channel: Channel | None = getattr(_local, "channel", None)
    if channel is not None:
        return channel
    running = tuple(_bound)
    if len(running) == 1:
        # A thread that the one in-process trial started (a data loader, a logger) speaks
        # for that trial; with several running, whose it is cannot be told.
        return running[0]
    global _process_channel
    if _process_channel is None:
        if _wire.ENV_TRIAL_ID in os.environ:
            subprocess_channel = _Subprocess(dict(os.environ))
            _install_excepthook(subprocess_channel)
            _process_channel = subprocess_channel
        else:
            _process_channel = _Outside()
    return _process_channel


@contextlib.contextmanager
def bound(channel: Channel) -> Iterator[None]:
    """Make ``channel`` the current trial of this thread (used by in-process executors)."""
    previous = getattr(_local, "channel", None)
    _local.channel = channel
    _bound.append(channel)
    try:
        yield
    finally:
        _bound.remove(channel)
        _local.channel = previous


def in_trial() -> bool:
    """Whether this code runs inside an hpsweep trial."""
    return not isinstance(_current(), _Outside)


def params() -> dict[str, Any]:
    """The trial's parameters: fixed params with the sampled ones merged in."""
    return dict(_current().params)


def trial_dir() -> Path | None:
    """The trial's own directory (for checkpoints and outputs): ``<run_dir>/<study>/trial-N``,
    shared by a trial's retries; None outside a study."""
    return _current().trial_dir


def trial_number() -> int | None:
    """The trial's number in its study, or None outside a study."""
    return _current().number


def report(value: float, step: int | None = None) -> None:
    """Report an intermediate value; ``step`` defaults to the previous step plus one."""
    _current().report(value, step)


def should_prune() -> bool:
    """Whether the controller decided to stop this trial after the step it last reported."""
    return _current().should_prune()


def report_final(result: object) -> None:
    """Report the trial's result (a number, a dict with the metric key, or a list)."""
    _current().report_final(result)
