"""The PostgreSQL store: URLs, Optuna's schema, the advisory-lock mutex, retries."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import optuna
import pytest
import sqlalchemy.exc

from hpsweep._errors import StorageError
from hpsweep._errors import StoreNotFound
from hpsweep.engine import open_store
from hpsweep.engine._postgres import Retry
from hpsweep.engine._postgres import driver_url
from hpsweep.engine._postgres import is_connection_error
from hpsweep.engine._postgres import lock_key
from support import clean_env
from support import hpsweep
from support import stop

from ._servers import PG_PASSWORD
from ._servers import free_port


def test_urls_map_to_psycopg_3() -> None:
    assert driver_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert driver_url("postgres://u@h:5433/db") == "postgresql+psycopg://u@h:5433/db"
    assert driver_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"


def test_lock_keys_are_stable_signed_64_bit_integers() -> None:
    assert lock_key("s") == lock_key("s") != lock_key("t")
    assert -(2**63) <= lock_key("s") < 2**63
    assert lock_key("s") == -1929780724328848821  # the same on every host, forever


def _outage(times: int) -> object:
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise optuna.exceptions.StorageInternalError("commit failed") from (
                sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed"))
            )
        return "ok"

    return flaky


def test_retry_rides_out_an_outage_then_gives_up_in_one_line() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    retry = Retry(
        retry_for=5.0, display_url="postgresql://u:***@h/db", sleep=sleep, clock=lambda: now[0]
    )
    assert retry.call("get", _outage(3)) == "ok"  # type: ignore[arg-type]
    assert retry.retries == 3
    with pytest.raises(StorageError) as raised:
        retry.call("get", _outage(1000))  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)
    assert "postgresql://u:***@h/db" in str(raised.value) and "server closed" in str(raised.value)
    assert 5.0 <= now[0] < 20.0  # bounded: it stopped once retry_for had passed


def test_only_connection_errors_are_retried() -> None:
    retry = Retry(sleep=lambda s: None)

    def broken() -> None:
        raise optuna.exceptions.StorageInternalError("too long") from (
            sqlalchemy.exc.DataError("INSERT", {}, Exception("value too long"))
        )

    with pytest.raises(optuna.exceptions.StorageInternalError):
        retry.call("set", broken)
    assert retry.retries == 0
    assert not is_connection_error(ValueError("x"))


def test_run_writes_optunas_schema_that_optuna_reads(pg_url: str, workdir: Path) -> None:
    (workdir / "objectives.py").write_text("def f(p):\n    return p['x'] ** 2\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hpsweep",
            "run",
            "-q",
            "-n",
            "6",
            "--study",
            "s",
            "--storage",
            pg_url,
            "-p",
            "x=float(-1,1)",
            "--objective",
            "objectives:f",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert PG_PASSWORD not in done.stderr  # the summary names the store masked
    psycopg_url = pg_url.replace("postgresql://", "postgresql+psycopg://")
    listed = subprocess.run(
        [
            str(Path(sys.executable).parent / "optuna"),
            "trials",
            "--storage",
            psycopg_url,
            "--study-name",
            "s",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count('"COMPLETE"') == 6
    for command in ("info", "trials", "best", "studies"):  # all of them read-only sessions
        shown = hpsweep(workdir, command, "--storage", pg_url)
        assert shown.stdout.strip() and PG_PASSWORD not in shown.stdout + shown.stderr, command
    store = open_store(pg_url, readonly=True)
    try:
        study = optuna.load_study(study_name="s", storage=store.storage)
        assert study.user_attrs["hpsweep.config"]["study"] == "s"
        assert all(t.user_attrs["why"] == "complete" for t in study.trials)
    finally:
        store.close()


def test_the_mutex_is_an_advisory_lock_per_study(pg_url: str) -> None:
    stores = [open_store(pg_url, study="a") for _ in range(2)] + [open_store(pg_url, study="b")]
    try:
        # the schema must exist for the fence query: opening created it
        held = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with stores[0].mutex():
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert held.wait(10)
            started = time.monotonic()
            with stores[2].mutex():  # another study: its own key, not blocked
                pass
            assert time.monotonic() - started < 1.0
            waited: list[float] = []

            def contend() -> None:
                began = time.monotonic()
                with stores[1].mutex():
                    waited.append(time.monotonic() - began)

            contender = threading.Thread(target=contend)
            contender.start()
            time.sleep(0.5)
            assert not waited, "the same study's mutex was taken twice at once"
            release.set()
            contender.join(10)
            assert waited and waited[0] >= 0.4
        finally:
            release.set()
            holder.join(10)
    finally:
        for store in stores:
            store.close()


def _drop_the_connection_of(store: Any, pg_url: str) -> None:
    """Terminate the server session that holds ``store``'s lock, as a restart would: the server
    releases the lock, and the next call of the section fails and is retried."""
    import psycopg
    from sqlalchemy import text

    held = store.lock.__self__._local.connection
    pid = held.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.parametrize("fenced", [True, False])
def test_a_lost_lock_ends_a_fenced_section_when_another_controller_got_in(
    pg_url: str, fenced: bool
) -> None:
    from hpsweep.engine._storage import SectionInterrupted

    mine, other = open_store(pg_url, study="s"), open_store(pg_url, study="s")
    try:
        study = optuna.create_study(study_name="s", storage=mine.storage)
        study_id = study._study_id
        ended: type[BaseException] | None = None
        try:
            with mine.mutex(fenced=fenced):
                assert mine.storage.get_all_trials(study_id) == []  # the count
                _drop_the_connection_of(mine, pg_url)
                with other.mutex(fenced=True):  # the server released the lock: it gets in
                    other.storage.create_new_trial(study_id)
                mine.storage.get_all_trials(study_id)  # fails, retakes the lock, sees the fence
        except SectionInterrupted:
            ended = SectionInterrupted
        assert ended is (SectionInterrupted if fenced else None)
        lock = mine.lock.__self__  # type: ignore[union-attr]
        assert lock.fence_breaks == 1
        # the lock was released on the way out: the other store takes it at once
        started = time.monotonic()
        with other.mutex():
            pass
        assert time.monotonic() - started < 1.0
    finally:
        mine.close()
        other.close()


def test_a_lost_lock_without_a_new_trial_goes_on(pg_url: str) -> None:
    mine = open_store(pg_url, study="s")
    try:
        study = optuna.create_study(study_name="s", storage=mine.storage)
        with mine.mutex(fenced=True):
            assert mine.storage.get_all_trials(study._study_id) == []
            _drop_the_connection_of(mine, pg_url)
            mine.storage.create_new_trial(study._study_id)  # retried under the lock taken anew
        assert mine.lock.__self__.fence_breaks == 0  # type: ignore[union-attr]
        assert len(mine.storage.get_all_trials(study._study_id)) == 1
    finally:
        mine.close()


def test_a_missing_database_is_one_line(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(StorageError) as raised:
        open_store(missing)
    message = str(raised.value)
    assert "\n" not in message and PG_PASSWORD not in message
    assert "no_such_db" in message and "createdb" in message


def _tables(pg_url: str, schema: str = "public") -> list[str]:
    import psycopg

    with psycopg.connect(pg_url) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
    return sorted(row[0] for row in rows)


def test_read_commands_on_an_empty_database_create_nothing(pg_url: str, workdir: Path) -> None:
    for command in ("info", "studies"):
        done = hpsweep(workdir, command, "--storage", pg_url, check=False)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"hpsweep: error: {pg_url.replace(PG_PASSWORD, '***')} holds no study yet; "
            "run `hpsweep run` first"
        ]
    assert _tables(pg_url) == []  # not even Optuna's schema


def test_a_read_only_store_reads_and_the_server_refuses_its_writes(pg_url: str) -> None:
    from sqlalchemy import text

    writer = open_store(pg_url, study="s")
    try:
        optuna.create_study(study_name="s", storage=writer.storage).add_trial(
            optuna.trial.create_trial(
                params={"x": 0.5},
                distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
                value=0.5,
            )
        )
    finally:
        writer.close()
    tables = _tables(pg_url)
    reader = open_store(pg_url, readonly=True)
    try:
        study = optuna.load_study(study_name="s", storage=reader.storage)
        assert [t.value for t in study.trials] == [0.5]
        with pytest.raises(optuna.exceptions.StorageInternalError):
            study.set_user_attr("edited", True)
        with pytest.raises(optuna.exceptions.StorageInternalError):
            reader.storage.delete_study(study._study_id)
        # Even SQL that bypasses hpsweep and Optuna, in autocommit mode too: the server itself
        # makes the session read-only.
        engine = reader.storage.engine  # type: ignore[attr-defined]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only transaction"):
                connection.execute(text("CREATE TABLE intruder (x integer)"))
    finally:
        reader.close()
    assert _tables(pg_url) == tables
    check = open_store(pg_url, readonly=True)
    try:
        study = optuna.load_study(study_name="s", storage=check.storage)
        assert study.user_attrs == {} and len(study.trials) == 1
    finally:
        check.close()


def test_a_read_only_store_keeps_the_options_of_the_url_and_of_pgoptions(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA sweeps")
    in_schema = f"{pg_url}?options=-csearch_path%3Dsweeps"
    monkeypatch.delenv("PGOPTIONS", raising=False)
    open_store(in_schema).close()  # creates Optuna's tables in that schema
    assert _tables(pg_url) == [] and "studies" in _tables(pg_url, "sweeps")
    open_store(in_schema, readonly=True).close()  # finds them there: the URL's options hold
    monkeypatch.setenv("PGOPTIONS", "-c search_path=sweeps")
    open_store(pg_url, readonly=True).close()  # and so do those of PGOPTIONS
    monkeypatch.delenv("PGOPTIONS")
    with pytest.raises(StoreNotFound, match="holds no study yet"):
        open_store(pg_url, readonly=True)  # the default schema holds none


def test_the_dashboard_refuses_to_delete_a_study(pg_url: str, workdir: Path) -> None:
    pytest.importorskip("optuna_dashboard")
    writer = open_store(pg_url)
    try:
        optuna.create_study(study_name="kept", storage=writer.storage)
    finally:
        writer.close()
    port = free_port()
    api = f"http://127.0.0.1:{port}/api/studies"
    with open(workdir / "dashboard.log", "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hpsweep",
                "dashboard",
                "--port",
                str(port),
                "--storage",
                pg_url,
            ],
            cwd=workdir,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def names() -> list[str]:
        with urllib.request.urlopen(api, timeout=10) as response:
            return [s["study_name"] for s in json.loads(response.read())["study_summaries"]]

    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (workdir / "dashboard.log").read_text()
            try:
                assert names() == ["kept"]
                break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        delete = urllib.request.Request(f"{api}/1", method="DELETE")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(delete, timeout=10)
        refused.value.close()
        assert refused.value.code >= 400
        assert names() == ["kept"]
    finally:
        stop(server, timeout=10)
