"""The fast journal replay gives what Optuna's own replay gives."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from optuna.trial import create_trial

from hpsweep._errors import ConfigError
from hpsweep._errors import StorageError
from hpsweep._errors import StoreNotFound
from hpsweep.engine import open_store
from hpsweep.results import StudyData
from hpsweep.results import read_studies
from hpsweep.results import read_study
from hpsweep.results import study_data
from hpsweep.results._read import journal_path


def optuna_view(path: Path) -> list[StudyData]:
    storage = JournalStorage(JournalFileBackend(str(path)))
    return [
        study_data(optuna.load_study(study_name=s.study_name, storage=storage), str(path))
        for s in storage.get_all_studies()
    ]


def comparable(data: StudyData) -> dict[str, Any]:
    return {
        "name": data.name,
        "directions": data.directions,
        "user_attrs": dict(data.user_attrs),
        "trials": [
            (
                r.number,
                r.state,
                r.values,
                [(k, v, type(v)) for k, v in r.params.items()],
                r.datetime_start,
                r.datetime_complete,
                dict(r.user_attrs),
                dict(r.intermediate),
            )
            for r in data.records
        ],
    }


def assert_same(path: Path) -> None:
    _, fast = read_studies(str(path))
    assert [comparable(s) for s in fast] == [comparable(s) for s in optuna_view(path)]


def busy_study(storage: optuna.storages.BaseStorage) -> None:
    """Every kind of operation a journal holds, through Optuna's API."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="busy", storage=storage)
    study.set_user_attr("hpsweep.config", {"study": "busy", "space": {}})
    storage.set_study_system_attr(study._study_id, "ignored", 1)
    choices = CategoricalDistribution(["a", None, 1.5, True, 3])
    for i in range(12):
        trial = study.ask(
            {
                "x": FloatDistribution(-1.0, 1.0),
                "n": IntDistribution(1, 64, log=True),
                "c": choices,
                "s": FloatDistribution(0.0, 1.0, step=0.25),
            }
        )
        trial.set_user_attr("why", "complete")
        trial.storage.set_trial_system_attr(trial._trial_id, "hpsweep:run", {"owner": "me"})
        for step in range(3):
            trial.report(i + step * 0.5, step)
        state = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL][i % 3]
        study.tell(trial, i * 1.5 if state == TrialState.COMPLETE else None, state=state)
    study.enqueue_trial({"x": 0.5}, user_attrs={"retry_of": 2, "attempt": 1})
    study.ask()  # a waiting trial taken into running
    study.enqueue_trial({"x": 0.25})  # and one left waiting
    study.add_trial(
        create_trial(
            params={"x": 0.1, "c": None},
            distributions={"x": FloatDistribution(-1.0, 1.0), "c": choices},
            value=0.3,
            intermediate_values={0: 1.0, 4: 0.5},
            user_attrs={"why": "complete"},
        )
    )
    multi = optuna.create_study(
        study_name="multi", storage=storage, directions=["minimize", "maximize"]
    )
    multi.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_int("b", 0, 3)), n_trials=5)
    gone = optuna.create_study(study_name="gone", storage=storage)
    gone.optimize(lambda t: t.suggest_float("z", 0, 1), n_trials=2)
    optuna.delete_study(study_name="gone", storage=storage)
    with pytest.raises(optuna.exceptions.DuplicatedStudyError):
        optuna.create_study(study_name="busy", storage=storage)
    optuna.create_study(study_name="after-delete", storage=storage)


def test_hpsweep_store_replays_like_optuna(tmp_path: Path) -> None:
    path = tmp_path / "hpsweep.journal"
    store = open_store(str(path))
    try:
        busy_study(store.storage)
    finally:
        store.close()
    assert_same(path)
    names = [s.name for s in read_studies(str(path))[1]]
    assert names == ["busy", "multi", "after-delete"]


def test_journal_with_spaced_records_replays_like_optuna(tmp_path: Path) -> None:
    path = tmp_path / "optuna.log"
    busy_study(JournalStorage(JournalFileBackend(str(path))))
    # Older Optuna versions wrote records with spaces after ':' and ','.
    logs = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(log) + "\n" for log in logs))
    assert '{"op_code": 7,' in path.read_text()
    assert_same(path)
    lean = read_study(str(path), "busy", intermediate=False)
    assert all(not r.intermediate for r in lean.records if r.number < 12)


def test_updates_other_workers_could_not_make_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "hpsweep.journal"
    store = open_store(str(path))
    try:
        study = optuna.create_study(study_name="s", storage=store.storage)
        first = study.ask({"x": FloatDistribution(0, 1), "c": CategoricalDistribution([1, 2])})
        study.tell(first, 1.0)
        second = study.ask()
    finally:
        store.close()
    other = {"op_code": 5, "worker_id": "someone-else", "trial_id": second._trial_id}
    lines = [
        # a categorical with other choices than the study's earliest trial: incompatible
        {
            **other,
            "param_name": "c",
            "param_value_internal": 0,
            "distribution": '{"name": "CategoricalDistribution", "attributes": '
            '{"choices": [3, 4]}}',
        },
        # another range for a float is compatible
        {
            **other,
            "param_name": "x",
            "param_value_internal": 5.0,
            "distribution": '{"name": "FloatDistribution", "attributes": '
            '{"low": 0, "high": 10, "log": false, "step": null}}',
        },
        # a finished trial keeps its values
        {"op_code": 8, "worker_id": "w", "trial_id": first._trial_id, "user_attr": {"late": 1}},
        {"op_code": 7, "worker_id": "w", "trial_id": 99, "step": 0, "intermediate_value": 1.0},
        {"op_code": 10, "worker_id": "w", "study_id": 0},
    ]
    with path.open("a") as out:
        out.writelines(json.dumps(line) + "\n" for line in lines)
    assert_same(path)
    trials = read_study(str(path), "s").records
    assert trials[1].params == {"x": 5.0} and "late" not in trials[0].user_attrs


def test_quickstart_run_replays_like_optuna(tmp_path: Path) -> None:
    from hpsweep._config import load_config
    from hpsweep._progress import PlainProgress
    from hpsweep._session import execute

    root = Path(__file__).resolve().parents[2]
    config = load_config(
        root / "examples" / "quickstart.yaml",
        flags={"storage": str(tmp_path / "hpsweep.journal"), "n_trials": 12},
    )
    execute(config, progress=PlainProgress(quiet=True))
    assert_same(tmp_path / "hpsweep.journal")


def test_leaving_out_intermediate_values_changes_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "hpsweep.journal"
    store = open_store(str(path))
    try:
        busy_study(store.storage)
    finally:
        store.close()
    full = comparable(read_study(str(path), "busy"))
    lean = comparable(read_study(str(path), "busy", intermediate=False))
    assert any(t[-1] for t in full["trials"])
    assert [t[:-1] for t in lean["trials"]] == [t[:-1] for t in full["trials"]]
    assert all(not t[-1] for t in lean["trials"] if t[0] < 12)  # the asked ones; not add_trial


def test_a_torn_last_record_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "hpsweep.journal"
    store = open_store(str(path))
    try:
        optuna.create_study(study_name="s", storage=store.storage).optimize(
            lambda t: t.suggest_float("x", 0, 1), n_trials=2
        )
    finally:
        store.close()
    with path.open("a") as out:
        out.write('{"op_code": 4, "worker_id": "w", "study_id": 0, "datetime_')
    assert len(read_study(str(path), None).records) == 2


def test_damaged_and_unknown_records_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "hpsweep.journal"
    path.write_text(
        '{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [1]}\n{oops\n'
    )
    with pytest.raises(StorageError, match="record 2 is damaged"):
        read_study(str(path), None)
    path.write_text(
        '{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [1]}\n'
        '{"op_code": 42, "worker_id": "w"}\n'
    )
    with pytest.raises(StorageError, match="unknown journal operation 42"):
        read_study(str(path), None)


def test_picking_the_study(tmp_path: Path) -> None:
    path = tmp_path / "hpsweep.journal"
    with pytest.raises(StoreNotFound, match="no store at"):
        read_study(str(path), None)
    path.write_text("")
    with pytest.raises(StoreNotFound, match="holds no study yet"):
        read_study(str(path), None)
    store = open_store(str(path))
    try:
        for name in ("a", "b"):
            optuna.create_study(study_name=name, storage=store.storage)
    finally:
        store.close()
    with pytest.raises(ConfigError, match=r"several studies \(a, b\); pick one with --study"):
        read_study(str(path), None)
    with pytest.raises(ConfigError, match=r"no study 'c' .* \(studies: a, b\)"):
        read_study(str(path), "c")
    assert read_study(f"journal://{path}", "b").name == "b"


def test_other_stores_are_read_through_optuna(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    store = open_store(url)
    try:
        for name in ("first", "second"):
            study = optuna.create_study(study_name=name, storage=store.storage)
            study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    finally:
        store.close()
    assert journal_path(url) is None
    data = read_study(url, "second")
    assert data.storage == url and [r.state for r in data.records] == ["complete"] * 2
    assert [s.name for s in read_studies(url)[1]] == ["first", "second"]


def test_which_urls_are_journal_files_as_open_store_decides(tmp_path: Path) -> None:
    from hpsweep.engine._storage import DEFAULT_STORE

    sqlite_file = tmp_path / "plain.data"  # SQLite, recognised by its header
    with contextlib.closing(sqlite3.connect(sqlite_file)) as connection:
        connection.execute("CREATE TABLE t (x)")
    journal_file = tmp_path / "studies.log"
    open_store(str(journal_file)).close()
    cases = {
        None: DEFAULT_STORE,
        f"journal://{tmp_path}/a.journal": f"{tmp_path}/a.journal",
        str(journal_file): str(journal_file),
        str(sqlite_file): None,
        "postgresql://u:p@h/db": None,
        f"sqlite:///{tmp_path}/x.db": None,
        str(tmp_path / "new.sqlite3"): None,
    }
    for url, expected in cases.items():
        assert journal_path(url) == expected, url
    for url in (f"journal://{tmp_path}/a.journal", str(journal_file), str(sqlite_file)):
        store = open_store(url)
        try:
            assert (store.kind == "journal") == (journal_path(url) is not None), url
        finally:
            store.close()
