"""Read stored studies as plain data, fast.

Optuna's ``JournalStorage`` replays a journal by copying a ``FrozenTrial`` for every operation,
which takes seconds on a 10 000-trial study. Read-side commands only need the final state, so a
journal file is replayed here into plain records, with the same rules as Optuna's replay (ops on
unknown or finished trials are ignored, a param whose distribution is incompatible with the
study's earlier one is ignored, duplicate study names are ignored), and without importing optuna
unless a distribution is not one of the three current kinds. Other stores are read through
optuna. ``tests/report/test_read.py`` checks the two replays agree.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import re
from collections.abc import Sequence
from typing import Any

from hpsweep._errors import ConfigError
from hpsweep._errors import StorageError
from hpsweep._errors import StoreNotFound
from hpsweep.results._compute import StudyData
from hpsweep.results._compute import TrialRecord
from hpsweep.results._compute import study_data

# optuna.storages.journal.JournalOperation
_CREATE_STUDY = 0
_DELETE_STUDY = 1
_SET_STUDY_USER_ATTR = 2
_CREATE_TRIAL = 4
_SET_TRIAL_PARAM = 5
_SET_TRIAL_STATE_VALUES = 6
_SET_TRIAL_INTERMEDIATE_VALUE = 7
_SET_TRIAL_USER_ATTR = 8
_SET_TRIAL_SYSTEM_ATTR = 9
_CONSTRAINTS_PREFIX = "constraints:"
_KNOWN_OPS = frozenset(range(11))
# optuna.trial.TrialState and optuna.study.StudyDirection values
_RUNNING, _WAITING = 0, 4
_FINISHED = frozenset((1, 2, 3))
_STATE_NAMES = {0: "running", 1: "complete", 2: "pruned", 3: "fail", 4: "waiting"}
_DIRECTION_NAMES = {0: "not_set", 1: "minimize", 2: "maximize"}


def read_studies(url: str | None, *, intermediate: bool = True) -> tuple[str, list[StudyData]]:
    """The store's display URL and every study in it, in creation order."""
    path = journal_path(url)
    if path is not None:
        return path, _JournalReplay(path).studies(intermediate=intermediate)
    from hpsweep.engine import load_study
    from hpsweep.engine import open_store

    store = open_store(url, readonly=True)
    try:
        names = [s.study_name for s in store.storage.get_all_studies()]
        return store.display_url, [
            study_data(load_study(store, name), store.display_url) for name in names
        ]
    finally:
        store.close()


def read_study(url: str | None, name: str | None, *, intermediate: bool = True) -> StudyData:
    """One study; with no name, the store's only study. ``intermediate=False`` leaves out the
    reported intermediate values, which makes reading a big journal twice as fast."""
    path = journal_path(url)
    if path is None:
        from hpsweep.engine import load_study
        from hpsweep.engine import open_store

        store = open_store(url, readonly=True)
        try:
            return study_data(load_study(store, name), store.display_url)
        finally:
            store.close()
    studies = _JournalReplay(path).studies(intermediate=intermediate)
    return select_study(studies, name, path)


def select_study(studies: Sequence[StudyData], name: str | None, where: str) -> StudyData:
    """The named study, or the only one; the errors say what the store holds."""
    # The same messages as hpsweep.engine.load_study, which works on optuna storages.
    if name is None:
        if len(studies) == 1:
            return studies[0]
        if not studies:
            raise StoreNotFound(f"{where} holds no study yet; run `hpsweep run` first")
        names = ", ".join(s.name for s in studies)
        raise ConfigError(f"{where} holds several studies ({names}); pick one with --study NAME")
    for study in studies:
        if study.name == name:
            return study
    names = ", ".join(s.name for s in studies) or "none"
    raise ConfigError(
        f"no study {name!r} in {where} (studies: {names}); check --study and --storage"
    )


_DEFAULT_STORE = "hpsweep.journal"
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")


def journal_path(url: str | None) -> str | None:
    """The file path when ``url`` names a journal file, else None.

    The same decision as ``hpsweep.engine.open_store`` (a test holds them together), made here
    without importing the engine package, which costs a listing 60 ms of start-up.
    """
    target = url or _DEFAULT_STORE
    match = _SCHEME.match(target)
    if match is None:
        return None if _is_sqlite_file(target) else target
    if match.group(1).lower() == "journal":
        path = target[len("journal://") :]
        return path or None  # open_store's own message covers a missing path
    return None


def _is_sqlite_file(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return path.endswith((".db", ".sqlite", ".sqlite3"))


class _Trial:
    __slots__ = (
        "study_id",
        "number",
        "state",
        "values",
        "params",
        "dists",
        "user_attrs",
        "intermediate",
        "constraints",
        "start",
        "complete",
    )

    def __init__(self, study_id: int, number: int) -> None:
        self.study_id = study_id
        self.number = number
        self.state = _RUNNING
        self.values: list[float] | None = None
        self.params: dict[str, Any] = {}
        self.dists: dict[str, str] = {}
        self.user_attrs: dict[str, Any] = {}
        self.intermediate: dict[int, float] = {}
        self.constraints: dict[str, float] = {}
        self.start: str | None = None
        self.complete: str | None = None


def _note_constraints(trial: _Trial, system_attrs: dict[str, Any]) -> None:
    """Optuna's constraint attrs: ``constraints:<name>`` (Optuna 5) or a ``constraints`` list."""
    for key, value in system_attrs.items():
        if key.startswith(_CONSTRAINTS_PREFIX):
            trial.constraints[key[len(_CONSTRAINTS_PREFIX) :]] = value
        elif key == "constraints" and isinstance(value, list):
            trial.constraints.update((str(i), v) for i, v in enumerate(value))


class _Study:
    __slots__ = ("name", "directions", "user_attrs", "trial_ids", "first_dist")

    def __init__(self, name: str, directions: list[int]) -> None:
        self.name = name
        self.directions = directions
        self.user_attrs: dict[str, Any] = {}
        self.trial_ids: list[int] = []
        self.first_dist: dict[str, tuple[int, str]] = {}
        """Param name -> (number of the earliest trial that has it, its distribution JSON)."""


class _JournalReplay:
    def __init__(self, path: str) -> None:
        self.path = path
        self._studies: dict[int, _Study] = {}
        self._next_study_id = 0
        self._trials: list[_Trial] = []
        self._decoders: dict[str, _Decoder] = {}
        self._compatible: dict[tuple[str, str], bool] = {}

    def studies(self, *, intermediate: bool = True) -> list[StudyData]:
        # Hundreds of thousands of new objects and no cycles: the collector would only cost
        # time (10 % of a big listing).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._replay(intermediate)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            from hpsweep.engine._journal import doctor_command  # error path only: loads optuna

            raise StorageError(
                f"{self.path}: a record is not a valid journal operation; run "
                f"{doctor_command(self.path)} to inspect and repair the store"
            ) from None
        finally:
            if collecting:
                gc.enable()

    def _replay(self, intermediate: bool) -> list[StudyData]:
        trials = self._trials
        for log in _read_logs(self.path, intermediate=intermediate):
            # The four per-trial ops that make up nearly all of a journal are inlined.
            op = log["op_code"]
            if 5 <= op <= 8:
                trial_id = log["trial_id"]
                if not 0 <= trial_id < len(trials):
                    continue
                trial = trials[trial_id]
                if trial.state in _FINISHED:
                    continue
                if op == _SET_TRIAL_INTERMEDIATE_VALUE:
                    trial.intermediate[log["step"]] = log["intermediate_value"]
                elif op == _SET_TRIAL_PARAM:
                    self._set_param(trial, log)
                elif op == _SET_TRIAL_USER_ATTR:
                    trial.user_attrs.update(log["user_attr"])
                else:
                    self._set_state(trial, log)
            else:
                self._apply(op, log)
        return [self._data(study) for study in self._studies.values()]

    def _apply(self, op: int, log: dict[str, Any]) -> None:
        if op == _CREATE_TRIAL:
            self._create_trial(log)
        elif op == _SET_STUDY_USER_ATTR:
            study = self._studies.get(log["study_id"])
            if study is not None:
                study.user_attrs.update(log["user_attr"])
        elif op == _CREATE_STUDY:
            if all(s.name != log["study_name"] for s in self._studies.values()):
                self._studies[self._next_study_id] = _Study(log["study_name"], log["directions"])
                self._next_study_id += 1
        elif op == _DELETE_STUDY:
            self._studies.pop(log["study_id"], None)
        elif op == _SET_TRIAL_SYSTEM_ATTR:
            trial_id = log["trial_id"]
            if 0 <= trial_id < len(self._trials):
                _note_constraints(self._trials[trial_id], log["system_attr"])
        elif op not in _KNOWN_OPS:
            raise StorageError(
                f"{self.path}: unknown journal operation {op!r}; it was written by a newer "
                "Optuna than the one installed"
            )
        # Study system attrs (op 3), trial system attrs other than constraints and discards (10)
        # are not reported.

    def _create_trial(self, log: dict[str, Any]) -> None:
        study = self._studies.get(log["study_id"])
        if study is None:
            return
        trial = _Trial(log["study_id"], len(study.trial_ids))
        trial.start = log["datetime_start"]
        if "state" in log:  # a template: enqueue_trial, add_trial, a retry
            trial.state = log["state"]
            values = log.get("values")
            if values is None and log.get("value") is not None:
                values = [log["value"]]
            trial.values = values
            trial.complete = log.get("datetime_complete")
            for name, internal in log.get("params", {}).items():
                dist = log["distributions"][name]
                trial.params[name] = self._decoder(dist).external(internal)
                trial.dists[name] = dist
            trial.user_attrs.update(log.get("user_attrs", {}))
            _note_constraints(trial, log.get("system_attrs", {}))
            trial.intermediate.update(
                (int(k), v) for k, v in log.get("intermediate_values", {}).items()
            )
            for name, dist in trial.dists.items():
                self._note_first(study, name, trial.number, dist)
        study.trial_ids.append(len(self._trials))
        self._trials.append(trial)

    def _set_param(self, trial: _Trial, log: dict[str, Any]) -> None:
        name, dist = log["param_name"], log["distribution"]
        study = self._studies.get(trial.study_id)
        if study is not None:
            # Optuna checks the distribution against the study's earliest trial with the param.
            first = study.first_dist.get(name)
            if first is None or trial.number <= first[0]:
                if first is not None and not self._is_compatible(first[1], dist):
                    return
                study.first_dist[name] = (trial.number, dist)
            elif not self._is_compatible(first[1], dist):
                return
        decoder = self._decoders.get(dist) or self._decoder(dist)
        trial.params[name] = decoder.external(log["param_value_internal"])
        trial.dists[name] = dist

    @staticmethod
    def _note_first(study: _Study, name: str, number: int, dist: str) -> None:
        first = study.first_dist.get(name)
        if first is None or number <= first[0]:
            study.first_dist[name] = (number, dist)

    @staticmethod
    def _set_state(trial: _Trial, log: dict[str, Any]) -> None:
        state = log["state"]
        if state == _RUNNING:
            if trial.state == _RUNNING:
                return  # another worker already took this waiting trial
            trial.start = log["datetime_start"]
        if state in _FINISHED:
            trial.complete = log["datetime_complete"]
        trial.state = state
        if log["values"] is not None:
            trial.values = log["values"]

    def _decoder(self, dist: str) -> _Decoder:
        decoder = self._decoders.get(dist)
        if decoder is None:
            decoder = self._decoders[dist] = _Decoder(dist)
        return decoder

    def _is_compatible(self, first: str, other: str) -> bool:
        if first == other:
            return True
        key = (first, other)
        known = self._compatible.get(key)
        if known is None:
            from optuna.distributions import check_distribution_compatibility
            from optuna.distributions import json_to_distribution

            try:
                check_distribution_compatibility(
                    json_to_distribution(first), json_to_distribution(other)
                )
                known = True
            except ValueError:
                known = False
            self._compatible[key] = known
        return known

    def _data(self, study: _Study) -> StudyData:
        records = []
        for trial_id in study.trial_ids:
            trial = self._trials[trial_id]
            records.append(
                TrialRecord(
                    number=trial.number,
                    state=_STATE_NAMES[trial.state],
                    values=tuple(trial.values) if trial.values is not None else None,
                    params=trial.params,
                    datetime_start=_local(trial.start),
                    datetime_complete=_local(trial.complete),
                    user_attrs=trial.user_attrs,
                    intermediate=trial.intermediate,
                    constraints=trial.constraints,
                )
            )
        return StudyData(
            name=study.name,
            storage=self.path,
            directions=tuple(_DIRECTION_NAMES.get(d, str(d)) for d in study.directions),
            user_attrs=study.user_attrs,
            records=records,
        )


class _Decoder:
    """Turns a param's stored (internal) value into the value the trial saw."""

    __slots__ = ("kind", "choices", "distribution")

    def __init__(self, dist: str) -> None:
        loaded = json.loads(dist)
        self.kind = loaded.get("name")
        self.choices: tuple[Any, ...] = ()
        self.distribution: Any = None
        if self.kind == "CategoricalDistribution":
            self.choices = tuple(loaded["attributes"]["choices"])
        elif self.kind not in ("FloatDistribution", "IntDistribution"):
            # An abbreviated or pre-3.0 distribution: let optuna decode it.
            from optuna.distributions import json_to_distribution

            self.distribution = json_to_distribution(dist)

    def external(self, internal: Any) -> Any:
        if self.kind == "FloatDistribution":
            return internal
        if self.kind == "IntDistribution":
            return int(internal)
        if self.kind == "CategoricalDistribution":
            return self.choices[int(internal)]
        return self.distribution.to_external_repr(internal)


_SHIFTS: dict[str, dt.timedelta] = {}


def _local(stamp: str | None) -> dt.datetime | None:
    # Optuna's replay gives naive local times; keep them comparable with its trials. Optuna
    # writes UTC with microseconds; the shift to local time is computed once per minute of such
    # stamps (astimezone() is slow, and zones change their offset only on whole minutes).
    if stamp is None:
        return None
    if len(stamp) != 32 or stamp[26] not in "+-":
        return dt.datetime.fromisoformat(stamp).astimezone().replace(tzinfo=None)
    key = stamp[:16] + stamp[26:]
    shift = _SHIFTS.get(key)
    if shift is None:
        moment = dt.datetime.fromisoformat(stamp)
        local = moment.astimezone().replace(tzinfo=None)
        shift = _SHIFTS[key] = local - moment.replace(tzinfo=None)
    return dt.datetime.fromisoformat(stamp[:26]) + shift


# Records of the ops a listing without learning curves does not need (intermediate values, and
# system attrs), as Optuna's and hpsweep's journal writers start them. Leaving them out before
# decoding halves the time to read a big study; a record written another way is just decoded.
# A trial's system attrs are kept when they hold constraint values: they decide the best trial.
_SKIPPABLE = tuple(f'{{"op_code":{sep}{op},'.encode() for op in (3, 7, 9) for sep in ("", " "))
_CONSTRAINT_KEY = b'"constraints'


def _read_logs(path: str, *, intermediate: bool = True) -> list[dict[str, Any]]:
    """Every complete record of the journal; a last line still being written is left out."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise StoreNotFound(
            f"no store at {path}; run `hpsweep run` there first or pass --storage"
        ) from None
    except IsADirectoryError:
        raise StorageError(
            f"{path} is a directory, not a store; pass the store file with --storage"
        ) from None
    except OSError as error:
        raise StorageError(f"cannot open the store {path}: {error.strerror}") from None
    end = data.rfind(b"\n")
    if end < 0:
        return []
    body = data[:end]
    if intermediate:
        joined = body.replace(b"\n", b",")
    else:
        joined = b",".join(
            [
                line
                for line in body.split(b"\n")
                if not line.startswith(_SKIPPABLE) or _CONSTRAINT_KEY in line
            ]
        )
    try:
        # One decode of the whole file is several times faster than one per line.
        logs: list[dict[str, Any]] = json.loads(b"[" + joined + b"]")
    except ValueError:
        for number, line in enumerate(body.split(b"\n")):
            try:
                json.loads(line)
            except ValueError:
                from hpsweep.engine._journal import doctor_command

                raise StorageError(
                    f"{path}: record {number + 1} is damaged; "
                    f"run {doctor_command(path)} to inspect and repair the store"
                ) from None
        raise
    return logs
