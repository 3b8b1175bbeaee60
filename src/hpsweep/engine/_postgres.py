"""PostgreSQL stores: Optuna's RDB schema over psycopg 3, retried through restarts, with an
advisory lock as the budget mutex.

Three things make a server database safe for several controllers on several hosts:

* **Retries at the store level.** :class:`RetryingStorage` wraps the storage every caller uses
  (the controller and Optuna's own ``ask``/``tell``), so a dropped connection or a restarting
  server costs a pause, not a trial: each call that fails with a connection error is retried
  with capped exponential backoff and jitter until :data:`RETRY_FOR` seconds have passed, then
  fails with one line. SQLAlchemy's ``pool_pre_ping`` replaces pooled connections that died
  while idle, so the first call after a restart does not even need a retry.
* **An advisory lock as the mutex.** :class:`AdvisoryLock` holds ``pg_advisory_lock(key)`` (key
  derived from the study name) on a dedicated connection while the controller counts trials and
  creates one, so controllers on different hosts never overshoot ``n_trials``. A session-level
  lock is released by the server when its connection dies, so a controller killed with kill -9
  inside the critical section never blocks the others.
* **Fencing after a restart.** A restart drops the lock while its holder may be mid-section. When
  a call inside the section has to be retried, the lock is taken again before the retry, and the
  highest trial id (read when the lock was first taken) tells whether another controller created
  a trial in between; if so, a fenced section (the controller's count-then-create) ends with
  :class:`~hpsweep.engine._storage.SectionInterrupted` and is run again from the count.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Container
from collections.abc import Iterator
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from optuna.storages import BaseStorage

from hpsweep._errors import StorageError
from hpsweep.engine._storage import SectionInterrupted

if TYPE_CHECKING:
    import sqlalchemy
    from optuna.distributions import BaseDistribution
    from optuna.storages import RDBStorage
    from optuna.study._frozen import FrozenStudy
    from optuna.study._study_direction import StudyDirection
    from optuna.trial import FrozenTrial
    from optuna.trial import TrialState

    from hpsweep.engine._storage import Store

T = TypeVar("T")

DRIVER = "postgresql+psycopg"
RETRY_FOR = 60.0
"""Seconds a call keeps being retried while the server is unreachable (a restart takes 1-10)."""
CONNECT_TIMEOUT = 10
"""Seconds one connection attempt may take (libpq's connect_timeout)."""
_FIRST_BACKOFF = 0.1
_MAX_BACKOFF = 2.0
_SCHEMES = ("postgresql", "postgres")
_UNDEFINED_TABLE = "42P01"


def is_postgres(url: str) -> bool:
    scheme = url.split("://", 1)[0].lower()
    return scheme.split("+", 1)[0] in _SCHEMES


def driver_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mapped to psycopg 3 (``postgresql+psycopg://``);
    an explicit driver (``postgresql+psycopg2://``) is kept."""
    scheme, sep, rest = url.partition("://")
    if "+" in scheme:
        return url
    return f"{DRIVER}{sep}{rest}"


def lock_key(study: str | None) -> int:
    """The advisory-lock key of a study's budget mutex: a stable signed 64-bit integer (what
    ``pg_advisory_lock(bigint)`` takes), the same on every host and Python version."""
    digest = hashlib.blake2b(f"hpsweep:budget:{study or ''}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def is_connection_error(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it: Optuna wraps SQLAlchemy's errors in
    ``StorageInternalError``) means the connection or the server went away, so that the same
    call can simply be made again on a new connection."""
    import sqlalchemy.exc

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        module = type(current).__module__
        if module.startswith("psycopg") and type(current).__name__ in (
            "OperationalError",
            "InterfaceError",
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(error: BaseException) -> str:
    """The first line of the innermost database error: what libpq said."""
    current: BaseException = error
    while current.__cause__ is not None:
        current = current.__cause__
    orig = getattr(current, "orig", None)
    text = str(orig if orig is not None else current).strip()
    return text.splitlines()[0] if text else type(current).__name__


class Retry:
    """Bounded retries with capped exponential backoff and jitter for connection errors."""

    def __init__(
        self,
        *,
        retry_for: float = RETRY_FOR,
        display_url: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retry_for = retry_for
        self.display_url = display_url
        self._sleep = sleep
        self._clock = clock
        self.retries = 0
        """Calls retried so far (for tests and diagnostics)."""
        self._outage_since: float | None = None
        self.before_retry: Callable[[], None] | None = None
        """Called after the backoff, before each new attempt (the lock re-takes itself here)."""
        self.after_success: Callable[[], None] | None = None
        """Called after each call that succeeded (the lock counts its section's calls)."""

    def call(self, what: str, function: Callable[[], T]) -> T:
        deadline: float | None = None
        backoff = _FIRST_BACKOFF
        while True:
            try:
                result = function()
            except Exception as error:
                if not is_connection_error(error):
                    raise
                now = self._clock()
                deadline = deadline if deadline is not None else now + self.retry_for
                if self._outage_since is None:
                    self._outage_since = now
                    self._say(
                        f"lost the connection to {self.display_url} ({describe(error)}); "
                        f"retrying for up to {self.retry_for:g}s"
                    )
                if now >= deadline:
                    raise StorageError(
                        f"lost the connection to {self.display_url} ({what}) and could not "
                        f"reconnect for {self.retry_for:g}s: {describe(error)}; check that the "
                        "server is running and reachable"
                    ) from None
                self.retries += 1
                self._sleep(min(backoff, max(0.0, deadline - now)) * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, _MAX_BACKOFF)
                if self.before_retry is not None:
                    try:
                        self.before_retry()
                    except SectionInterrupted:
                        raise
                    except Exception:  # the same outage: the next attempt fails and backs off
                        pass
            else:
                if self.after_success is not None:
                    self.after_success()
                if self._outage_since is not None:
                    down = self._clock() - self._outage_since
                    self._outage_since = None
                    self._say(f"reconnected to {self.display_url} after {down:.1f}s")
                return result

    @staticmethod
    def _say(text: str) -> None:
        # Straight to stderr: an outage is worth a line even with -q, and logs show when.
        print(f"hpsweep: {text}", file=sys.stderr, flush=True)


class RetryingStorage(BaseStorage):
    """An Optuna storage that retries every call failing with a connection error.

    Retrying is safe because each call is one transaction that either happened or not; the two
    calls whose first attempt may have been applied although its answer was lost are handled:
    finishing a trial that is already in that state counts as done. (Creating a trial whose
    commit succeeded just as the server went down could leave one extra RUNNING trial; the window
    is the few microseconds between the commit and its acknowledgement.)
    """

    def __init__(self, inner: BaseStorage, engine: sqlalchemy.Engine, retry: Retry) -> None:
        self._inner = inner
        self.engine = engine
        """The SQLAlchemy engine, so that ``Store.close`` disposes of its pool."""
        self.retry = retry

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self._inner, name)
        return self.retry.call(name, lambda: method(*args, **kwargs))

    # studies
    def create_new_study(
        self, directions: Sequence[StudyDirection], study_name: str | None = None
    ) -> int:
        return int(self._call("create_new_study", directions, study_name))

    def delete_study(self, study_id: int) -> None:
        self._call("delete_study", study_id)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._call("set_study_user_attr", study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._call("set_study_system_attr", study_id, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        return int(self._call("get_study_id_from_name", study_name))

    def get_study_name_from_id(self, study_id: int) -> str:
        return str(self._call("get_study_name_from_id", study_id))

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return list(self._call("get_study_directions", study_id))

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(self._call("get_study_user_attrs", study_id))

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(self._call("get_study_system_attrs", study_id))

    def get_all_studies(self) -> list[FrozenStudy]:
        return list(self._call("get_all_studies"))

    # trials
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        return int(self._call("create_new_trial", study_id, template_trial))

    def set_trial_param(
        self,
        trial_id: int,
        param_name: str,
        param_value_internal: float,
        distribution: BaseDistribution,
    ) -> None:
        self._call("set_trial_param", trial_id, param_name, param_value_internal, distribution)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        return int(self._call("get_trial_id_from_study_id_trial_number", study_id, trial_number))

    def get_best_trial(self, study_id: int) -> FrozenTrial:
        best: FrozenTrial = self._call("get_best_trial", study_id)
        return best

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        from optuna.exceptions import UpdateFinishedTrialError

        attempts = 0

        def attempt() -> bool:
            nonlocal attempts
            attempts += 1
            try:
                return bool(self._inner.set_trial_state_values(trial_id, state, values))
            except UpdateFinishedTrialError:
                # A retry after a lost answer: the first attempt finished the trial already.
                if attempts > 1 and self._inner.get_trial(trial_id).state == state:
                    return True
                raise

        return self.retry.call("set_trial_state_values", attempt)

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        self._call("set_trial_intermediate_value", trial_id, step, intermediate_value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._call("set_trial_user_attr", trial_id, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._call("set_trial_system_attr", trial_id, key, value)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        trial: FrozenTrial = self._call("get_trial", trial_id)
        return trial

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        return list(self._call("get_all_trials", study_id, deepcopy=deepcopy, states=states))

    def remove_session(self) -> None:
        self._inner.remove_session()


class AdvisoryLock:
    """``pg_advisory_lock`` held on one connection for the length of a critical section.

    :meth:`held` takes a pooled connection, blocks in ``pg_advisory_lock(key)``, reads the
    study's newest trial id as a fence, and binds this thread's storage session to that same
    connection, so every storage call of the section runs on the connection that holds the lock.
    Then a server restart cannot go unnoticed mid-section (``pool_pre_ping`` would otherwise
    silently replace the connection of the next call): the next call fails, and before it is
    retried :meth:`retake` takes the lock on a new connection and compares the fence. If another
    controller created a trial in the gap, what the section read before the drop may be stale:
    a fenced section then raises :class:`SectionInterrupted` (its caller counts again), any
    other goes on.
    """

    def __init__(
        self, storage: RDBStorage, key: int, retry: Retry, study: str | None = None
    ) -> None:
        self._engine = storage.engine
        self._sessions = storage.scoped_session
        self._key = key
        self._retry = retry
        self._study = study
        self._local = threading.local()
        self.fence_breaks = 0
        """Sections in which another controller created a trial while the lock was lost."""

    @contextlib.contextmanager
    def held(self, fenced: bool = False) -> Iterator[None]:
        connection, self._local.fence = self._retry.call("lock", self._acquire)
        self._bind(connection)
        self._local.inside = True
        self._local.fenced = fenced
        self._local.calls = 0
        try:
            yield
        finally:
            self._local.inside = False
            connection = self._local.connection
            self._unbind()
            self._release(connection)

    def retake(self) -> None:
        """Take the lock again after a lost connection, if this thread is inside a section."""
        if not getattr(self._local, "inside", False):
            return
        old = self._local.connection
        if old is not None:
            with contextlib.suppress(Exception):
                old.invalidate()  # its server session is gone, and the lock with it
        connection, fence = self._acquire()  # raises while the server is still down
        self._bind(connection)
        # Nothing read before the drop, nothing stale: the retried call reads under the new lock.
        if self._local.calls and fence != self._local.fence:
            self.fence_breaks += 1
            self._local.fence = fence
            if self._local.fenced:
                raise SectionInterrupted(
                    "the lock was lost and another controller created a trial meanwhile"
                )

    def count_call(self) -> None:
        if getattr(self._local, "inside", False):
            self._local.calls += 1

    def _bind(self, connection: sqlalchemy.Connection) -> None:
        self._sessions.remove()
        self._sessions.registry.set(self._sessions.session_factory(bind=connection))
        self._local.connection = connection

    def _unbind(self) -> None:
        with contextlib.suppress(Exception):
            self._sessions.remove()  # the next call gets a pooled connection again
        self._local.connection = None

    def _acquire(self) -> tuple[sqlalchemy.Connection, int]:
        from sqlalchemy import text

        connection = self._engine.connect()
        try:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": self._key})
            # The fence, read once the lock is held (a statement of its own: one statement sees
            # the data as of its start, which would be before a wait for the lock).
            fence = connection.execute(
                text(
                    "SELECT coalesce(max(t.trial_id), 0) FROM trials t "
                    "JOIN studies s ON s.study_id = t.study_id "
                    "WHERE s.study_name = CAST(:name AS TEXT) OR CAST(:name AS TEXT) IS NULL"
                ),
                {"name": self._study},
            ).scalar_one()
            connection.commit()  # the lock is the server session's, not the transaction's
        except BaseException:
            with contextlib.suppress(Exception):
                connection.invalidate()
                connection.close()
            raise
        return connection, int(fence)

    def _release(self, connection: sqlalchemy.Connection | None) -> None:
        if connection is None:
            return
        from sqlalchemy import text

        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            connection.commit()
        except Exception:
            # The connection died: the server ended its session and released the lock with it.
            with contextlib.suppress(Exception):
                connection.invalidate()
        finally:
            with contextlib.suppress(Exception):
                connection.close()


def open_postgres(
    url: str, *, study: str | None = None, readonly: bool = False, retry_for: float = RETRY_FOR
) -> Store:
    """Open (and create the schema of) a PostgreSQL store; one-line errors for the usual
    problems: psycopg missing, server unreachable, bad credentials, missing database.

    ``readonly`` creates no schema, and its sessions are read-only on the server, so that every
    write through it is refused, whoever makes it (Optuna, the dashboard's edits, a plugin); a
    database without Optuna's tables then holds no study (:class:`StoreNotFound`)."""
    from hpsweep._errors import StoreNotFound
    from hpsweep.engine._storage import Store
    from hpsweep.engine._storage import mask_url

    display = mask_url(url)
    target = driver_url(url)
    try:
        import sqlalchemy  # noqa: F401  (optuna's dependency: always there)

        if target.startswith(f"{DRIVER}://"):
            import psycopg  # noqa: F401
    except ModuleNotFoundError:
        raise StorageError(
            f"the store {display} needs psycopg 3: pip install 'hpsweep[postgres]'"
        ) from None
    from optuna.storages import RDBStorage
    from optuna.storages import _CachedStorage

    retry = Retry(retry_for=retry_for, display_url=display)
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
    engine_kwargs: dict[str, Any] = {
        "pool_pre_ping": True,  # replaces connections that died while idle (server restart)
        "connect_args": connect_args,
    }
    try:
        if readonly:  # parses the URL: inside, so that a malformed one is a one-line error
            connect_args["options"] = _read_only_options(target)
        rdb: RDBStorage = RDBStorage(
            target, engine_kwargs=engine_kwargs, skip_table_creation=readonly
        )
    except Exception as error:
        if readonly and _sqlstate(error) == _UNDEFINED_TABLE:  # no Optuna schema: nothing yet
            raise StoreNotFound(f"{display} holds no study yet; run `hpsweep run` first") from None
        raise StorageError(_open_problem(display, error)) from None
    storage = RetryingStorage(_CachedStorage(rdb), rdb.engine, retry)
    lock = AdvisoryLock(rdb, lock_key(study), retry, study)
    retry.before_retry = lock.retake
    retry.after_success = lock.count_call
    return Store(url=url, storage=storage, kind="postgresql", lock=lock.held)


def _read_only_options(target: str) -> str:
    """libpq's ``options`` for a session in which the server refuses every write, added to
    those the URL gives (else to ``PGOPTIONS``, which an explicit value replaces), so that a
    ``search_path`` set there still holds."""
    from sqlalchemy.engine import make_url

    given = make_url(target).query.get("options", os.environ.get("PGOPTIONS", ""))
    joined = given if isinstance(given, str) else " ".join(given)
    return f"{joined} -c default_transaction_read_only=on".strip()


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE code of the database error behind ``error`` (psycopg 3 or 2), if any."""
    current: BaseException | None = error
    while current is not None:
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(code, str):
            return code
        current = current.__cause__
    return None


def _open_problem(display: str, error: BaseException) -> str:
    detail = describe(error)
    low = detail.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        check = "check the user name and password (or ~/.pgpass / PGPASSWORD)"
    elif "does not exist" in low and "database" in low:
        check = "create the database first (createdb NAME) or fix its name in the URL"
    elif "connection refused" in low or "timeout" in low or "could not translate" in low:
        check = "check that the server is running and that host and port are right"
    else:
        check = (
            "check that the server is running, the database exists and the credentials are right"
        )
    return f"cannot open the store {display}: {detail}; {check}"
