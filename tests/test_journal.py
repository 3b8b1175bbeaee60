"""The embedded default store: Optuna's journal format, readable by Optuna itself."""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from hpsweep._errors import ConfigError
from hpsweep._errors import StorageError
from hpsweep.engine import open_store
from hpsweep.engine._journal import DurableJournalFile


def make_study(path: Path, n: int = 5) -> None:
    store = open_store(str(path))
    study = optuna.create_study(study_name="s", storage=store.storage)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, trial.suggest_float("x", 0, 1))
    store.close()


def test_optuna_reads_what_hpsweep_writes(tmp_path: Path) -> None:
    make_study(tmp_path / "store.journal")
    plain = JournalStorage(JournalFileBackend(str(tmp_path / "store.journal")))
    study = optuna.load_study(study_name="s", storage=plain)
    assert len(study.trials) == 5 and all(t.state.name == "COMPLETE" for t in study.trials)


def test_hpsweep_reads_what_optuna_writes(tmp_path: Path) -> None:
    plain = JournalStorage(JournalFileBackend(str(tmp_path / "store.journal")))
    study = optuna.create_study(study_name="s", storage=plain)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    store = open_store(str(tmp_path / "store.journal"), readonly=True)
    assert len(optuna.load_study(study_name="s", storage=store.storage).trials) == 3
    store.close()


def test_a_torn_last_record_is_set_aside_and_every_whole_record_kept(tmp_path: Path) -> None:
    path = tmp_path / "store.journal"
    make_study(path, 4)
    intact = path.read_bytes()
    with open(path, "ab") as handle:
        handle.write(b'{"op_code":4,"worker_id":"x","study_id":0,"datetime_st')
    make_study_more = open_store(str(path))  # reopening repairs the tail
    study = optuna.load_study(study_name="s", storage=make_study_more.storage)
    assert len(study.trials) == 4
    trial = study.ask()
    study.tell(trial, 1.0)
    make_study_more.close()
    assert path.read_bytes().startswith(intact)
    side_files = list(tmp_path.glob("store.journal.torn-*"))
    assert len(side_files) == 1 and side_files[0].read_bytes().startswith(b'{"op_code":4')
    assert (
        len(optuna.load_study(study_name="s", storage=open_store(str(path)).storage).trials) == 5
    )


def test_a_damaged_record_in_the_middle_is_reported_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "store.journal"
    make_study(path, 2)
    lines = path.read_bytes().split(b"\n")
    lines[2] = b"{garbage"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(StorageError, match="record 3 is damaged"):
        open_store(str(path), readonly=True)


def test_read_only_open_never_creates_or_writes(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no store at"):
        open_store(str(tmp_path / "missing.journal"), readonly=True)
    assert not (tmp_path / "missing.journal").exists()
    make_study(tmp_path / "store.journal")
    before = (tmp_path / "store.journal").read_bytes()
    backend = DurableJournalFile(str(tmp_path / "store.journal"), readonly=True)
    with pytest.raises(StorageError, match="read-only"):
        backend.append_logs([{"op_code": 0}])
    backend.close()
    assert (tmp_path / "store.journal").read_bytes() == before


def test_files_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        make_study(tmp_path / "store.journal", 1)
    finally:
        os.umask(previous)
    assert (tmp_path / "store.journal").stat().st_mode & 0o777 == 0o640


def test_storage_urls(tmp_path: Path) -> None:
    sqlite = open_store(f"sqlite:///{tmp_path}/s.db")
    assert sqlite.kind == "rdb"
    sqlite.close()
    assert open_store(str(tmp_path / "s.db")).kind == "rdb"  # recognised by its header
    assert open_store(f"journal://{tmp_path}/j.journal").kind == "journal"
    with pytest.raises(ConfigError, match=r"unsupported storage URL 'ftp://u:\*\*\*@h/x'"):
        open_store("ftp://u:secret@h/x")
    with pytest.raises(ConfigError, match="directory .* is missing"):
        open_store(str(tmp_path / "nope" / "s.journal"))
