"""``hpsweep doctor``: what it finds, what ``--repair`` fixes (after a backup), what it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import optuna

from hpsweep.engine import open_store
from hpsweep.engine._doctor import diagnose
from hpsweep.engine._liveness import OWNER_PREFIX
from hpsweep.engine._liveness import RUN_ATTR
from hpsweep.engine._liveness import SUPERSEDED_ATTR
from hpsweep.engine._liveness import Owner
from hpsweep.engine._liveness import process_start_ticks
from hpsweep.engine._liveness import recover_lost_trials
from hpsweep.engine._storage import FORMAT_ATTR

from .conftest import cli
from .conftest import run_args
from .conftest import snapshot


def trials_of(url: str) -> list[tuple[int, str, object, object]]:
    store = open_store(url, readonly=True)
    try:
        return [
            (t.number, t.state.name, t.params, t.values)
            for s in store.storage.get_all_studies()
            for t in store.storage.get_all_trials(s._study_id)
        ]
    finally:
        store.close()


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def running_trial(url: str, *, owner_pid: int | None, start_ticks: int | None = None) -> int:
    """Add a RUNNING trial to the store's study; tagged with an owner whose process is
    ``owner_pid`` (None: untagged, as plain Optuna leaves it)."""
    store = open_store(url)
    try:
        summary = store.storage.get_all_studies()[0]
        study = optuna.load_study(study_name=summary.study_name, storage=store.storage)
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        if owner_pid is not None:
            me = Owner.current()
            record = {**me.record(), "pid": owner_pid, "start_ticks": start_ticks}
            store.storage.set_study_system_attr(study._study_id, OWNER_PREFIX + "ghost", record)
            store.storage.set_trial_system_attr(trial._trial_id, RUN_ATTR, {"owner": "ghost"})
        return int(trial.number)
    finally:
        store.close()


def test_a_healthy_store(study_dir: Path) -> None:
    assert cli(*run_args(4)).code == 0
    before = snapshot(study_dir)
    result = cli("doctor")
    assert result.code == 0, result.out
    assert result.out.splitlines()[-1] == "healthy: nothing to repair"
    assert "study 'default': 4 trial(s) (complete 4)" in result.out
    assert snapshot(study_dir) == before


def test_damaged_and_torn_records_move_to_a_side_file_after_a_backup(study_dir: Path) -> None:
    assert cli(*run_args(6)).code == 0
    path = study_dir / "hpsweep.journal"
    expected = trials_of(str(path))
    lines = path.read_bytes().split(b"\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(b'{"op_code":8'))
    lines[index] = b'{"op_code":8,"worker_id":"w","trial_id":1,"us\x00\x00\x00'  # damaged
    damaged = b"\n".join(lines) + b'{"op_code":8,"worker_id":"w","tri'  # and torn
    path.write_bytes(damaged)

    result = cli("doctor")
    assert result.code == 1
    assert f"  record {index + 1} is damaged (not JSON): " in result.out
    assert "  the last record is torn (33 bytes without a newline" in result.out
    assert path.read_bytes() == damaged  # looking changes nothing

    result = cli("doctor", "--repair")
    assert result.code == 0, result.out
    backup = next(study_dir.glob("hpsweep.journal.bak-*"))
    side = next(study_dir.glob("hpsweep.journal.damaged-*"))
    assert backup.read_bytes() == damaged
    assert side.read_bytes() == lines[index] + b"\n" + b'{"op_code":8,"worker_id":"w","tri\n'
    assert f"backup: {backup.name}" in result.out
    assert "replayed by Optuna: 6 trial(s) before, 6 after" in result.out
    assert result.out.splitlines()[-1] == "the store is healthy now"
    assert path.read_bytes() == b"\n".join(lines[:index] + lines[index + 1 :])
    assert trials_of(str(path)) == expected
    assert cli(*run_args(8)).code == 0  # and it runs on


def test_a_damaged_trial_creation_is_rebuilt_so_no_trial_is_renumbered(study_dir: Path) -> None:
    assert cli(*run_args(6)).code == 0
    path = study_dir / "hpsweep.journal"
    expected = trials_of(str(path))
    lines = path.read_bytes().split(b"\n")
    creations = [i for i, line in enumerate(lines) if line.startswith(b'{"op_code":4')]
    lines[creations[2]] = b"\x00" * 120  # a power cut's zeros where trial 2 was created
    path.write_bytes(b"\n".join(lines))
    result = cli("doctor")
    assert result.code == 1
    assert "damaged records hid the creation of 1 trial(s)" in result.out
    result = cli("doctor", "--repair")
    assert result.code == 0, result.out
    assert "recreated 1 trial(s) whose creation record was damaged" in result.out
    assert trials_of(str(path)) == expected  # trial 2 too: its later records hold it all


def test_a_damaged_creation_it_cannot_place_is_left_alone(study_dir: Path) -> None:
    assert cli(*run_args(3, None, "--study", "a")).code == 0
    assert cli(*run_args(3, None, "--study", "b")).code == 0
    assert cli(*run_args(5, None, "--study", "a")).code == 0
    path = study_dir / "hpsweep.journal"
    lines = path.read_bytes().split(b"\n")
    last_creation = max(i for i, line in enumerate(lines) if line.startswith(b'{"op_code":4'))
    lines[last_creation] = b"garbage"
    path.write_bytes(b"\n".join(lines))
    before = snapshot(study_dir)
    result = cli("doctor", "--repair")
    assert result.code == 1
    assert "the store held 2 studies then, so doctor cannot tell which one" in result.out
    assert result.out.splitlines()[-1].startswith("not repairing:")
    assert snapshot(study_dir) == before


def test_trials_of_a_dead_controller_are_closed_as_lost_and_run_again(study_dir: Path) -> None:
    assert cli(*run_args(3)).code == 0
    url = "hpsweep.journal"
    lost = running_trial(url, owner_pid=dead_pid())
    foreign = running_trial(url, owner_pid=None)
    result = cli("doctor")
    assert result.code == 1
    assert f"    trial {lost}: running; its controller (pid " in result.out
    assert f"    trial {foreign}: running; not run by hpsweep (plain Optuna): left alone" in (
        result.out
    )
    result = cli("doctor", "--repair")
    assert result.code == 0, result.out
    assert f"study 'default': closed trial(s) {lost} as lost" in result.out
    assert next((study_dir).glob("hpsweep.journal.bak-*"))
    store = open_store(url, readonly=True)
    trials = store.storage.get_all_trials(store.storage.get_all_studies()[0]._study_id)
    store.close()
    closed = trials[lost]
    assert closed.state.name == "FAIL" and closed.user_attrs["why"] == "lost"
    assert closed.system_attrs[SUPERSEDED_ATTR] is True
    assert trials[foreign].state.name == "RUNNING"  # plain Optuna's: left alone
    again = trials[-1]
    assert again.state.name == "WAITING"
    assert again.system_attrs["fixed_params"] == closed.params
    assert again.user_attrs == {"retry_of": lost, "attempt": 0}
    assert cli("doctor").code == 0


def test_recover_lost_trials_leaves_live_and_own_trials_alone(study_dir: Path) -> None:
    assert cli(*run_args(2)).code == 0
    url = "hpsweep.journal"
    alive = running_trial(url, owner_pid=os.getpid(), start_ticks=process_start_ticks(os.getpid()))
    store = open_store(url)
    study = optuna.load_study(study_name="default", storage=store.storage)
    assert recover_lost_trials(store, study, me=Owner.current(), now=time.time(), expiry=60) == []
    store.close()
    assert trials_of(url)[alive][1] == "RUNNING"
    assert cli("doctor").code == 0  # running with a live controller is healthy


def test_a_journal_in_use_by_a_live_controller_is_not_rewritten(study_dir: Path) -> None:
    assert cli(*run_args(3)).code == 0
    running_trial("hpsweep.journal", owner_pid=os.getpid(), start_ticks=None)
    path = study_dir / "hpsweep.journal"
    path.write_bytes(path.read_bytes() + b'{"op_code":6,"wor')
    before = snapshot(study_dir)
    result = cli("doctor", "--repair")
    assert result.code == 1
    assert result.err.startswith("hpsweep: error: hpsweep.journal is in use by a running ")
    assert snapshot(study_dir) == before


def test_records_of_a_newer_optuna_are_reported_not_removed(study_dir: Path) -> None:
    assert cli(*run_args(2)).code == 0
    path = study_dir / "hpsweep.journal"
    path.write_bytes(path.read_bytes() + b'{"op_code":42,"worker_id":"w"}\n')
    before = snapshot(study_dir)
    result = cli("doctor", "--repair")
    assert result.code == 1
    assert "is an operation this Optuna does not know (op_code 42)" in result.out
    assert snapshot(study_dir) == before


def test_a_study_from_a_newer_hpsweep_is_not_repaired(study_dir: Path) -> None:
    assert cli(*run_args(2)).code == 0
    store = open_store("hpsweep.journal")
    store.storage.set_study_system_attr(0, FORMAT_ATTR, 99)
    store.close()
    running_trial("hpsweep.journal", owner_pid=dead_pid())
    before = snapshot(study_dir)
    result = cli("doctor", "--repair")
    assert result.code == 1
    assert "was written by a newer hpsweep (store format 99" in result.out
    assert snapshot(study_dir) == before


def test_sqlite_integrity(study_dir: Path) -> None:
    assert cli(*run_args(3, "sqlite:///s.db")).code == 0
    result = cli("doctor", "--storage", "sqlite:///s.db")
    assert result.code == 0, result.out
    assert "  SQLite integrity check: ok" in result.out
    path = study_dir / "s.db"
    data = bytearray(path.read_bytes())
    data[len(data) // 2 :] = b"\x5a" * (len(data) - len(data) // 2)
    path.write_bytes(bytes(data))
    before = snapshot(study_dir)
    result = cli("doctor", "--storage", "s.db", "--repair")
    assert result.code == 1
    assert "problems:\n  SQLite integrity check: " in result.out
    assert snapshot(study_dir) == before


def test_sqlite_dead_controller_trials_are_repaired_after_a_backup(study_dir: Path) -> None:
    assert cli(*run_args(2, "sqlite:///s.db")).code == 0
    lost = running_trial("sqlite:///s.db", owner_pid=dead_pid())
    result = cli("doctor", "--storage", "sqlite:///s.db", "--repair")
    assert result.code == 0, result.out
    assert f"closed trial(s) {lost} as lost" in result.out
    assert next(study_dir.glob("s.db.bak-*")).stat().st_size > 0


def test_doctor_errors_are_one_line(study_dir: Path) -> None:
    result = cli("doctor", "--storage", "missing.journal")
    assert (result.code, result.err) == (
        2,
        "hpsweep: error: no store at missing.journal; check --storage\n",
    )
    (study_dir / "d").mkdir()
    result = cli("doctor", "--storage", "d")
    assert result.code == 1
    assert result.err == (
        "hpsweep: error: the store d is a directory; give a file in it, e.g. --storage "
        "d/hpsweep.journal\n"
    )


def test_diagnosis_as_data(study_dir: Path) -> None:
    assert cli(*run_args(2)).code == 0
    diagnosis = diagnose(None)
    assert diagnosis.kind == "journal" and diagnosis.healthy
    assert [s.states for s in diagnosis.studies] == [{"complete": 2}]
    assert json.dumps([s.name for s in diagnosis.studies]) == '["default"]'
