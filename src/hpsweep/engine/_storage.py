"""Where studies live: the embedded default store, journal files, SQLite and server databases."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hpsweep._errors import ConfigError
from hpsweep._errors import StorageError
from hpsweep._errors import StoreNotFound

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from hpsweep.engine._journal import DurableJournalFile

DEFAULT_STORE = "hpsweep.journal"
_RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "oracle", "mssql")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe to print and log."""
    return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)


@dataclass
class Store:
    """An opened study store plus the cross-process mutex the controller uses for budgets."""

    url: str
    storage: BaseStorage
    kind: str
    journal: DurableJournalFile | None = None
    lock_path: str | None = None

    @property
    def display_url(self) -> str:
        return mask_url(self.url)

    @contextlib.contextmanager
    def mutex(self) -> Iterator[None]:
        """Held while counting trials and creating one, so the study total never overshoots."""
        if self.journal is not None:
            with self.journal.locked():
                yield
            return
        if self.lock_path is None:
            yield
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
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


def open_store(url: str | None, *, readonly: bool = False) -> Store:
    """Open the store named by ``url``: an RDB URL (``sqlite:///x.db``, ``postgresql://...``),
    ``journal:///path`` or a plain path (a journal file, or an SQLite file recognised by its
    header)."""
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

    if not path:
        raise ConfigError("journal:// needs a path, e.g. journal:///tmp/studies.journal")
    parent = Path(path).parent
    if not readonly and not parent.is_dir():
        raise ConfigError(f"cannot create the store {path}: the directory {parent} is missing")
    backend = DurableJournalFile(path, readonly=readonly)
    try:
        storage = JournalStorage(backend)
    except Exception:
        backend.close()
        raise
    return Store(url=path, storage=storage, kind="journal", journal=backend)


def _open_rdb(url: str, *, readonly: bool) -> Store:
    from optuna.storages import RDBStorage

    lock_path = None
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if readonly and not os.path.exists(path):
            raise StoreNotFound(f"no store at {path}; run `hpsweep run` there first")
        lock_path = path + ".hpsweep-lock"
    try:
        storage = RDBStorage(url, skip_compatibility_check=False)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise StorageError(
            f"cannot open the store {mask_url(url)}: {mask_url(first_line)}; check that the "
            "server is running, the database exists and the credentials are right"
        ) from None
    return Store(url=url, storage=storage, kind="rdb", lock_path=lock_path)
