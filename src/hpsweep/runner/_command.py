"""Run any command as a trial: one process group per trial, watched without blocking.

A trial talks back over a socket pair (the Python client), marker lines on stdout (any language),
a JSON object printed on stdout (SpeechBrain) or ``$ORION_RESULTS_PATH`` (Oríon); see
docs/protocol.md. POSIX only.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
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
from hpsweep.runner._procutil import OrphanGuard
from hpsweep.runner._procutil import open_pidfd
from hpsweep.runner._procutil import signal_group
from hpsweep.runner._procutil import signal_name
from hpsweep.runner._procutil import stderr_tail
from hpsweep.runner._template import CommandTemplate

LINE_LIMIT = 1 << 20
"""Longer stdout or channel lines are written to the log but not parsed."""
ORION_RESULTS = "orion-results.json"
_CLOSE_GRACE = 1.5
_EXIT_CHECK_INTERVAL = 0.05  # how often exits are polled where there are no pidfds
_READ_SIZE = 1 << 16
_READS_PER_WAKE = 16  # one chatty trial must not starve the others
_DRAIN_LIMIT = 1 << 24  # bytes read after a trial's exit, against escaped writers


class _Lines:
    """Splits a byte stream into lines; overlong lines are dropped and counted."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skipping = False
        self.overlong = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        lines: list[bytes] = []
        start = 0
        while (end := self._buffer.find(b"\n", start)) >= 0:
            if self._skipping:
                self._skipping = False
            elif end - start > LINE_LIMIT:
                self.overlong += 1
            else:
                lines.append(bytes(self._buffer[start:end]))
            start = end + 1
        del self._buffer[:start]
        if len(self._buffer) > LINE_LIMIT:
            if not self._skipping:
                self.overlong += 1
            self._skipping = True
            self._buffer.clear()
        return lines

    def rest(self) -> list[bytes]:
        """The unterminated last line, at end of stream (SpeechBrain prints no final newline)."""
        rest = [] if self._skipping or not self._buffer else [bytes(self._buffer)]
        self._buffer.clear()
        return rest


class _Trial:
    """One running trial and everything it has said so far."""

    def __init__(
        self,
        spec: TrialSpec,
        trial_dir: Path,
        process: subprocess.Popen[bytes],
        stdout: int,
        channel: socket.socket,
        log: int,
        stderr_offset: int,
    ) -> None:
        self.number = spec.number
        self.trial_dir = trial_dir
        self.process = process
        self.pidfd = open_pidfd(process.pid)
        self.stdout: int | None = stdout
        self.channel: socket.socket | None = channel
        self.log: int | None = log
        self.stderr_offset = stderr_offset
        self.stdout_lines = _Lines()
        self.channel_lines = _Lines()
        self.outbox = bytearray()
        self.writing = False
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
        # how it ends
        self.final: object | None = None
        self.marker_final: object | None = None
        self.printed: dict[str, object] | None = None
        self.pruned = False
        self.failure: str | None = None
        self.malformed = 0
        self.first_malformed = ""
        self.notes: list[str] = []

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
    raises :class:`ConfigError` if not, before any trial starts.
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
            log = _open_log(trial_dir / "stdout.log", separator)
            cleanup.callback(os.close, log)
            stderr = _open_log(trial_dir / "stderr.log", separator)
            stderr_offset = os.lseek(stderr, 0, os.SEEK_END)
            cleanup.callback(os.close, stderr)  # the child has its own copy
            read_end, write_end = os.pipe()
            cleanup.callback(os.close, read_end)
            cleanup.callback(os.close, write_end)
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
            os.set_blocking(read_end, False)
            ours.setblocking(False)
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,  # parallel trials cannot share the terminal's input
                stdout=write_end,
                stderr=stderr,
                cwd=trial_dir if self._cwd_mode == "trial" else self._start_dir,
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # a group to signal as a whole, away from our Ctrl-C
            )
            cleanup.pop_all()
        os.close(write_end)
        os.close(stderr)
        theirs.close()
        trial = _Trial(spec, trial_dir, process, read_end, ours, log, stderr_offset)
        self._guard.watch(process.pid)
        self._selector.register(read_end, selectors.EVENT_READ, (trial, "stdout"))
        self._selector.register(ours, selectors.EVENT_READ, (trial, "channel"))
        if trial.pidfd is not None:
            self._selector.register(trial.pidfd, selectors.EVENT_READ, (trial, "exit"))
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
            for trial in list(self._trials.values()):
                if trial.kill_at is not None and not trial.killed:
                    if trial.kill_at <= now:
                        signal_group(trial.process.pid, signal.SIGKILL)
                        trial.killed = True
                    else:
                        wait = min(wait, trial.kill_at - now)
                if trial.pidfd is None:
                    wait = min(wait, _EXIT_CHECK_INTERVAL)
            for key, mask in self._selector.select(max(0.0, wait)):
                trial, kind = key.data
                if self._trials.get(trial.number) is not trial:
                    continue  # ended by an earlier key of this batch
                if kind == "exit":
                    self._finish(trial, events)
                elif kind == "stdout":
                    self._read_stdout(trial, events)
                else:
                    if mask & selectors.EVENT_WRITE:
                        self._flush(trial)
                    if mask & selectors.EVENT_READ:
                        self._read_channel(trial, events)
            for trial in list(self._trials.values()):
                if trial.pidfd is None:
                    self._finish(trial, events)
            if events or time.monotonic() >= deadline:
                return events

    def _read_stdout(self, trial: _Trial, events: list[Event], *, drain: bool = False) -> None:
        total = 0
        while trial.stdout is not None:
            try:
                data = os.read(trial.stdout, _READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._selector.unregister(trial.stdout)
                os.close(trial.stdout)
                trial.stdout = None
                for line in trial.stdout_lines.rest():
                    self._stdout_line(trial, line, events)
                return
            self._log(trial, data)
            for line in trial.stdout_lines.feed(data):
                self._stdout_line(trial, line, events)
            total += len(data)
            if total >= (_DRAIN_LIMIT if drain else _READ_SIZE * _READS_PER_WAKE):
                return

    def _log(self, trial: _Trial, data: bytes) -> None:
        if trial.log is None:
            return
        try:
            os.write(trial.log, data)
        except OSError as error:  # a full disk must not take the controller down
            trial.notes.append(f"stdout.log is incomplete: {error.strerror}")
            os.close(trial.log)
            trial.log = None

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

    def _read_channel(self, trial: _Trial, events: list[Event], *, drain: bool = False) -> None:
        total = 0
        while trial.channel is not None:
            try:
                data = trial.channel.recv(_READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._selector.unregister(trial.channel)
                trial.channel.close()
                trial.channel = None
                for line in trial.channel_lines.rest():
                    self._channel_line(trial, line, events)
                return
            for line in trial.channel_lines.feed(data):
                self._channel_line(trial, line, events)
            total += len(data)
            if total >= (_DRAIN_LIMIT if drain else _READ_SIZE * _READS_PER_WAKE):
                return

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
        if trial.channel is None:
            trial.outbox.clear()
            return
        try:
            sent = trial.channel.send(trial.outbox)
        except BlockingIOError:  # the trial does not read its answers; keep them for later
            sent = 0
        except OSError:  # the trial closed its end: nobody to answer
            sent = len(trial.outbox)
        del trial.outbox[:sent]
        writing = bool(trial.outbox)
        if writing != trial.writing:
            trial.writing = writing
            mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)
            self._selector.modify(trial.channel, mask, (trial, "channel"))

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
        signal_group(trial.process.pid, signal.SIGTERM)
        trial.kill_at = time.monotonic() + max(0.0, grace)

    def _finish(self, trial: _Trial, events: list[Event]) -> None:
        """End the trial if its main process has exited: kill what remains of its group, reap
        it, read what it left in the pipes, and add its :class:`Ended`."""
        group = trial.process.pid
        if trial.pidfd is not None:
            # It is a zombie now, so its pid (the group id) cannot be reused before we reap it.
            signal_group(group, signal.SIGKILL)
        returncode = trial.process.poll()
        if returncode is None:
            return
        if trial.pidfd is None:
            signal_group(group, signal.SIGKILL)
        self._guard.forget(group)
        self._read_stdout(trial, events, drain=True)
        self._read_channel(trial, events, drain=True)
        for line in trial.stdout_lines.rest():
            self._stdout_line(trial, line, events)
        for line in trial.channel_lines.rest():
            self._channel_line(trial, line, events)
        events.append(self._ended(trial, returncode))
        self._release(trial)

    def _ended(self, trial: _Trial, returncode: int) -> Ended:
        notes = list(trial.notes)
        result = self._result(trial, notes)
        error: str | None = None
        if trial.stopping:
            if trial.killed:
                notes.append(f"did not stop within {trial.grace:g} s of SIGTERM; killed")
            else:
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
        overlong = trial.stdout_lines.overlong + trial.channel_lines.overlong
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
        tail = stderr_tail(trial.trial_dir / "stderr.log", trial.stderr_offset)
        return f"{reason}; stderr: {tail}" if tail else reason

    def _release(self, trial: _Trial) -> None:
        del self._trials[trial.number]
        if trial.stdout is not None:
            self._selector.unregister(trial.stdout)
            os.close(trial.stdout)
            trial.stdout = None
        if trial.channel is not None:
            self._selector.unregister(trial.channel)
            trial.channel.close()
            trial.channel = None
        if trial.pidfd is not None:
            self._selector.unregister(trial.pidfd)
            os.close(trial.pidfd)
            trial.pidfd = None
        if trial.log is not None:
            os.close(trial.log)
            trial.log = None

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
    ) -> None:
        argv = [
            python or sys.executable,
            "-m",
            "hpsweep.runner._child",
            "--path",
            str(Path.cwd()),
            target_name(target),
        ]
        super().__init__(
            [item.replace("{", "{{").replace("}", "}}") for item in argv],
            jobs=jobs,
            cwd_mode=cwd_mode,
            base_env=base_env,
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
