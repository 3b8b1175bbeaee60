"""Damaged and hostile stores: truncated journals, partly written SQLite files, stores from a newer
hpsweep or from plain Optuna, read-only stores and a full disk. Each gives either the trials
that are intact or one clear line, and never changes the store it cannot use."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from hpsweep._errors import StorageError
from hpsweep._errors import StoreNotFound
from hpsweep.engine import open_store
from hpsweep.engine._journal import DurableJournalFile
from hpsweep.engine._storage import FORMAT_ATTR
from hpsweep.engine._storage import FORMAT_VERSION
from hpsweep.engine._storage import check_format
from hpsweep.engine._storage import mark_format
from hpsweep.results import read_study

from .conftest import OBJECTIVE
from .conftest import OBJECTIVE_MODULE
from .conftest import Result
from .conftest import can_mount
from .conftest import cli
from .conftest import cli_process
from .conftest import mounted
from .conftest import run_args
from .conftest import snapshot


def finished(path: Path) -> dict[int, tuple[str, Any]]:
    """Trial number -> (state, values) of the finished trials Optuna's own reader finds in a
    journal (its complete lines only)."""
    data = path.read_bytes()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "reference.journal"
        copy.write_bytes(data[: data.rfind(b"\n") + 1])
        storage = JournalStorage(JournalFileBackend(str(copy)))
        return {
            t.number: (t.state.name, t.values)
            for summary in storage.get_all_studies()
            for t in storage.get_all_trials(summary._study_id)
            if t.state.is_finished()
        }


def one_error_line(result: Result) -> str:
    assert result.err_lines, result
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("hpsweep: error: "), line
    assert "internal error" not in line and "Traceback" not in result.err
    return line


# -- a journal cut at any byte -------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_journal(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A journal that hpsweep's controller wrote: 12 trials, owner records, heartbeats."""
    directory = tmp_path_factory.mktemp("full")
    (directory / f"{OBJECTIVE_MODULE}.py").write_text(OBJECTIVE)
    result = cli_process(*run_args(12, "s.journal"), cwd=directory)
    assert result.code == 0, result.err
    return (directory / "s.journal").read_bytes()


def cut_points(data: bytes, count: int) -> list[int]:
    rng = random.Random(20261124)
    newlines = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    points = set(rng.sample(range(1, len(data)), count))
    points |= set(rng.sample(newlines, 5)) | {n - 1 for n in rng.sample(newlines, 5)}
    return sorted(points)


def test_a_journal_cut_anywhere_keeps_every_intact_trial(
    full_journal: bytes, tmp_path: Path
) -> None:
    for cut in cut_points(full_journal, 60):
        directory = tmp_path / f"cut-{cut}"
        directory.mkdir()
        path = directory / "s.journal"
        prefix = full_journal[:cut]
        path.write_bytes(prefix)
        whole = prefix[: prefix.rfind(b"\n") + 1]
        expected = finished(path)

        # Reading changes nothing and finds every finished trial.
        if whole:
            data = read_study(str(path), None)
            got = {r.number: r for r in data.records if r.state in ("complete", "pruned", "fail")}
            assert set(got) == set(expected), cut
            for number, (_, values) in expected.items():
                assert got[number].values == (tuple(values) if values else None), cut
        else:
            with pytest.raises(StoreNotFound):
                read_study(str(path), None)
        assert path.read_bytes() == prefix, cut
        assert sorted(p.name for p in directory.iterdir()) == ["s.journal"]

        # Opening it to write sets the torn record aside and touches nothing else.
        store = open_store(str(path))
        trials = {
            t.number: (t.state.name, t.values)
            for s in store.storage.get_all_studies()
            for t in store.storage.get_all_trials(s._study_id)
            if t.state.is_finished()
        }
        store.close()
        assert trials == expected, cut
        assert path.read_bytes() == whole, cut
        side = list(directory.glob("s.journal.torn-*"))
        if whole == prefix:
            assert side == [], cut
        else:
            assert len(side) == 1 and side[0].read_bytes() == prefix[len(whole) :], cut


def test_a_cut_journal_resumes_to_its_total(full_journal: bytes, study_dir: Path) -> None:
    path = study_dir / "s.journal"
    lines = full_journal.split(b"\n")
    prefix = b"\n".join(lines[: len(lines) // 2]) + b"\n" + lines[len(lines) // 2][:17]
    path.write_bytes(prefix)
    before = finished(path)
    result = cli(*run_args(12, "s.journal"))
    assert result.code == 0, result.err
    after = finished(path)
    assert {n: after[n] for n in before} == before  # every intact trial as it was
    data = read_study(str(path), None)
    counted = [r for r in data.records if r.state == "complete" and r.user_attrs.get("why")]
    assert len(counted) >= 12 - sum(1 for r in data.records if r.state == "running")


def test_a_record_that_is_json_but_not_an_operation_is_one_line(study_dir: Path) -> None:
    assert cli(*run_args(2, "s.journal")).code == 0
    path = study_dir / "s.journal"
    lines = path.read_bytes().split(b"\n")
    lines.insert(3, b'{"op_code":5,"worker_id":"w"}')  # no trial_id: Optuna's replay raises
    path.write_bytes(b"\n".join(lines))
    before = path.read_bytes()
    line = one_error_line(cli(*run_args(3, "s.journal")))
    assert line == (
        "hpsweep: error: s.journal: record 4 cannot be replayed (KeyError: 'trial_id'); run "
        "`hpsweep doctor --storage s.journal` to inspect and repair the store"
    )
    assert path.read_bytes() == before


# -- a partly written SQLite file ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    directory = tmp_path_factory.mktemp("sqlite")
    (directory / f"{OBJECTIVE_MODULE}.py").write_text(OBJECTIVE)
    result = cli_process(*run_args(6, "sqlite:///s.db"), cwd=directory)
    assert result.code == 0, result.err
    return (directory / "s.db").read_bytes()


@pytest.mark.parametrize("fraction", [0.001, 0.04, 0.1, 0.3, 0.5, 0.75, 0.95])
def test_a_partly_written_sqlite_file_is_one_line_and_untouched(
    sqlite_store: bytes, study_dir: Path, fraction: float
) -> None:
    path = study_dir / "s.db"
    path.write_bytes(sqlite_store[: int(len(sqlite_store) * fraction)])
    before = snapshot(study_dir)
    for argv in (
        ("info", "--storage", "sqlite:///s.db"),
        ("trials", "--storage", "s.db"),
        ("best", "--storage", "sqlite:///s.db"),
        tuple(run_args(8, "sqlite:///s.db")),
    ):
        result = cli(*argv)
        line = one_error_line(result)
        assert "s.db" in line, line
        assert result.code in (1, 2)
        assert snapshot(study_dir) == before, argv  # not a byte changed, no file created


def test_a_damaged_sqlite_file_says_so(sqlite_store: bytes, study_dir: Path) -> None:
    (study_dir / "s.db").write_bytes(sqlite_store[:4096])
    line = one_error_line(cli("info", "--storage", "sqlite:///s.db"))
    assert line == (
        "hpsweep: error: the SQLite store s.db is damaged (database disk image is malformed); "
        "run `hpsweep doctor --storage sqlite:///s.db` to check it, or restore it from a backup"
    )


def test_reading_an_empty_sqlite_file_creates_no_tables(study_dir: Path) -> None:
    (study_dir / "s.db").write_bytes(b"")
    result = cli("info", "--storage", "sqlite:///s.db")
    assert result.code == 2
    assert one_error_line(result) == (
        "hpsweep: error: s.db is empty: it holds no study yet; run `hpsweep run` first"
    )
    assert (study_dir / "s.db").read_bytes() == b""


# -- a store from a newer hpsweep ----------------------------------------------------------------


def _mark(url: str, value: Any) -> None:
    store = open_store(url)
    for summary in store.storage.get_all_studies():
        store.storage.set_study_system_attr(summary._study_id, FORMAT_ATTR, value)
    store.close()


@pytest.mark.parametrize("storage", ["s.journal", "sqlite:///s.db"])
def test_a_store_from_a_newer_hpsweep_reads_with_a_warning(storage: str, study_dir: Path) -> None:
    assert cli(*run_args(3, storage)).code == 0
    _mark(storage, FORMAT_VERSION + 1)
    where = storage.removeprefix("sqlite:///") if storage.endswith(".journal") else storage
    warning = (
        f"hpsweep: warning: study 'default' in {where} was written by a newer hpsweep (store "
        f"format {FORMAT_VERSION + 1}; this hpsweep knows format {FORMAT_VERSION}); showing "
        "what this version understands; upgrade hpsweep to see all of it"
    )
    for command in ("info", "trials", "best"):
        result = cli(command, "--storage", storage)
        assert result.code == 0, result.err
        assert result.err_lines == [warning], command
        assert result.out


def test_format_checks(study_dir: Path) -> None:
    assert cli(*run_args(1, "s.journal")).code == 0
    store = open_store("s.journal")
    study_id = store.storage.get_all_studies()[0]._study_id
    mark_format(store, study_id)
    assert store.storage.get_study_system_attrs(study_id)[FORMAT_ATTR] == FORMAT_VERSION
    check_format(store, study_id, "default")  # this version's own: fine
    store.storage.set_study_system_attr(study_id, FORMAT_ATTR, 7)
    mark_format(store, study_id)  # never lowers a newer marker
    with pytest.raises(StorageError, match=r"newer hpsweep \(store format 7; this hpsweep knows"):
        check_format(store, study_id, "default")
    store.close()


def test_run_refuses_a_store_from_a_newer_hpsweep(study_dir: Path) -> None:
    assert cli(*run_args(2, "s.journal")).code == 0
    _mark("s.journal", FORMAT_VERSION + 1)
    before = snapshot(study_dir)
    result = cli(*run_args(4, "s.journal"))
    assert result.code == 1
    assert one_error_line(result) == (
        f"hpsweep: error: study 'default' in s.journal was written by a newer hpsweep (store "
        f"format {FORMAT_VERSION + 1}; this hpsweep knows format {FORMAT_VERSION}); upgrade "
        "hpsweep (pip install -U hpsweep) to run it; info, trials and best still read it"
    )
    assert snapshot(study_dir) == before


# -- a store written by plain Optuna -------------------------------------------------------------


def _plain_optuna_study(storage: Any) -> None:
    study = optuna.create_study(study_name="default", storage=storage)
    study.set_user_attr("team", {"owner": "someone", "tags": ["a", "b"]})
    study._storage.set_study_system_attr(study._study_id, "their:thing", [1, 2, 3])
    for i in range(4):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        trial.set_user_attr("note", f"plain {i}")
        trial.storage.set_trial_system_attr(trial._trial_id, "their:attr", {"i": i})
        trial.report(x, 0)
        if i == 2:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif i == 3:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, (x - 0.3) ** 2)
    running = study.ask()
    running.suggest_float("x", 0, 1)  # a plain Optuna worker still at it


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_a_plain_optuna_store_works_and_its_running_trial_is_left_alone(
    kind: str, study_dir: Path
) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if kind == "journal":
        storage_url = "s.journal"
        _plain_optuna_study(JournalStorage(JournalFileBackend(str(study_dir / "s.journal"))))
    else:
        storage_url = "sqlite:///s.db"
        _plain_optuna_study(optuna.storages.RDBStorage(storage_url))
    for command in ("info", "trials", "best"):
        result = cli(command, "--storage", storage_url)
        assert result.code == 0 and result.err == "", (command, result.err)
    assert "running" in cli("trials", "--storage", storage_url).out
    result = cli(*run_args(8, storage_url))
    assert result.code == 0, result.err
    data = read_study(storage_url, None)
    states = [r.state for r in data.records]
    assert states[:5] == ["complete", "complete", "pruned", "fail", "running"]
    assert states.count("complete") == 2 + 3  # 8 in all: 5 of Optuna's (one running) + 3
    assert data.records[4].state == "running"  # still Optuna's: not closed, not re-run
    assert data.user_attrs["team"] == {"owner": "someone", "tags": ["a", "b"]}


# -- a read-only store ---------------------------------------------------------------------------


@pytest.fixture
def read_only(study_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``study_dir``'s files, seen through a directory where nothing can be written: a
    read-only bind mount when running as root (root ignores file modes), else chmod."""
    if os.geteuid() != 0:
        for path in study_dir.iterdir():
            path.chmod(0o444)
        study_dir.chmod(0o555)
        try:
            yield study_dir
        finally:
            study_dir.chmod(0o755)
        return
    if not can_mount():
        pytest.skip("needs a read-only bind mount (root)")
    view = tmp_path_factory.mktemp("readonly-view")
    with mounted("--bind", str(study_dir), str(view)) as bound:
        if not bound:
            pytest.skip("mount is not permitted here")
        with mounted("-o", "remount,ro,bind", str(view)) as readonly:
            if not readonly:
                pytest.skip("a read-only remount is not permitted here")
            yield view


@pytest.mark.parametrize("storage", ["hpsweep.journal", "sqlite:///s.db"])
def test_a_read_only_store_reads_and_refuses_run_in_one_line(
    storage: str, study_dir: Path, request: pytest.FixtureRequest
) -> None:
    assert cli(*run_args(3, storage if storage != "hpsweep.journal" else None)).code == 0
    view: Path = request.getfixturevalue("read_only")
    os.chdir(view)
    before = snapshot(view)
    for command in ("info", "trials", "best", "studies"):
        result = cli(command, "--storage", storage)
        assert result.code == 0, (command, result.err)
    assert cli("doctor", "--storage", storage).code == 0
    result = cli(*run_args(5, storage))
    assert result.code == 1
    line = one_error_line(result)
    name = storage.removeprefix("sqlite:///")
    assert line.startswith("hpsweep: error: cannot write to the ") or "lock file" in line, line
    assert name in line and "read" in line, line
    assert snapshot(view) == before


# -- a full disk ---------------------------------------------------------------------------------


FULL_DISK = """
import errno, os, sys
real_write, budget = os.write, [int(sys.argv[1])]

def full_disk_write(fd, data):
    if not os.readlink(f"/proc/self/fd/{fd}").endswith("s.journal"):
        return real_write(fd, data)
    if budget[0] <= 0:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    part = bytes(data[: max(1, min(len(data), budget[0]) // 2)])  # short writes first
    budget[0] -= len(part)
    return real_write(fd, part)

os.write = full_disk_write
from hpsweep.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_full_disk_stops_the_study_in_one_line_and_keeps_every_finished_trial(
    study_dir: Path,
) -> None:
    path = study_dir / "s.journal"
    assert cli(*run_args(3, "s.journal")).code == 0
    (study_dir / "full_disk.py").write_text(FULL_DISK)
    # A controller whose writes to the store fail after 6000 more bytes (ENOSPC).
    failing = subprocess.run(
        [sys.executable, "full_disk.py", "6000", *run_args(200, "s.journal")],
        cwd=study_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = Result(failing.returncode, failing.stdout, failing.stderr)
    assert result.code == 1
    assert one_error_line(result) == (
        "hpsweep: error: cannot write to the store s.journal: No space left on device; free "
        "some space or fix permissions, then run the same command again (finished trials are "
        "kept)"
    )
    data = path.read_bytes()
    assert data.endswith(b"\n")  # no torn record
    for line in data.split(b"\n")[:-1]:
        json.loads(line)
    kept = finished(path)
    assert len(kept) >= 3
    # Space again: the same command resumes and reaches the total; nothing finished changed.
    assert cli(*run_args(20, "s.journal")).code == 0
    after = finished(path)
    assert {n: after[n] for n in kept} == kept
    counted = read_study(str(path), None).records
    assert not [r for r in counted if r.state == "running"]  # the dead run's: recovered
    lost = [r for r in counted if r.user_attrs.get("why") == "lost"]
    assert sum(1 for r in counted if r.state == "complete") == 20  # lost ones do not count
    assert len(counted) == 20 + len(lost)


TRIAL = """
import os, sys, time
open(os.path.join(sys.argv[1], f"pid-{os.getpid()}"), "w").close()
time.sleep(float(sys.argv[2]))
print("hpsweep: " + '{"result": 0.5}')
"""


@pytest.mark.slow
@pytest.mark.skipif(not can_mount(), reason="needs root to mount a small tmpfs")
def test_a_really_full_disk_stops_running_trials_too(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    pids = tmp_path / "pids"
    pids.mkdir()
    (tmp_path / "trial.py").write_text(TRIAL)
    with mounted("-t", "tmpfs", "-o", "size=48k", "tmpfs", str(disk)) as ok:
        if not ok:
            pytest.skip("mount is not permitted here")
        argv = [
            *("run", "-n", "400", "-j", "3", "-p", "x=float(0,1)", "--storage"),
            str(disk / "s.journal"),
            *("--run-dir", str(tmp_path / "runs"), "--grace", "1", "--"),
            *(sys.executable, str(tmp_path / "trial.py"), str(pids), "{x}"),
        ]
        started = time.monotonic()
        result = cli_process(*argv, cwd=tmp_path, timeout=300)
        assert time.monotonic() - started < 240
        assert result.code == 1, result.err
        last = result.err_lines[-1]
        assert last.startswith("hpsweep: error: cannot write to the store"), result.err[-2000:]
        assert "No space left on device" in last
        data = (disk / "s.journal").read_bytes()
        assert data.endswith(b"\n")
        kept = finished(disk / "s.journal")
        assert kept and all(state in ("COMPLETE", "FAIL") for state, _ in kept.values())
        for marker in pids.iterdir():  # every trial process is gone
            pid = int(marker.name.removeprefix("pid-"))
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        shutil.copy(disk / "s.journal", tmp_path / "copy.journal")
    assert read_study(str(tmp_path / "copy.journal"), None).records


# -- a directory where the store should be --------------------------------------------------------


@pytest.mark.parametrize("storage", ["adir", "journal:///ABS/adir", "sqlite:///adir"])
def test_a_directory_as_the_store_is_one_line(storage: str, study_dir: Path) -> None:
    (study_dir / "adir").mkdir()
    storage = storage.replace("/ABS", str(study_dir))
    for argv in (("info", "--storage", storage), tuple(run_args(2, storage))):
        line = one_error_line(cli(*argv))
        assert "is a directory" in line.lower(), line
    assert list((study_dir / "adir").iterdir()) == []


def test_the_journal_backend_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a directory"):
        DurableJournalFile(str(tmp_path), readonly=True)


def test_sqlite_integrity_is_checked_without_writing(sqlite_store: bytes, tmp_path: Path) -> None:
    from hpsweep.engine._doctor import sqlite_integrity

    path = tmp_path / "s.db"
    path.write_bytes(sqlite_store)
    assert sqlite_integrity(str(path)) == "ok"
    damaged = bytearray(sqlite_store)
    damaged[len(damaged) // 2 : len(damaged) // 2 + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(damaged))
    assert sqlite_integrity(str(path)) != "ok"
    assert path.read_bytes() == bytes(damaged)
    with sqlite3.connect(":memory:") as connection:  # the stdlib module is there
        assert connection.execute("select 1").fetchone() == (1,)


# -- a power cut ---------------------------------------------------------------------------------

RECORD_FSYNCS = """
import os, sys
real_fsync = os.fsync

def logged_fsync(fd):
    real_fsync(fd)
    if os.readlink(f"/proc/self/fd/{fd}").endswith("s.journal"):
        with open("fsyncs.log", "a") as log:
            log.write(f"{os.fstat(fd).st_size}\\n")

os.fsync = logged_fsync
from hpsweep.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_power_cut_loses_no_finished_trial(study_dir: Path) -> None:
    """What a power cut can leave: the file as of some fsync (hpsweep syncs when a trial
    finishes), then unsynced bytes that may be missing, zeros or cut anywhere."""
    (study_dir / "record_fsyncs.py").write_text(RECORD_FSYNCS)
    recorded = subprocess.run(
        [sys.executable, "record_fsyncs.py", *run_args(10, "s.journal")],
        cwd=study_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert recorded.returncode == 0, recorded.stderr
    data = (study_dir / "s.journal").read_bytes()
    synced = sorted({int(n) for n in (study_dir / "fsyncs.log").read_text().split()})
    assert len(synced) >= 10  # at least one commit point per finished trial
    rng = random.Random(7)
    for size in rng.sample(synced, 6):
        directory = study_dir / f"cut-{size}"
        directory.mkdir()
        path = directory / "s.journal"
        path.write_bytes(data[:size])
        expected = finished(path)
        unsynced = data[size : size + rng.randrange(1, 600)]
        tail = rng.choice([b"", unsynced, b"\x00" * len(unsynced), unsynced[:-5] + b"\x00\n"])
        path.write_bytes(data[:size] + tail)
        doctor = cli("doctor", "--storage", str(path), "--repair")
        assert doctor.code == 0, doctor.out + doctor.err
        got = finished(path)
        assert {n: got[n] for n in expected} == expected, size
        assert cli(*run_args(12, str(path))).code == 0
        assert {n: finished(path)[n] for n in expected} == expected
