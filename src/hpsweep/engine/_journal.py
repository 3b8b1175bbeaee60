"""hpsweep's embedded default store: Optuna's journal format, written faster and just as safely.

The file is line-for-line what ``optuna.storages.journal.JournalFileBackend`` writes, so
optuna-dashboard and ``optuna trials --storage FILE`` read it. Three things differ:

* One descriptor stays open and reads continue from the last offset, instead of reopening and
  re-scanning the file on every storage call.
* Appends take an ``flock`` on that descriptor (microseconds) instead of a symlink lock file, and
  each batch is one ``write`` to an ``O_APPEND`` descriptor, so a record is never interleaved.
* ``fsync`` runs only at commit points: when a study is created and when a trial reaches a
  finished state. A kill -9 loses nothing (the page cache survives the process); a power cut
  loses at most the progress of trials that had not finished, which recovery re-runs anyway.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from typing import Any

from optuna.storages.journal import BaseJournalBackend

from hpsweep._errors import StorageError
from hpsweep._errors import StoreNotFound

_CREATE_STUDY = 0
_SET_TRIAL_STATE_VALUES = 6
_FINISHED_STATES = {1, 2, 3}  # optuna.trial.TrialState COMPLETE, PRUNED, FAIL


class DurableJournalFile(BaseJournalBackend):
    """A journal file backend for one process; several processes may share the file."""

    def __init__(self, path: str, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        flags = os.O_RDONLY if readonly else os.O_RDWR | os.O_APPEND | os.O_CREAT
        try:
            self._fd = os.open(path, flags | os.O_CLOEXEC, 0o666)
        except FileNotFoundError:
            raise StoreNotFound(
                f"no store at {path}; run `hpsweep run` there first or pass --storage"
            ) from None
        except IsADirectoryError:
            raise StorageError(_directory_message(path)) from None
        except OSError as error:
            if not readonly and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise StorageError(
                    f"cannot write to the store {path}: {error.strerror}; `run` needs write "
                    "access to it (info, trials and best only read): fix its permissions, or "
                    "copy it somewhere writable"
                ) from None
            raise StorageError(f"cannot open the store {path}: {error.strerror}") from None
        if stat.S_ISDIR(os.fstat(self._fd).st_mode):  # read-only opens of a directory succeed
            os.close(self._fd)
            raise StorageError(_directory_message(path))
        self._lock_depth = 0
        self._offset = 0
        self._lines = 0
        self._pending = b""
        if not readonly:
            self._set_aside_torn_tail()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)

    @property
    def records_read(self) -> int:
        """How many records (lines) the reads so far went through: after a replay that failed,
        the number of the record it failed on."""
        return self._lines

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive access across processes; re-entrant within this process."""
        if self._lock_depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _set_aside_torn_tail(self) -> None:
        """A crash in the middle of a write can leave a last line without its newline; the next
        append would glue onto it and corrupt a good record. Move the torn bytes to a side file."""
        with self.locked():
            size = os.fstat(self._fd).st_size
            if size == 0 or os.pread(self._fd, 1, size - 1) == b"\n":
                return
            start = size
            while start > 0:
                chunk_start = max(0, start - 65536)
                chunk = os.pread(self._fd, start - chunk_start, chunk_start)
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    start = chunk_start + newline + 1
                    break
                start = chunk_start
            torn = os.pread(self._fd, size - start, start)
            side = f"{self.path}.torn-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
            with open(side, "wb") as out:
                out.write(torn)
                out.flush()
                os.fsync(out.fileno())
            os.ftruncate(self._fd, start)
            os.fsync(self._fd)

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        if log_number_from != self._lines:
            # Someone asks from another position (a fresh replay): start over.
            self._offset, self._lines, self._pending = 0, 0, b""
        size = os.fstat(self._fd).st_size
        while self._offset < size:
            chunk = os.pread(self._fd, min(size - self._offset, 1 << 20), self._offset)
            if not chunk:
                break
            self._offset += len(chunk)
            data = self._pending + chunk
            lines = data.split(b"\n")
            self._pending = lines.pop()
            for line in lines:
                number = self._lines
                self._lines += 1
                if number < log_number_from:
                    continue
                try:
                    yield json.loads(line)
                except (ValueError, RecursionError):
                    raise StorageError(
                        f"{self.path}: record {number + 1} is damaged; "
                        f"run {doctor_command(self.path)} to inspect and repair the store"
                    ) from None

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if self.readonly:
            raise StorageError(f"{self.path} is open read-only")
        data = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode()
        commit = any(_is_commit_point(log) for log in logs)
        with self.locked():
            size_before = os.fstat(self._fd).st_size
            try:
                written = os.write(self._fd, data)
                while written < len(data):  # short writes happen on full disks and signals
                    written += os.write(self._fd, data[written:])
                if commit:
                    os.fsync(self._fd)
            except OSError as error:
                with contextlib.suppress(OSError):  # never leave a torn record behind
                    os.ftruncate(self._fd, size_before)
                raise StorageError(
                    f"cannot write to the store {self.path}: {error.strerror}; "
                    "free some space or fix permissions, then run the same command again "
                    "(finished trials are kept)"
                ) from None


def doctor_command(path: str) -> str:
    """The `hpsweep doctor` command line for the store at ``path``, quoted for a message."""
    if path == "hpsweep.journal":
        return "`hpsweep doctor`"
    return f"`hpsweep doctor --storage {path}`"


def _directory_message(path: str) -> str:
    return (
        f"the store {path} is a directory; give a file in it, e.g. "
        f"--storage {os.path.join(path, 'hpsweep.journal')}"
    )


def _is_commit_point(log: dict[str, Any]) -> bool:
    op = log.get("op_code")
    return op == _CREATE_STUDY or (
        op == _SET_TRIAL_STATE_VALUES and log.get("state") in _FINISHED_STATES
    )
