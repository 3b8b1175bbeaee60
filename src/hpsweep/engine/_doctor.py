"""``hpsweep doctor``: inspect a store, and repair what is safe to repair.

What it looks at: the studies and their trials by state; RUNNING trials whose controller is dead
(the owner records ``hpsweep:owner:<id>`` and the trial tag ``hpsweep:run``, judged as the
controller judges them); for a journal file, a torn last record and damaged records anywhere
(line numbers), and records of operations this Optuna does not know; for SQLite, ``PRAGMA
integrity_check``; the store format each study was written with.

What ``repair`` does, always after copying the store to ``<store>.bak-<timestamp>``:

* journal: damaged records and a torn last record move to ``<store>.damaged-<timestamp>``; the
  rest stays, byte for byte. Optuna numbers trials by the order of their creation records, so
  when a damaged record hid a trial's creation (a later record names a trial that does not exist
  yet), a placeholder trial (failed, ``why: lost``, not counted in the budget) keeps the numbers
  of every later trial right. The result is replayed before and after: the same trials, or the
  backup is put back.
* RUNNING trials of dead controllers are closed as lost and their params queued to run again,
  exactly as a controller does at start (:func:`recover_lost_trials`, which both use).

It refuses to rewrite a journal that a live controller is using, and to touch a study written by
a newer hpsweep. No optuna import at module level.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import sqlite3
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._errors import StorageError
from hpsweep._errors import StoreNotFound
from hpsweep.engine._liveness import DEFAULT_HEARTBEAT_EXPIRY
from hpsweep.engine._liveness import OWNER_PREFIX
from hpsweep.engine._liveness import RUN_ATTR
from hpsweep.engine._liveness import SUPERSEDED_ATTR
from hpsweep.engine._liveness import Owner
from hpsweep.engine._liveness import owner_is_dead
from hpsweep.engine._liveness import recover_lost_trials
from hpsweep.engine._storage import _SCHEME
from hpsweep.engine._storage import FORMAT_ATTR
from hpsweep.engine._storage import Store
from hpsweep.engine._storage import _is_sqlite_file
from hpsweep.engine._storage import format_problem
from hpsweep.engine._storage import mask_url
from hpsweep.engine._storage import open_store
from hpsweep.engine._storage import resolve_url

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

CONFIG_ATTR = "hpsweep.config"  # engine._study's names, kept here to avoid importing optuna

_KNOWN_OPS = range(11)  # optuna.storages.journal.JournalOperation
_CREATE_STUDY, _CREATE_TRIAL = 0, 4
_STUDY_OPS = (1, 2, 3, 4)  # records that name a study by id
_TRIAL_OPS = (5, 6, 7, 8, 9)  # records that name a trial by id
_STUDY_LIFE = (b'"op_code":0,', b'"op_code": 0,', b'"op_code":1,', b'"op_code": 1,')
RECREATED_ATTR = "hpsweep:recreated"
"""Trial system attribute: doctor rebuilt this trial's creation record, which was damaged."""
PLACEHOLDER_ERROR = "its journal records were damaged; hpsweep doctor kept its place"


# ------------------------------------------------------------------------------ what is found


@dataclass(frozen=True)
class Damage:
    """One journal record that Optuna cannot replay."""

    line: int
    """1-based line number in the journal file."""
    reason: str
    excerpt: str


@dataclass(frozen=True)
class Running:
    """A RUNNING trial and what is known of its controller."""

    number: int
    owner: str
    """``dead``, ``alive`` or ``none`` (no hpsweep owner tag: plain Optuna, left alone)."""
    who: str
    """The owner as one phrase, e.g. ``pid 4242 on host-a``."""


@dataclass
class StudyReport:
    name: str
    study_id: int
    states: dict[str, int]
    format: object
    format_problem: str | None
    running: list[Running] = field(default_factory=list)

    @property
    def dead(self) -> list[int]:
        return [r.number for r in self.running if r.owner == "dead"]

    @property
    def total(self) -> int:
        return sum(self.states.values())


@dataclass
class Diagnosis:
    """What ``doctor`` found in one store."""

    where: str
    """The store as shown to the user (passwords masked)."""
    kind: str
    """``journal``, ``sqlite`` or ``database``."""
    path: str | None = None
    size: int | None = None
    records: int = 0
    """Journal: complete records (lines)."""
    torn_tail: int = 0
    """Journal: bytes of a last record without its newline (a write cut short)."""
    damaged: list[Damage] = field(default_factory=list)
    unknown: list[Damage] = field(default_factory=list)
    """Journal: records of operations this Optuna does not know (a newer Optuna wrote them)."""
    hidden_creations: int = 0
    """Journal: trial creations the damaged records hid (placeholders keep their places)."""
    unsafe: str | None = None
    """Journal: why moving the damaged records aside would renumber trials, if it would."""
    integrity: str | None = None
    """SQLite: ``ok``, or what ``PRAGMA integrity_check`` (or opening the file) said."""
    open_error: str | None = None
    studies: list[StudyReport] = field(default_factory=list)
    live_owners: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = []
        for damage in self.damaged:
            found.append(f"record {damage.line} is damaged ({damage.reason}): {damage.excerpt}")
        if self.torn_tail:
            found.append(
                f"the last record is torn ({self.torn_tail} bytes without a newline: a write "
                "cut short by a crash)"
            )
        for damage in self.unknown:
            found.append(
                f"record {damage.line} is an operation this Optuna does not know "
                f"({damage.reason}); upgrade optuna and hpsweep to read it"
            )
        if self.hidden_creations and not self.unsafe:
            found.append(
                f"damaged records hid the creation of {self.hidden_creations} trial(s); "
                "--repair recreates them in place, so every later trial keeps its number"
            )
        if self.unsafe:
            found.append(self.unsafe)
        if self.integrity not in (None, "ok"):
            found.append(f"SQLite integrity check: {self.integrity}")
        if self.open_error:
            found.append(self.open_error)
        for study in self.studies:
            if study.format_problem:
                found.append(study.format_problem)
            for number in study.dead:
                found.append(
                    f"study {study.name!r}: trial {number} is RUNNING but its controller is dead"
                )
        return found

    @property
    def healthy(self) -> bool:
        return not self.problems()

    @property
    def repairable(self) -> bool:
        """Whether ``repair`` can fix every problem found."""
        return not (
            self.unknown
            or self.unsafe
            or self.integrity not in (None, "ok")
            or self.open_error
            or any(s.format_problem for s in self.studies)
        )


# ------------------------------------------------------------------------------ diagnosing


def diagnose(url: str | None, *, now: float | None = None) -> Diagnosis:
    """Look at the store named by ``url`` (as ``--storage`` takes it) without changing it."""
    target = resolve_url(url)
    kind, path = _kind(target)
    if kind == "journal":
        assert path is not None
        data = _read_journal(path)
        diagnosis = Diagnosis(where=path, kind="journal", path=path, size=len(data))
        analysis = _JournalAnalysis(data)
        diagnosis.records = analysis.records
        diagnosis.torn_tail = len(analysis.tail)
        diagnosis.damaged = analysis.damaged
        diagnosis.unknown = analysis.unknown
        diagnosis.hidden_creations = analysis.hidden_creations
        diagnosis.unsafe = analysis.unsafe
        _judge(diagnosis, analysis.studies(), now=now)
        return diagnosis
    diagnosis = Diagnosis(where=mask_url(target), kind=kind, path=path)
    if path is not None:
        if not os.path.exists(path):
            raise StoreNotFound(f"no store at {path}; check --storage")
        diagnosis.size = os.path.getsize(path)
        diagnosis.integrity = sqlite_integrity(path)
        if diagnosis.integrity != "ok":
            return diagnosis
    try:
        store = open_store(target, readonly=True)
    except StoreNotFound:
        raise
    except StorageError as error:
        if path is None:
            raise  # a server that cannot be reached: nothing to diagnose, one line says why
        diagnosis.open_error = str(error)
        return diagnosis
    try:
        _judge(diagnosis, _storage_studies(store), now=now)
    finally:
        store.close()
    return diagnosis


def _kind(target: str) -> tuple[str, str | None]:
    match = _SCHEME.match(target)
    scheme = match.group(1).lower() if match else None
    if scheme == "journal":
        path = target[len("journal://") :]
        if not path:
            raise StorageError("journal:// needs a path, e.g. journal:///tmp/studies.journal")
        return "journal", path
    if scheme is None:
        if os.path.isdir(target):
            raise StorageError(
                f"the store {target} is a directory; give a file in it, e.g. "
                f"--storage {os.path.join(target, 'hpsweep.journal')}"
            )
        return ("sqlite", target) if _is_sqlite_file(target) else ("journal", target)
    if scheme == "sqlite":
        path = target[len("sqlite:///") :].partition("?")[0]
        return "sqlite", path or None
    return "database", None


def _read_journal(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise StoreNotFound(f"no store at {path}; check --storage") from None
    except IsADirectoryError:
        raise StorageError(
            f"the store {path} is a directory; give a file in it, e.g. "
            f"--storage {os.path.join(path, 'hpsweep.journal')}"
        ) from None
    except OSError as error:
        raise StorageError(f"cannot read the store {path}: {error.strerror}") from None


def sqlite_integrity(path: str) -> str:
    """``ok``, or what SQLite says is wrong with the file (opened read-only)."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        return f"cannot open it: {error}"
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.Error as error:
        return str(error)
    finally:
        connection.close()
    messages = [str(row[0]) for row in rows]
    return "ok" if messages == ["ok"] else "; ".join(messages[:5])


@dataclass
class _Study:
    name: str
    study_id: int
    system_attrs: dict[str, Any]
    user_attrs: dict[str, Any]
    trials: list[FrozenTrial]


def _storage_studies(store: Store) -> list[_Study]:
    storage = store.storage
    return [
        _Study(
            name=summary.study_name,
            study_id=summary._study_id,
            system_attrs=dict(storage.get_study_system_attrs(summary._study_id)),
            user_attrs=dict(summary.user_attrs),
            trials=list(storage.get_all_trials(summary._study_id, deepcopy=False)),
        )
        for summary in storage.get_all_studies()
    ]


def _judge(diagnosis: Diagnosis, studies: Sequence[_Study], *, now: float | None) -> None:
    me = Owner.current()
    moment = time.time() if now is None else now
    for study in studies:
        owners = {
            key[len(OWNER_PREFIX) :]: value
            for key, value in study.system_attrs.items()
            if key.startswith(OWNER_PREFIX)
        }
        expiry = _expiry(study.user_attrs)
        found = study.system_attrs.get(FORMAT_ATTR)
        report = StudyReport(
            name=study.name,
            study_id=study.study_id,
            states={},
            format=found,
            format_problem=format_problem(found, study.name, diagnosis.where, writing=True),
        )
        for trial in study.trials:
            state = trial.state.name.lower()
            report.states[state] = report.states.get(state, 0) + 1
            if state != "running":
                continue
            run = trial.system_attrs.get(RUN_ATTR)
            if not isinstance(run, dict):
                report.running.append(Running(trial.number, "none", "not run by hpsweep"))
                continue
            record = owners.get(str(run.get("owner")))
            dead = owner_is_dead(
                record if isinstance(record, dict) else None, me=me, now=moment, expiry=expiry
            )
            report.running.append(Running(trial.number, "dead" if dead else "alive", _who(record)))
        for owner_id, record in owners.items():
            if isinstance(record, dict) and not owner_is_dead(
                record, me=me, now=moment, expiry=expiry
            ):
                diagnosis.live_owners.append(f"{_who(record)} (controller {owner_id})")
        diagnosis.studies.append(report)


def _expiry(user_attrs: dict[str, Any]) -> float:
    config = user_attrs.get(CONFIG_ATTR)
    value = config.get("heartbeat_expiry") if isinstance(config, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return DEFAULT_HEARTBEAT_EXPIRY


def _who(record: object) -> str:
    if not isinstance(record, dict):
        return "an unknown controller"
    return f"pid {record.get('pid', '?')} on {record.get('host', '?')}"


# ------------------------------------------------------------------------------ the journal


class _JournalAnalysis:
    """The records of a journal file, sorted into good, damaged and unknown, replayed with
    Optuna's own replay (record by record, so one bad record does not hide the rest)."""

    def __init__(self, data: bytes) -> None:
        lines = data.split(b"\n")
        self.tail = lines.pop()
        self.lines = lines
        self.records = len(lines)
        self.damaged: list[Damage] = []
        self.unknown: list[Damage] = []
        self.good: list[tuple[int, dict[str, Any]]] = []
        """(line index, record) of every record that replays."""
        self.hidden_creations = 0
        self.unsafe: str | None = None
        self.placeholders: dict[int, tuple[int, int]] = {}
        """Line index of a damaged record -> (study id, trial creations it hid)."""
        self.closing: list[dict[str, Any]] = []
        """Records that close recreated trials nothing else finishes (appended at the end)."""
        self._stamp = _now_iso()
        self._replay = self._sort()
        if self.damaged:
            self._find_hidden_creations()
            if self.placeholders and not self.unsafe:
                self._replay, _, recreated = self._replay_with_placeholders(stop=False)
                self._close_recreated(recreated)

    def _sort(self) -> Any:
        result = _new_replay()
        for index, line in enumerate(self.lines):
            try:
                log = json.loads(line)
            except (ValueError, RecursionError):
                self.damaged.append(Damage(index + 1, "not JSON", _excerpt(line)))
                continue
            op = log.get("op_code") if isinstance(log, dict) else None
            if not isinstance(op, int) or isinstance(op, bool):
                self.damaged.append(Damage(index + 1, "not a journal operation", _excerpt(line)))
                continue
            if op not in _KNOWN_OPS:
                self.unknown.append(Damage(index + 1, f"op_code {op}", _excerpt(line)))
                continue
            try:
                result.apply_logs([log])
            except Exception as error:
                reason = f"cannot be replayed: {type(error).__name__}: {_first_line(error)}"
                self.damaged.append(Damage(index + 1, reason, _excerpt(line)))
                continue
            self.good.append((index, log))
        return result

    def _find_hidden_creations(self) -> None:
        """A later record naming a trial that does not exist yet means that a damaged record
        before it was that trial's creation (in a healthy journal no record names a trial
        before its creation: its id is known only then). Recreate such trials where the
        damaged record was, so that every later trial keeps its number and the later records
        of the recreated trial (params, values, state) still apply to it."""
        damaged_at = sorted(d.line - 1 for d in self.damaged)
        for _ in range(10_000):
            _, forward, _ = self._replay_with_placeholders(stop=True)
            if forward is None:
                return
            index, missing = forward
            gaps = [at for at in damaged_at if at < index]
            if not gaps or not missing:
                what = "a study" if not missing else "a trial"
                self.unsafe = (
                    f"record {index + 1} names {what} that does not exist"
                    + (f" (damaged record {gaps[-1] + 1} hid its creation)" if gaps else "")
                    + "; doctor cannot rebuild it: restore the store from a backup"
                )
                return
            gap = gaps[-1]
            studies = self._studies_at(gap)
            if len(studies) != 1:
                self.unsafe = (
                    f"damaged record {gap + 1} hid the creation of a trial, and the store held "
                    f"{len(studies)} studies then, so doctor cannot tell which one it was in"
                )
                return
            study_id, count = self.placeholders.get(gap, (studies[0], 0))
            self.placeholders[gap] = (study_id, count + missing)
            self.hidden_creations += missing
        self.unsafe = "too many hidden trial creations to repair"

    def _replay_with_placeholders(
        self, *, stop: bool
    ) -> tuple[Any, tuple[int, int] | None, list[int]]:
        """Replay the good records in file order with the placeholders where their damaged
        record was: (the replay, the first forward reference as (line index, trials missing,
        0 for a missing study) when ``stop``, the trial ids of the placeholders)."""
        result = _new_replay()
        events: list[tuple[int, dict[str, Any] | None]] = [*self.good]
        events.extend((index, None) for index in self.placeholders)
        events.sort(key=lambda item: item[0])
        recreated: list[int] = []
        for index, log in events:
            if log is None:
                study_id, count = self.placeholders[index]
                for _ in range(count):
                    result.apply_logs([_placeholder(study_id, self._stamp_at(index))])
                    recreated.append(len(result._trials) - 1)
                continue
            if stop:
                op = log["op_code"]
                trials = len(result._trials)
                if op in _TRIAL_OPS and isinstance(log.get("trial_id"), int):
                    if log["trial_id"] >= trials:
                        return result, (index, log["trial_id"] - trials + 1), recreated
                if op in _STUDY_OPS and isinstance(log.get("study_id"), int):
                    if log["study_id"] >= result._next_study_id:
                        return result, (index, 0), recreated
            with contextlib.suppress(Exception):
                result.apply_logs([log])
        return result, None, recreated

    def _close_recreated(self, recreated: list[int]) -> None:
        """A recreated trial that its later records leave RUNNING and untagged would stay so
        forever: close it as lost (and out of the budget) with records at the end."""
        for trial_id in recreated:
            trial = self._replay._trials[trial_id]
            if trial.state.name != "RUNNING" or isinstance(trial.system_attrs.get(RUN_ATTR), dict):
                continue  # finished by its own records, or recovery judges its owner
            base = {"worker_id": "hpsweep-doctor", "trial_id": trial_id}
            self.closing.extend(
                [
                    {**base, "op_code": 8, "user_attr": {"why": "lost"}},
                    {**base, "op_code": 8, "user_attr": {"error": PLACEHOLDER_ERROR}},
                    {**base, "op_code": 9, "system_attr": {SUPERSEDED_ATTR: True}},
                    {
                        **base,
                        "op_code": 6,
                        "state": 3,
                        "values": None,
                        "datetime_complete": self._stamp,
                    },
                ]
            )
        if self.closing:
            self._replay.apply_logs(self.closing)

    def content(self) -> bytes:
        """The repaired journal: the good records byte for byte, placeholders where damaged
        records hid trial creations, closing records at the end."""
        kept: list[bytes] = []
        good_lines = {index for index, _ in self.good}
        for index, line in enumerate(self.lines):
            if index in good_lines:
                kept.append(line + b"\n")
            elif index in self.placeholders:
                study_id, count = self.placeholders[index]
                kept.extend([_record(_placeholder(study_id, self._stamp_at(index)))] * count)
        kept.extend(_record(log) for log in self.closing)
        return b"".join(kept)

    def _stamp_at(self, gap: int) -> str:
        """The latest time a good record before ``gap`` holds: when the lost creation was."""
        stamp = None
        for index, log in self.good:
            if index > gap:
                break
            stamp = log.get("datetime_complete") or log.get("datetime_start") or stamp
        return stamp if isinstance(stamp, str) else self._stamp

    def _studies_at(self, gap: int) -> list[int]:
        result = _new_replay()
        for index, log in self.good:
            if index > gap:
                break
            with contextlib.suppress(Exception):
                result.apply_logs([log])
        return [s._study_id for s in result.get_all_studies()]

    def studies(self) -> list[_Study]:
        result = self._replay
        return [
            _Study(
                name=s.study_name,
                study_id=s._study_id,
                system_attrs=dict(s.system_attrs),
                user_attrs=dict(s.user_attrs),
                trials=list(result.get_all_trials(s._study_id, None)),
            )
            for s in result.get_all_studies()
        ]


def _new_replay() -> Any:
    from optuna.storages.journal._storage import JournalStorageReplayResult

    # A worker id no record has, so that Optuna's replay skips (rather than raises on) records
    # that do not apply, as it does for other processes' records.
    return JournalStorageReplayResult(f"hpsweep-doctor-{uuid.uuid4()}-")


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _placeholder(study_id: int, stamp: str) -> dict[str, Any]:
    """A trial's creation record, RUNNING, so that its own later records still apply to it."""
    return {
        "op_code": _CREATE_TRIAL,
        "worker_id": "hpsweep-doctor",
        "study_id": study_id,
        "datetime_start": stamp,
        "system_attrs": {RECREATED_ATTR: True},
    }


def _record(log: dict[str, Any]) -> bytes:
    return json.dumps(log, separators=(",", ":")).encode() + b"\n"


def _excerpt(line: bytes) -> str:
    text = repr(line.decode("utf-8", "replace")[:200])
    return text if len(text) <= 60 else text[:57] + "..."


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:120] if text else repr(error)


# ------------------------------------------------------------------------------ repairing


@dataclass
class Repair:
    """What ``repair`` did."""

    backup: str | None = None
    side_file: str | None = None
    moved: list[int] = field(default_factory=list)
    """Line numbers of the records moved to the side file."""
    torn_bytes: int = 0
    placeholders: int = 0
    trials_before: int = 0
    trials_after: int = 0
    lost: dict[str, list[int]] = field(default_factory=dict)
    """Study name -> numbers of the trials closed as lost."""
    notes: list[str] = field(default_factory=list)


def repair(url: str | None, *, now: float | None = None) -> Repair:
    """Back the store up, then fix what :func:`diagnose` finds and can be fixed safely."""
    target = resolve_url(url)
    diagnosis = diagnose(url, now=now)
    newer = [s.format_problem for s in diagnosis.studies if s.format_problem]
    if newer:
        raise StorageError(f"{newer[0].split('; upgrade')[0]}; doctor repairs only what it knows")
    done = Repair()
    if diagnosis.kind == "journal":
        assert diagnosis.path is not None
        if diagnosis.damaged or diagnosis.torn_tail or diagnosis.hidden_creations:
            if diagnosis.live_owners:
                raise StorageError(
                    f"{diagnosis.where} is in use by a running controller "
                    f"({diagnosis.live_owners[0]}); stop it before repairing the file"
                )
            _repair_journal(diagnosis.path, done)
    elif diagnosis.kind == "sqlite" and diagnosis.integrity != "ok":
        raise StorageError(
            f"the SQLite store {diagnosis.where} is damaged ({diagnosis.integrity}); doctor "
            "cannot repair SQLite files: restore a backup, or salvage it with `sqlite3 "
            f"{diagnosis.path} .recover | sqlite3 recovered.db`"
        )
    elif diagnosis.open_error:
        raise StorageError(diagnosis.open_error)
    if any(study.dead for study in diagnosis.studies):
        store = open_store(target)
        try:
            if done.backup is None and diagnosis.path is not None:
                with store.mutex():
                    done.backup = _backup(diagnosis.path)
            elif diagnosis.path is None:
                done.notes.append(
                    "a server database is not copied; closing lost trials is what `hpsweep "
                    "run` does at start anyway"
                )
            _close_lost(store, done, now=now)
        finally:
            store.close()
    return done


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _free_name(base: str) -> str:
    name, number = base, 1
    while os.path.exists(name):
        name = f"{base}-{number}"
        number += 1
    return name


def _backup(path: str, data: bytes | None = None) -> str:
    """Copy the store next to itself (``<store>.bak-<timestamp>``), durably."""
    backup = _free_name(f"{path}.bak-{_stamp()}")
    if data is None:
        shutil.copyfile(path, backup)
    else:
        with open(backup, "xb") as out:
            out.write(data)
    with open(backup, "rb+") as handle:
        os.fsync(handle.fileno())
    with contextlib.suppress(OSError):
        shutil.copymode(path, backup)
    _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return backup


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _journal_lock(path: str) -> Iterator[int]:
    """The journal's own cross-process lock (the ``flock`` every hpsweep controller takes)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as error:
        raise StorageError(
            f"cannot open the store {path} to repair it: {error.strerror}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _repair_journal(path: str, done: Repair) -> None:
    with _journal_lock(path) as fd:
        data = _read_all(fd)
        analysis = _JournalAnalysis(data)  # again, under the lock: the file may have grown
        if analysis.unknown or analysis.unsafe:
            raise StorageError(
                f"{path} changed while doctor looked at it; run `hpsweep doctor` again"
            )
        before = _trial_summary(analysis.studies())
        content = analysis.content()
        if _trial_summary(_JournalAnalysis(content).studies()) != before:
            raise StorageError(
                f"repairing {path} would change its trials (a bug in doctor; please report "
                "it); nothing was changed"
            )
        done.backup = _backup(path, data)
        moved = [d.line for d in analysis.damaged]
        side = _free_name(f"{path}.damaged-{_stamp()}")
        with open(side, "xb") as out:
            for number in moved:
                out.write(analysis.lines[number - 1] + b"\n")
            if analysis.tail:
                out.write(analysis.tail + b"\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.pwrite(fd, content, 0)
            os.ftruncate(fd, len(content))
            os.fsync(fd)
        except OSError as error:
            raise StorageError(
                f"cannot write {path}: {error.strerror}; it may be half repaired: copy the "
                f"backup {done.backup} over it"
            ) from None
        _fsync_dir(os.path.dirname(os.path.abspath(path)))
        done.side_file = side
        done.moved = moved
        done.torn_bytes = len(analysis.tail)
        done.placeholders = analysis.hidden_creations
        done.trials_before = sum(len(v) for v in before.values())
    # The proof: Optuna's own JournalStorage replays the repaired file to the same trials.
    store = open_store(path, readonly=True)
    try:
        replayed = _trial_summary(_storage_studies(store))
    finally:
        store.close()
    done.trials_after = sum(len(v) for v in replayed.values())
    if replayed != before:
        raise StorageError(
            f"the repaired {path} does not replay to the trials it held; copy the backup "
            f"{done.backup} over it, and please report this"
        )


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks, offset = [], 0
    while offset < size:
        chunk = os.pread(fd, min(size - offset, 1 << 24), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


_Summary = dict[str, list[tuple[Any, ...]]]


def _trial_summary(studies: Sequence[_Study]) -> _Summary:
    """Per study, each trial as (state, params, values, user attrs): what must survive."""
    return {
        s.name: [
            (
                t.state.name,
                json.dumps(t.params, sort_keys=True, default=str),
                json.dumps(t.values),
                json.dumps(t.user_attrs, sort_keys=True, default=str),
            )
            for t in s.trials
        ]
        for s in studies
    }


def _close_lost(store: Store, done: Repair, *, now: float | None) -> None:
    import optuna

    me = Owner.current()
    for summary in store.storage.get_all_studies():
        study = optuna.load_study(study_name=summary.study_name, storage=store.storage)
        numbers = recover_lost_trials(
            store,
            study,
            me=me,
            now=time.time() if now is None else now,
            expiry=_expiry(dict(summary.user_attrs)),
        )
        if numbers:
            done.lost[summary.study_name] = numbers


# ------------------------------------------------------------------------------ read commands


def format_warnings(url: str | None, study: str | None = None) -> list[str]:
    """Warnings for the read commands: studies in the store written by a newer hpsweep (they
    are read as far as this version understands them). Quiet when the store cannot be read:
    the command itself says why."""
    try:
        return _format_warnings(resolve_url(url), study)
    except Exception:
        return []


def _format_warnings(target: str, study: str | None) -> list[str]:
    kind, path = _kind(target)
    found: dict[str, object] = {}
    if kind == "journal":
        assert path is not None
        found = _journal_formats(path)
    else:
        if path is not None and not os.path.exists(path):
            return []
        store = open_store(target, readonly=True)
        try:
            for summary in store.storage.get_all_studies():
                attrs = store.storage.get_study_system_attrs(summary._study_id)
                if FORMAT_ATTR in attrs:
                    found[summary.study_name] = attrs[FORMAT_ATTR]
        finally:
            store.close()
    where = path if kind == "journal" else mask_url(target)
    warnings = []
    for name, value in found.items():
        if study is not None and name != study:
            continue
        problem = format_problem(value, name, str(where), writing=False)
        if problem is not None:
            warnings.append(problem)
    return warnings


def _journal_formats(path: str) -> dict[str, object]:
    """Study name -> its format marker, from the few records that set one (a fast scan)."""
    with open(path, "rb") as handle:
        data = handle.read()
    key = FORMAT_ATTR.encode()
    if key not in data:
        return {}
    names: dict[int, str] = {}
    next_id = 0
    seen: set[str] = set()
    marks: dict[int, object] = {}
    for line in data.split(b"\n"):
        if key not in line and not any(op in line for op in _STUDY_LIFE):
            continue
        try:
            log = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(log, dict):
            continue
        if log.get("op_code") == _CREATE_STUDY and isinstance(log.get("study_name"), str):
            if log["study_name"] not in seen:  # Optuna's replay ignores a duplicate name
                seen.add(log["study_name"])
                names[next_id] = log["study_name"]
                next_id += 1
        elif log.get("op_code") == 1 and log.get("study_id") in names:
            seen.discard(names[log["study_id"]])
        elif log.get("op_code") == 3 and isinstance(log.get("system_attr"), dict):
            if FORMAT_ATTR in log["system_attr"]:
                marks[log.get("study_id", -1)] = log["system_attr"][FORMAT_ATTR]
    return {names[i]: value for i, value in marks.items() if i in names}
