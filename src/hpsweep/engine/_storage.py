"""Where studies live: the embedded default store, journal files, SQLite and server databases."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hpsweep._errors import ConfigError
from hpsweep._errors import HpsweepError
from hpsweep._errors import StorageError
from hpsweep._errors import StoreNotFound

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from hpsweep.engine._journal import DurableJournalFile

DEFAULT_STORE = "hpsweep.journal"
_RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "oracle", "mssql")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")
_SQLITE_DAMAGE = re.compile(r"malformed|not a database|file is encrypted|disk I/O error")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe to print and log: the one in
    ``user:password@`` (up to the last ``@``: a password may hold ``@``, ``/``, ``#``, ...) and
    a ``password=`` query parameter."""
    masked = re.sub(r"(://[^/:@?#]*:).*@", r"\1***@", url)
    return re.sub(r"(?i)([?&](?:password|passwd|pwd)=)[^&]*", r"\1***", masked)


FORMAT_ATTR = "hpsweep:format"
"""Study system attribute: the version of what hpsweep keeps in the study (its attributes and
what they mean), written when hpsweep first writes to the study."""
FORMAT_VERSION = 1


def format_problem(found: object, study: str, where: str, *, writing: bool) -> str | None:
    """None when this hpsweep understands a study marked ``found`` (None: unmarked, as Optuna
    or an older hpsweep leaves it); else one line saying so, for a refusal or a warning."""
    if found is None or (
        isinstance(found, int) and not isinstance(found, bool) and found <= FORMAT_VERSION
    ):
        return None
    lead = (
        f"study {study!r} in {where} was written by a newer hpsweep (store format {found!r}; "
        f"this hpsweep knows format {FORMAT_VERSION})"
    )
    if writing:
        return (
            f"{lead}; upgrade hpsweep (pip install -U hpsweep) to run it; info, trials and "
            "best still read it"
        )
    return f"{lead}; showing what this version understands; upgrade hpsweep to see all of it"


def check_format(store: Store, study_id: int, study: str) -> None:
    """Before writing to an existing study: refuse one that a newer hpsweep wrote."""
    found = store.storage.get_study_system_attrs(study_id).get(FORMAT_ATTR)
    problem = format_problem(found, study, store.display_url, writing=True)
    if problem is not None:
        raise StorageError(problem)


def mark_format(store: Store, study_id: int) -> None:
    """Record this hpsweep's store format in a study that has none yet."""
    if FORMAT_ATTR not in store.storage.get_study_system_attrs(study_id):
        store.storage.set_study_system_attr(study_id, FORMAT_ATTR, FORMAT_VERSION)


class SectionInterrupted(Exception):
    """A fenced :meth:`Store.mutex` section lost its lock and another controller created a
    trial before it was taken again: what the section read may be stale; run it again."""


@dataclass
class Store:
    """An opened study store plus the cross-process mutex the controller uses for budgets."""

    url: str
    storage: BaseStorage
    kind: str
    journal: DurableJournalFile | None = None
    lock_path: str | None = None
    lock: Callable[[bool], contextlib.AbstractContextManager[None]] | None = None
    """A server-side mutex (PostgreSQL: an advisory lock on the study's key), given ``fenced``."""

    @property
    def display_url(self) -> str:
        return mask_url(self.url)

    @contextlib.contextmanager
    def mutex(self, *, fenced: bool = False) -> Iterator[None]:
        """Held while counting trials and creating one, so the study total never overshoots.

        A server-side lock can be lost mid-section (a database restart drops it with the
        connection). A ``fenced`` section, one that decides on what it read, then raises
        :class:`SectionInterrupted` if another controller created a trial meanwhile, so that the
        caller reads again; other sections go on under the lock taken anew."""
        if self.journal is not None:
            with self.journal.locked():
                yield
            return
        if self.lock is not None:
            with self.lock(fenced):
                yield
            return
        if self.lock_path is None:
            yield
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as error:
            raise StorageError(
                f"cannot create the lock file {self.lock_path}: {error.strerror}; writing to "
                f"{self.display_url} needs a writable directory (read commands work without)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
        engine = getattr(getattr(self.storage, "_backend", self.storage), "engine", None)
        if engine is not None:
            engine.dispose()


def resolve_url(url: str | None) -> str:
    """The store a URL or path names; None or '' means the default store in the working dir."""
    return url or DEFAULT_STORE


def open_store(url: str | None, *, readonly: bool = False, study: str | None = None) -> Store:
    """Open the store named by ``url``: an RDB URL (``sqlite:///x.db``, ``postgresql://...``),
    ``journal:///path`` or a plain path (a journal file, or an SQLite file recognised by its
    header). ``study`` scopes a server database's mutex to that study (default: the whole
    database)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    target = resolve_url(url)
    match = _SCHEME.match(target)
    scheme = match.group(1).lower() if match else None
    if scheme == "journal":
        return _open_journal(target[len("journal://") :], readonly=readonly)
    if scheme is None:
        if _is_sqlite_file(target):
            return _open_rdb(f"sqlite:///{target}", readonly=readonly)
        return _open_journal(target, readonly=readonly)
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        from hpsweep.engine._postgres import open_postgres

        return open_postgres(target, study=study, readonly=readonly)
    if scheme.split("+")[0] in _RDB_SCHEMES:
        return _open_rdb(target, readonly=readonly)
    raise ConfigError(
        f"unsupported storage URL {mask_url(target)!r}; use a file path (journal), "
        "sqlite:///path.db or postgresql://user:pass@host/db"
    )


def _is_sqlite_file(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return path.endswith((".db", ".sqlite", ".sqlite3"))


def _open_journal(path: str, *, readonly: bool) -> Store:
    from optuna.storages import JournalStorage

    from hpsweep.engine._journal import DurableJournalFile
    from hpsweep.engine._journal import doctor_command

    if not path:
        raise ConfigError("journal:// needs a path, e.g. journal:///tmp/studies.journal")
    parent = Path(path).parent
    if not readonly and not parent.is_dir():
        raise ConfigError(f"cannot create the store {path}: the directory {parent} is missing")
    backend = DurableJournalFile(path, readonly=readonly)
    try:
        storage = JournalStorage(backend)
    except HpsweepError:
        backend.close()
        raise
    except Exception as error:  # a record that is JSON but not an operation Optuna can replay
        backend.close()
        if isinstance(error, AssertionError):  # Optuna's replay met an op_code it does not know
            raise StorageError(
                f"{path}: record {backend.records_read} is an operation this Optuna does not "
                "know (written by a newer Optuna?); upgrade optuna, or run "
                f"{doctor_command(path)} to inspect the store"
            ) from None
        raise StorageError(
            f"{path}: record {backend.records_read} cannot be replayed ({type(error).__name__}: "
            f"{_first_line(error)}); run {doctor_command(path)} to inspect and repair the "
            "store"
        ) from None
    return Store(url=path, storage=storage, kind="journal", journal=backend)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else repr(error)


def _open_rdb(url: str, *, readonly: bool) -> Store:
    from optuna.storages import RDBStorage

    lock_path = None
    path = None
    connect = url
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].partition("?")[0]
        if os.path.isdir(path):
            raise StorageError(
                f"the store {path} is a directory; give the SQLite file, e.g. "
                f"sqlite:///{os.path.join(path, 'studies.db')}"
            )
        if readonly and not os.path.exists(path):
            raise StoreNotFound(f"no store at {path}; run `hpsweep run` there first")
        if readonly and os.path.getsize(path) == 0:
            raise StoreNotFound(f"{path} is empty: it holds no study yet; run `hpsweep run` first")
        directory = os.path.dirname(os.path.abspath(path))
        if (
            not readonly
            and os.path.exists(path)
            and not (os.access(path, os.W_OK) and os.access(directory, os.W_OK))
        ):
            raise StorageError(
                f"cannot write to the SQLite store {path}: it (or its directory) is read-only; "
                "`run` needs write access (info, trials and best only read): fix the "
                "permissions, or copy it somewhere writable"
            )
        if readonly and "?" not in url and not set("?#%") & set(path):
            # Read commands must never write, not even the tables Optuna creates in a new file.
            connect = f"sqlite:///file:{path}?mode=ro&uri=true"
        lock_path = path + ".hpsweep-lock"
    try:
        storage = RDBStorage(connect, skip_compatibility_check=False)
    except Exception as error:
        first_line = _first_line(error)
        if path is not None and _SQLITE_DAMAGE.search(first_line):
            reason = first_line.partition(") ")[2] or first_line
            raise StorageError(
                f"the SQLite store {path} is damaged ({reason}); run `hpsweep doctor "
                f"--storage {url}` to check it, or restore it from a backup"
            ) from None
        if path is not None and "readonly database" in first_line:
            raise StorageError(
                f"cannot write to the SQLite store {path}: it is read-only; fix its "
                "permissions (and its directory's), or use the read commands (info, trials, "
                "best)"
            ) from None
        raise StorageError(
            f"cannot open the store {mask_url(url)}: {mask_url(first_line)}; check that the "
            "server is running, the database exists and the credentials are right"
        ) from None
    return Store(url=url, storage=storage, kind="rdb", lock_path=lock_path)
