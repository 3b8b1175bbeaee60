"""Run any command as a trial: one process group per trial, watched without blocking.

A trial talks back over a socket pair (the Python client), marker lines on stdout (any language),
a JSON object printed on stdout (SpeechBrain) or ``$ORION_RESULTS_PATH`` (Oríon); see
docs/protocol.md. POSIX only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

from hpsweep import _wire
from hpsweep._errors import ConfigError
from hpsweep.runner._base import Ended
from hpsweep.runner._base import Event
from hpsweep.runner._base import Reported
from hpsweep.runner._base import TrialSpec
from hpsweep.runner._procutil import TAIL_BYTES
from hpsweep.runner._procutil import OrphanGuard
from hpsweep.runner._procutil import boot_ticks
from hpsweep.runner._procutil import fd_holders
from hpsweep.runner._procutil import format_size
from hpsweep.runner._procutil import open_pidfd
from hpsweep.runner._procutil import parse_size
from hpsweep.runner._procutil import signal_group
from hpsweep.runner._procutil import signal_name
from hpsweep.runner._procutil import tail_text
from hpsweep.runner._template import CommandTemplate
from hpsweep.runner._template import params_hash

LINE_LIMIT = 1 << 20
"""Longer stdout or channel lines are written to the log but not parsed."""
LOG_LIMIT = 100 << 20
"""Default cap of what one attempt of a trial writes to each of stdout.log and stderr.log."""
LOG_LIMIT_ENV = "HPSWEEP_LOG_LIMIT"
"""Overrides :data:`LOG_LIMIT`: bytes, or ``100M``/``2G``; ``0`` for no cap."""
ORION_RESULTS = "orion-results.json"
_CLOSE_GRACE = 1.5
_EXIT_CHECK_INTERVAL = 0.05  # how often exits are polled where there are no pidfds
_READ_SIZE = 1 << 16
# The work one poll round does for one trial is bounded, so a trial that floods its output or
# reports thousands of steps a second cannot starve the others or the controller: what it writes
# beyond that waits in its pipe (and the trial, once the pipe is full, waits for us).
_BYTES_PER_ROUND = 1 << 20  # read from its stdout, stderr and channel together
_LINES_PER_ROUND = 64  # lines handled: a report costs the controller 0.1-1 ms (a store write)
_OUTBOX_LIMIT = 1 << 16  # unread answers to should_prune: stop reading its questions beyond it
# After a trial's main process exits, its group is killed and its pipes are read: what was in
# them at that moment, plus this much (what its group wrote before the kill landed). A process
# that left the group may hold a pipe and write forever; that is where reading stops.
_DRAIN_SLACK = 1 << 16
_SETTLE = 0.25  # when nothing more comes, wait this long for end of file before giving up
_STDOUT_NEEDLES = (_wire.MARKER.encode(), b"}")  # only lines holding one of these are parsed


class _Lines:
    """Splits a byte stream into lines; overlong lines are dropped and counted.

    With ``needles``, only lines holding one of them are returned: the others are found and
    skipped by C-level searches, so a flood of plain output costs no Python work per line.
    """

    def __init__(self, needles: tuple[bytes, ...] = ()) -> None:
        self._buffer = bytearray()
        self._skipping = False
        self._needles = needles
        self.overlong = 0

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        end = buffer.rfind(b"\n")
        lines: list[bytes] = []
        if end >= 0:
            with memoryview(buffer) as view:
                block = bytes(view[:end])  # complete lines, without the last newline
            del buffer[: end + 1]
            if not self._skipping:
                lines = self._split(block, 0)
            else:  # the block begins with the end of an overlong line
                self._skipping = False
                first = block.find(b"\n")
                if first >= 0:
                    lines = self._split(block, first + 1)
        if len(buffer) > LINE_LIMIT:
            if not self._skipping:
                self.overlong += 1
            self._skipping = True
            buffer.clear()
        return lines

    def _split(self, block: bytes, start: int) -> list[bytes]:
        """The lines of ``block[start:]`` that are wanted."""
        if len(block) - start > LINE_LIMIT:  # rare: may hold an overlong line
            lines = []
            for line in block[start:].split(b"\n"):
                if len(line) > LINE_LIMIT:
                    self.overlong += 1
                elif not self._needles or any(n in line for n in self._needles):
                    lines.append(line)
            return lines
        if not self._needles:
            return block[start:].split(b"\n")
        # The next occurrence of each needle, found again only once passed: linear in the block.
        found = [block.find(needle, start) for needle in self._needles]
        lines = []
        position = start
        while True:
            for index, at in enumerate(found):
                if 0 <= at < position:
                    found[index] = block.find(self._needles[index], position)
            hits = [at for at in found if at >= 0]
            if not hits:
                return lines
            hit = min(hits)
            line_start = block.rfind(b"\n", position, hit) + 1 or position
            line_end = block.find(b"\n", hit)
            if line_end < 0:
                line_end = len(block)
            lines.append(block[line_start:line_end])
            position = line_end + 1

    def rest(self) -> list[bytes]:
        """The unterminated last line, at end of stream (SpeechBrain prints no final newline)."""
        rest = [] if self._skipping or not self._buffer else [bytes(self._buffer)]
        self._buffer.clear()
        return rest


class _Log:
    """A trial's log file: each attempt writes at most ``limit`` bytes (0: no cap) to it."""

    def __init__(self, path: Path, separator: str, limit: int) -> None:
        self.name = path.name
        self.fd: int | None = _open_log(path, separator)
        self.limit = limit
        self.written = 0
        self.dropped = 0
        self.last = b"\n"
        self.problem: str | None = None

    def write(self, data: bytes) -> None:
        if self.limit and self.written + len(data) > self.limit:
            room = max(0, self.limit - self.written)
            self.dropped += len(data) - room
            data = data[:room]
        if not data or self.fd is None:
            return
        self.written += len(data)
        self.last = data[-1:]
        try:
            with memoryview(data) as view:
                while view:
                    view = view[os.write(self.fd, view) :]
        except OSError as error:  # a full disk must not take the controller down
            self.problem = f"{self.name} is incomplete: {error.strerror}"
            self.close()

    def close(self) -> None:
        """Close it, ending it with a line that says what the cap dropped, if it did."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            if self.dropped:
                newline = b"" if self.last == b"\n" else b"\n"
                line = f"[hpsweep: log capped at {self.limit} bytes; {self.dropped} bytes dropped]"
                os.write(fd, newline + line.encode() + b"\n")
        except OSError:
            pass
        finally:
            os.close(fd)

    def notes(self) -> list[str]:
        notes = [self.problem] if self.problem else []
        if self.dropped:
            notes.append(
                f"{self.name} capped at {format_size(self.limit)} (set {LOG_LIMIT_ENV} to "
                f"change it); {self.dropped} bytes dropped"
            )
        return notes


class _Source:
    """One stream from a trial: its stdout or stderr pipe, or the channel."""

    def __init__(
        self,
        name: str,
        fd: int,
        peer: str,
        *,
        log: _Log | None = None,
        lines: _Lines | None = None,
        sock: socket.socket | None = None,
        tail: bool = False,
    ) -> None:
        self.name = name
        self.fd: int | None = fd
        self.peer = peer
        """What the trial's end is, as /proc/<pid>/fd links name it: ``pipe:[123]``."""
        self.log = log
        self.lines = lines
        self.sock = sock
        self.tail: bytearray | None = bytearray() if tail else None
        self.backlog: deque[bytes] = deque()
        self.more = False
        """The last read stopped at the round's budget, not at an empty pipe."""

    def keep(self, data: bytes) -> None:
        if self.log is not None:
            self.log.write(data)
        if self.tail is not None:
            if len(data) >= TAIL_BYTES:
                self.tail[:] = data[-TAIL_BYTES:]
            else:
                self.tail += data
                if len(self.tail) > 2 * TAIL_BYTES:
                    del self.tail[:-TAIL_BYTES]

    def close(self) -> None:
        if self.fd is None:
            return
        if self.sock is not None:
            self.sock.close()
        else:
            os.close(self.fd)
        self.fd = None


class _Trial:
    """One running trial and everything it has said so far."""

    def __init__(
        self,
        spec: TrialSpec,
        trial_dir: Path,
        process: subprocess.Popen[bytes],
        stdout: _Source,
        stderr: _Source,
        channel: _Source,
    ) -> None:
        self.number = spec.number
        self.trial_dir = trial_dir
        self.process = process
        self.pidfd = open_pidfd(process.pid)
        self.born = 0  # no process of the trial started before this (clock ticks since boot)
        self.stdout = stdout
        self.stderr = stderr
        self.channel = channel
        self.sources = (stdout, stderr, channel)
        self.outbox = bytearray()
        self.mask = selectors.EVENT_READ  # what the channel is registered for
        # the work budget of the current poll round
        self.bytes_left = _BYTES_PER_ROUND
        self.lines_left = _LINES_PER_ROUND
        # pruning: queries are answered once every report has its decision
        self.reports = 0
        self.decisions = 0
        self.queries = 0
        self.prune = False
        self.told_to_prune = False
        self.next_step = 0
        # stopping
        self.stopping = False
        self.kill_at: float | None = None
        self.killed = False
        self.grace = 0.0
        # its main process has exited: its pipes are read to the end, then it ends
        self.returncode: int | None = None
        self.exited_at = 0.0
        self.drained = 0
        self.drain_limit = 0
        # how it ends
        self.final: object | None = None
        self.marker_final: object | None = None
        self.printed: dict[str, object] | None = None
        self.pruned = False
        self.failure: str | None = None
        self.malformed = 0
        self.first_malformed = ""

    @property
    def reading(self) -> bool:
        """Its pipes are still read: it runs, or it exited and the drain limit is not reached."""
        return self.returncode is None or self.drained < self.drain_limit

    @property
    def busy(self) -> bool:
        """It has lines waiting, or it exited and the last read stopped at the round's budget."""
        exited = self.returncode is not None and self.reading
        return any(s.backlog or (s.more and exited) for s in self.sources)

    def bad_line(self, problem: str) -> None:
        self.malformed += 1
        if self.malformed == 1:
            self.first_malformed = problem

    def step(self, step: int | None) -> int:
        """The step of a report, numbering reports that give none after the previous one."""
        if step is None:
            step = self.next_step
        self.next_step = step + 1
        return step


class CommandExecutor:
    """Runs ``command`` once per trial, up to ``jobs`` at a time, each in its own process group.

    ``command`` is an argv list whose items may hold placeholders (``--lr={lr}``; see
    :mod:`hpsweep.runner._template`); with ``shell=True`` the filled-in items are joined with
    spaces, unquoted, and run by ``/bin/sh -c``. Every trial needs ``TrialSpec.trial_dir``: it
    gets ``params.json``, ``stdout.log`` and ``stderr.log`` there and runs in it when
    ``cwd_mode="trial"`` (else in the directory the executor was created in). ``metric``, when
    given, restricts the JSON objects read from stdout as results to those holding that key.
    ``param_names``, when given, checks every placeholder names a parameter or a built-in, and
    raises :class:`ConfigError` if not, before any trial starts. ``log_limit`` caps what one
    attempt writes to each log, in bytes (0: no cap; default: ``$HPSWEEP_LOG_LIMIT``, else
    100 MiB).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        jobs: int = 1,
        shell: bool = False,
        cwd_mode: Literal["start", "trial"] = "start",
        metric: str | None = None,
        base_env: Mapping[str, str] | None = None,
        param_names: Iterable[str] | None = None,
        log_limit: int | None = None,
    ) -> None:
        if jobs < 1:
            raise ConfigError(f"jobs must be at least 1, but got jobs={jobs}")
        self._template = CommandTemplate(command)
        if param_names is not None:
            self._template.check(param_names)
        self._jobs = jobs
        self._shell = shell
        self._cwd_mode = cwd_mode
        self._start_dir = Path.cwd()
        self._metric = metric
        self._base_env = None if base_env is None else dict(base_env)
        self._log_limit = log_limit_from_env() if log_limit is None else max(0, log_limit)
        self._selector = selectors.DefaultSelector()
        self._trials: dict[int, _Trial] = {}
        self._pending: list[Event] = []
        self._guard = OrphanGuard()
        self._closed = False

    @property
    def slots(self) -> int:
        return self._jobs

    # ----------------------------------------------------------------------------- start

    def start(self, spec: TrialSpec) -> None:
        """Start the trial's process; a trial that cannot start ends at the next :meth:`poll`
        with its reason as the error."""
        if self._closed:
            raise RuntimeError("this executor is closed")
        if spec.number in self._trials:
            raise ValueError(f"trial {spec.number} is already running")
        if spec.trial_dir is None:
            raise ValueError("CommandExecutor needs TrialSpec.trial_dir")
        trial_dir = spec.trial_dir.absolute()
        values: dict[str, object] = {
            **spec.params,
            "trial.id": spec.trial_id,
            "trial.number": spec.number,
            "trial.dir": trial_dir,
            "study.name": spec.study,
        }
        if "trial.params_hash" in self._template.names:
            values["trial.params_hash"] = params_hash(spec.params)
        try:
            argv = self._template.render(values)
        except KeyError as missing:
            self._pending.append(
                Ended(
                    spec.number,
                    error=f"placeholder {{{missing.args[0]}}} has no value in this trial; "
                    "placeholders must name parameters (an inactive conditional one has no "
                    "value: read it from $HPSWEEP_PARAMS instead)",
                )
            )
            return
        if self._shell:
            argv = ["/bin/sh", "-c", " ".join(argv)]
        try:
            self._trials[spec.number] = self._spawn(spec, trial_dir, argv)
        except OSError as error:
            reason = error.strerror or str(error)
            where = f" ({error.filename})" if error.filename not in (None, argv[0]) else ""
            self._pending.append(
                Ended(spec.number, error=f"cannot start {argv[0]!r}: {reason}{where}")
            )

    def _spawn(self, spec: TrialSpec, trial_dir: Path, argv: list[str]) -> _Trial:
        trial_dir.mkdir(parents=True, exist_ok=True)
        params_text = json.dumps(dict(spec.params), indent=2, default=str)
        (trial_dir / "params.json").write_text(params_text + "\n")
        # a retry reuses the directory: the previous attempt's result must not count for it
        (trial_dir / ORION_RESULTS).unlink(missing_ok=True)
        separator = f"----- hpsweep: trial {spec.number}, attempt {spec.attempt + 1} -----\n"
        with contextlib.ExitStack() as cleanup:
            stdout_log = _Log(trial_dir / "stdout.log", separator, self._log_limit)
            cleanup.callback(stdout_log.close)
            stderr_log = _Log(trial_dir / "stderr.log", separator, self._log_limit)
            cleanup.callback(stderr_log.close)
            stdout_read, stdout_write = os.pipe()
            cleanup.callback(os.close, stdout_read)
            cleanup.callback(os.close, stdout_write)
            stderr_read, stderr_write = os.pipe()
            cleanup.callback(os.close, stderr_read)
            cleanup.callback(os.close, stderr_write)
            ours, theirs = socket.socketpair()
            cleanup.callback(ours.close)
            cleanup.callback(theirs.close)
            env = dict(os.environ if self._base_env is None else self._base_env)
            env.update(
                {
                    _wire.ENV_TRIAL_ID: str(spec.trial_id),
                    _wire.ENV_TRIAL_NUMBER: str(spec.number),
                    _wire.ENV_TRIAL_DIR: str(trial_dir),
                    _wire.ENV_STUDY: spec.study,
                    _wire.ENV_PARAMS: json.dumps(dict(spec.params), default=str),
                    _wire.ENV_PROTOCOL: str(_wire.PROTOCOL_VERSION),
                    "ORION_RESULTS_PATH": str(trial_dir / ORION_RESULTS),
                    "ORION_EXPERIMENT_ID": spec.study,
                    "ORION_EXPERIMENT_NAME": spec.study,
                    "ORION_EXPERIMENT_VERSION": "1",
                    "ORION_INTERRUPT_CODE": "130",
                    "ORION_TRIAL_ID": str(spec.trial_id),
                    "ORION_WORKING_DIR": str(trial_dir),
                }
            )
            env.update(spec.env)
            env[_wire.ENV_CHANNEL_FD] = str(theirs.fileno())
            for fd in (stdout_read, stderr_read):
                os.set_blocking(fd, False)
            ours.setblocking(False)
            pipe = f"pipe:[{os.fstat(stdout_read).st_ino}]"
            stderr_pipe = f"pipe:[{os.fstat(stderr_read).st_ino}]"
            peer = f"socket:[{os.fstat(theirs.fileno()).st_ino}]"
            born = boot_ticks() - 1
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,  # parallel trials cannot share the terminal's input
                stdout=stdout_write,
                stderr=stderr_write,
                cwd=trial_dir if self._cwd_mode == "trial" else self._start_dir,
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # a group to signal as a whole, away from our Ctrl-C
            )
            cleanup.pop_all()
        os.close(stdout_write)
        os.close(stderr_write)
        theirs.close()
        trial = _Trial(
            spec,
            trial_dir,
            process,
            _Source("stdout", stdout_read, pipe, log=stdout_log, lines=_Lines(_STDOUT_NEEDLES)),
            _Source("stderr", stderr_read, stderr_pipe, log=stderr_log, tail=True),
            _Source("channel", ours.fileno(), peer, lines=_Lines(), sock=ours),
        )
        trial.born = born
        self._guard.watch(process.pid)
        for source, fd in zip(trial.sources, (stdout_read, stderr_read, ours.fileno())):
            self._selector.register(fd, selectors.EVENT_READ, (trial, source))
        if trial.pidfd is not None:
            self._selector.register(trial.pidfd, selectors.EVENT_READ, (trial, None))
        return trial

    # ------------------------------------------------------------------------------ poll

    def poll(self, timeout: float) -> list[Event]:
        if self._closed:
            return []
        events, self._pending = self._pending, []
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            now = time.monotonic()
            wait = 0.0 if events else deadline - now
            for trial in self._trials.values():
                trial.bytes_left, trial.lines_left = _BYTES_PER_ROUND, _LINES_PER_ROUND
                if trial.returncode is not None:
                    settle = trial.exited_at + _SETTLE if trial.reading else now
                    wait = 0.0 if trial.busy else min(wait, max(0.0, settle - now))
                    continue
                if trial.busy:
                    wait = 0.0
                if trial.kill_at is not None and not trial.killed:
                    if trial.kill_at <= now:
                        signal_group(trial.process.pid, signal.SIGKILL)
                        trial.killed = True
                    else:
                        wait = min(wait, trial.kill_at - now)
                if trial.pidfd is None:
                    wait = min(wait, _EXIT_CHECK_INTERVAL)
            for key, mask in self._selector.select(max(0.0, wait)):
                trial, source = key.data
                if self._trials.get(trial.number) is not trial:
                    continue  # ended by an earlier key of this batch
                if source is None:
                    self._reap(trial)
                    continue
                if mask & selectors.EVENT_WRITE:
                    self._flush(trial)
                if mask & selectors.EVENT_READ:
                    self._pump(trial, source, events)
            for trial in list(self._trials.values()):
                if trial.returncode is None and trial.pidfd is None:
                    self._reap(trial)
                if trial.returncode is not None:
                    self._drain(trial, events)
                elif trial.busy:
                    for source in trial.sources:
                        if source.backlog:
                            self._pump(trial, source, events)
            if events or time.monotonic() >= deadline:
                return events

    def _pump(self, trial: _Trial, source: _Source, events: list[Event]) -> None:
        """Handle waiting lines, then read what the round's budget allows."""
        self._handle_backlog(trial, source, events)
        source.more = False
        while source.fd is not None and not source.backlog and trial.reading:
            if trial.bytes_left <= 0 or (source.lines is not None and trial.lines_left <= 0):
                source.more = True
                return
            if source is trial.channel and len(trial.outbox) > _OUTBOX_LIMIT:
                return  # it asks without reading the answers: wait until it does
            size = min(_READ_SIZE, trial.bytes_left)
            if trial.returncode is not None:
                size = min(size, trial.drain_limit - trial.drained)
            try:
                data = os.read(source.fd, size)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._selector.unregister(source.fd)
                source.close()
                if source.lines is not None:
                    source.backlog.extend(source.lines.rest())
                    self._handle_backlog(trial, source, events)
                return
            trial.bytes_left -= len(data)
            if trial.returncode is not None:
                trial.drained += len(data)
            source.keep(data)
            if source.lines is not None:
                source.backlog.extend(source.lines.feed(data))
                self._handle_backlog(trial, source, events)

    def _handle_backlog(self, trial: _Trial, source: _Source, events: list[Event]) -> None:
        handle = self._channel_line if source is trial.channel else self._stdout_line
        backlog = source.backlog
        while backlog and trial.lines_left > 0:
            trial.lines_left -= 1
            handle(trial, backlog.popleft(), events)

    def _stdout_line(self, trial: _Trial, raw: bytes, events: list[Event]) -> None:
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith(_wire.MARKER):
            try:
                message = _wire.parse_marker(line)
            except _wire.WireError as error:
                trial.bad_line(str(error))
                return
            if isinstance(message, _wire.Report):
                step = trial.step(message.step)
                trial.reports += 1
                events.append(Reported(trial.number, step, message.value, cooperative=False))
            elif isinstance(message, _wire.Final):
                trial.marker_final = message.result
            elif isinstance(message, _wire.Pruned):
                trial.pruned = True
        elif line.endswith("}"):
            found = last_json_object(line)
            if found is not None and (self._metric is None or self._metric in found):
                trial.printed = found

    def _channel_line(self, trial: _Trial, raw: bytes, events: list[Event]) -> None:
        if not raw.strip():
            return
        try:
            message = _wire.decode(raw)
        except _wire.WireError as error:
            trial.bad_line(str(error))
            return
        if isinstance(message, _wire.Report):
            step = trial.step(message.step)
            trial.reports += 1
            events.append(Reported(trial.number, step, message.value, cooperative=True))
        elif isinstance(message, _wire.PruneQuery):
            trial.queries += 1
            self._answer(trial)
        elif isinstance(message, _wire.Final):
            trial.final = message.result
        elif isinstance(message, _wire.Pruned):
            trial.pruned = True
        else:
            trial.failure = message.message

    # ----------------------------------------------------------------------- decisions

    def decide(self, number: int, prune: bool) -> None:
        trial = self._trials.get(number)
        if trial is None:
            return
        trial.decisions += 1
        trial.prune = trial.prune or prune
        self._answer(trial)

    def _answer(self, trial: _Trial) -> None:
        """Answer waiting ``should_prune()`` queries once every report sent before them has its
        decision; a trial being stopped hears True at once."""
        while trial.queries and (trial.stopping or trial.decisions >= trial.reports):
            trial.queries -= 1
            prune = trial.stopping or trial.prune
            trial.told_to_prune = trial.told_to_prune or prune
            trial.outbox += _wire.encode_decision(prune)
        if trial.outbox:
            self._flush(trial)

    def _flush(self, trial: _Trial) -> None:
        channel = trial.channel
        if channel.sock is None or channel.fd is None:
            trial.outbox.clear()
            return
        try:
            sent = channel.sock.send(trial.outbox)
        except BlockingIOError:  # the trial does not read its answers; keep them for later
            sent = 0
        except OSError:  # the trial closed its end: nobody to answer
            sent = len(trial.outbox)
        del trial.outbox[:sent]
        # Reading stops while too many answers wait unread (the trial waits for us, then).
        mask = (selectors.EVENT_READ if len(trial.outbox) <= _OUTBOX_LIMIT else 0) | (
            selectors.EVENT_WRITE if trial.outbox else 0
        )
        if mask != trial.mask:
            trial.mask = mask
            self._selector.modify(channel.fd, mask, (trial, channel))

    # -------------------------------------------------------------------------- ending

    def stop(self, number: int, *, grace: float) -> None:
        """SIGTERM to the trial's process group now, SIGKILL ``grace`` seconds later (enforced
        by :meth:`poll`) if its main process still runs."""
        trial = self._trials.get(number)
        if trial is None or trial.stopping:
            return
        trial.stopping = True
        trial.grace = grace
        self._answer(trial)
        if trial.returncode is not None:
            return  # it has exited (and its group was killed); its end is being read
        signal_group(trial.process.pid, signal.SIGTERM)
        trial.kill_at = time.monotonic() + max(0.0, grace)

    def _reap(self, trial: _Trial) -> None:
        """If the trial's main process has exited: kill what remains of its group, reap it,
        and start reading its pipes to the end."""
        group = trial.process.pid
        if trial.pidfd is not None:
            # It is a zombie now, so its pid (the group id) cannot be reused before we reap it.
            signal_group(group, signal.SIGKILL)
        returncode = trial.process.poll()
        if returncode is None:
            return
        if trial.pidfd is None:
            signal_group(group, signal.SIGKILL)
        else:
            self._selector.unregister(trial.pidfd)
            os.close(trial.pidfd)
            trial.pidfd = None
        self._guard.forget(group)
        trial.returncode = returncode
        trial.exited_at = time.monotonic()
        waiting = sum(unread_bytes(s.fd) for s in trial.sources if s.fd is not None)
        trial.drain_limit = waiting + _DRAIN_SLACK

    def _drain(self, trial: _Trial, events: list[Event]) -> None:
        """Read an exited trial's pipes, a round's budget at a time; end it at end of file, or
        once nothing more comes and a process outside its group still holds a pipe, or at the
        drain limit."""
        for source in trial.sources:
            if source.backlog or (source.fd is not None and trial.reading):
                self._pump(trial, source, events)
        if trial.busy:
            return
        open_ = [s for s in trial.sources if s.fd is not None]
        if open_ and trial.reading and time.monotonic() < trial.exited_at + _SETTLE:
            return
        self._finish(trial, open_, events)

    def _finish(self, trial: _Trial, open_: list[_Source], events: list[Event]) -> None:
        notes: list[str] = []
        if open_:
            holders: list[str] = []
            for source in open_:
                found = fd_holders(source.peer, exclude=os.getpid(), since=trial.born)
                holders += [h for h in found if h not in holders]
            names = ", ".join(s.name for s in open_[:-1])
            names = f"{names} and {open_[-1].name}" if names else open_[-1].name
            if holders:
                notes.append(
                    f"process {', '.join(holders[:3])} still held its {names} after it ended: "
                    "it left the trial's process group (setsid?), so hpsweep did not stop it"
                )
            if not trial.reading:
                notes.append(
                    f"stopped reading its {names} {format_size(trial.drained)} after its exit"
                )
        for source in (trial.stdout, trial.channel):
            if source.lines is not None:
                source.backlog.extend(source.lines.rest())
            trial.lines_left = len(source.backlog)
            self._handle_backlog(trial, source, events)
        events.append(self._ended(trial, notes))
        self._release(trial)

    def _ended(self, trial: _Trial, notes: list[str]) -> Ended:
        returncode = trial.returncode if trial.returncode is not None else 0
        logged: list[str] = []
        for source in (trial.stdout, trial.stderr):
            if source.log is not None:
                source.log.close()
                logged += source.log.notes()
        notes[:0] = logged
        result = self._result(trial, notes)
        error: str | None = None
        if trial.stopping:
            if trial.killed:
                notes.append(f"did not stop within {trial.grace:g} s of SIGTERM; killed")
            elif trial.kill_at is not None:
                notes.append("stopped with SIGTERM")
        elif trial.pruned:
            pass  # it said so itself, then exited (non-zero, after an uncaught TrialPruned)
        elif returncode < 0:
            name = signal_name(-returncode)
            hint = " (out of memory?)" if returncode == -signal.SIGKILL else ""
            error = self._with_stderr(f"killed by signal {name}{hint}", trial)
        elif returncode > 0:
            error = trial.failure or self._with_stderr(f"exit code {returncode}", trial)
        elif result is None and not trial.prune:
            error = f"exited 0 but reported no result; see {trial.trial_dir / 'stdout.log'}"
        if trial.malformed:
            plural = "s" if trial.malformed > 1 else ""
            notes.append(
                f"{trial.malformed} malformed report line{plural} ignored, first: "
                f"{trial.first_malformed}"
            )
        overlong = sum(s.lines.overlong for s in trial.sources if s.lines is not None)
        if overlong:
            notes.append(f"{overlong} line(s) over {LINE_LIMIT >> 20} MiB not parsed")
        return Ended(
            trial.number,
            result=result,
            error=error,
            pruned=trial.pruned or trial.told_to_prune,  # as in-process trials
            stopped=trial.stopping,
            notes=tuple(notes),
        )

    def _result(self, trial: _Trial, notes: list[str]) -> object | None:
        """By priority: channel ``final``, marker ``result``, Oríon results file, the last JSON
        object printed on stdout."""
        if trial.final is not None:
            return trial.final
        if trial.marker_final is not None:
            return trial.marker_final
        value, problem = read_orion_results(trial.trial_dir / ORION_RESULTS)
        if problem:
            notes.append(problem)
        if value is not None:
            return value
        return trial.printed

    @staticmethod
    def _with_stderr(reason: str, trial: _Trial) -> str:
        tail = tail_text(bytes(trial.stderr.tail or b""))
        return f"{reason}; stderr: {tail}" if tail else reason

    def _release(self, trial: _Trial) -> None:
        del self._trials[trial.number]
        for source in trial.sources:
            if source.fd is not None:
                self._selector.unregister(source.fd)
                source.close()
            if source.log is not None:
                source.log.close()
        if trial.pidfd is not None:
            self._selector.unregister(trial.pidfd)
            os.close(trial.pidfd)
            trial.pidfd = None

    def close(self) -> None:
        """SIGTERM every trial, SIGKILL those still running after 1.5 s, reap them all, and
        release every file descriptor; events of the ended trials are dropped."""
        if self._closed:
            return
        for number in list(self._trials):
            self.stop(number, grace=_CLOSE_GRACE)
        deadline = time.monotonic() + _CLOSE_GRACE + 0.5
        while self._trials and time.monotonic() < deadline:
            self.poll(0.05)
        for trial in list(self._trials.values()):
            # Unkillable even by SIGKILL (uninterruptible I/O): give up on it; the guard, which
            # still lists its group, signals it once more as it exits.
            self._release(trial)
        self._pending.clear()
        self._selector.close()
        self._guard.close()
        self._closed = True

    def __enter__(self) -> CommandExecutor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class PythonProcessExecutor(CommandExecutor):
    """Runs a Python function in a fresh interpreter per trial: ``function(params)``.

    ``target`` is ``"module:function"`` (imported with the start directory first on
    ``sys.path``), ``"path/to/file.py:function"``, or a module-level function. Its return value
    is the result; ``TrialPruned`` (hpsweep's, optuna's, any class of that name) ends the trial
    as pruned; any other exception fails it with ``Type: message``. A crash (segfault, OOM kill)
    fails only that trial.
    """

    def __init__(
        self,
        target: str | Callable[..., object],
        *,
        jobs: int = 1,
        cwd_mode: Literal["start", "trial"] = "start",
        base_env: Mapping[str, str] | None = None,
        python: str | None = None,
        log_limit: int | None = None,
    ) -> None:
        argv = [
            python or sys.executable,
            "-m",
            "hpsweep._child",
            "--path",
            str(Path.cwd()),
            target_name(target),
        ]
        super().__init__(
            [item.replace("{", "{{").replace("}", "}}") for item in argv],
            jobs=jobs,
            cwd_mode=cwd_mode,
            base_env=base_env,
            log_limit=log_limit,
        )


def target_name(target: str | Callable[..., object]) -> str:
    """``module:function`` or ``/path/file.py:function`` naming ``target`` for a child process."""
    if isinstance(target, str):
        if ":" not in target:
            raise ConfigError(
                f"a Python target must be module:function (e.g. train:objective), got {target!r}"
            )
        return target
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", "")
    if module is None or not qualname or "<" in qualname:
        raise ConfigError(
            f"{target!r} cannot be found by a child process; pass a module-level function"
        )
    if module == "__main__":
        main_file = getattr(sys.modules["__main__"], "__file__", None)
        if main_file is None:
            raise ConfigError(
                f"{qualname} was defined interactively; child processes can only run functions "
                "defined in a file"
            )
        return f"{Path(main_file).resolve()}:{qualname}"
    return f"{module}:{qualname}"


def last_json_object(line: str) -> dict[str, object] | None:
    """The JSON object that ends ``line``, after any other text (SpeechBrain prints one)."""
    decoder = json.JSONDecoder()
    position = line.find("{")
    for _ in range(64):  # bounded: a log line full of braces must stay cheap
        if position < 0:
            return None
        try:
            value, end = decoder.raw_decode(line, position)
        except ValueError:
            position = line.find("{", position + 1)
            continue
        if end == len(line) and isinstance(value, dict):
            return value
        position = line.find("{", max(end, position + 1))
    return None


def read_orion_results(path: Path) -> tuple[float | None, str | None]:
    """The objective value in an Oríon results file, and a note when the file is unusable."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError):
        return None, f"ignored {path.name}: not valid JSON"
    if isinstance(data, list):
        for entry in data:
            if isinstance(entry, dict) and entry.get("type") == "objective":
                value = entry.get("value")
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return float(value), None
    return None, (
        f'ignored {path.name}: expected [{{"name": ..., "type": "objective", "value": <number>}}]'
    )


def _open_log(path: Path, separator: str) -> int:
    """Open a trial log for appending, marking where a retry's output begins."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        if size:
            newline = b"" if os.pread(fd, 1, size - 1) == b"\n" else b"\n"
            os.write(fd, newline + separator.encode())
    except OSError:
        os.close(fd)
        raise
    return fd


def log_limit_from_env(environ: Mapping[str, str] | None = None) -> int:
    """The log cap in bytes from ``$HPSWEEP_LOG_LIMIT`` (0: no cap), else :data:`LOG_LIMIT`."""
    text = (os.environ if environ is None else environ).get(LOG_LIMIT_ENV)
    if text is None or not text.strip():
        return LOG_LIMIT
    try:
        return parse_size(text)
    except ValueError:
        raise ConfigError(
            f"{LOG_LIMIT_ENV}={text!r} is not a size: write bytes or a number with K, M or G "
            "(100M, 1G), or 0 for no cap"
        ) from None


def unread_bytes(fd: int) -> int:
    """Bytes waiting to be read from a pipe or socket (0 where that cannot be asked)."""
    try:
        answer = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except OSError:
        return 0
    return int(struct.unpack("i", answer)[0])
