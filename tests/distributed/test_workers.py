"""Several `hpsweep worker` processes on one PostgreSQL study: each its own controller with a
distinct host id, as if on separate machines. Budgets, kill -9 recovery, a server restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from hpsweep.engine import open_store
from support import clean_env
from support import hpsweep

from ._servers import PG_PASSWORD
from ._servers import PostgresServer

OBJECTIVES = textwrap.dedent("""
    import time
    import hpsweep

    def quick(p):
        time.sleep(0.05)
        return p["x"]

    def steady(p):
        for step in range(4):
            time.sleep(0.1)
            hpsweep.report(p["x"] + step, step=step)
        return p["x"]

    def slow(p):
        time.sleep(1.5)
        return p["x"]
    """)


class Cluster:
    """`hpsweep` processes started by one test, all killed at its end even when it fails."""

    def __init__(self, cwd: Path, url: str) -> None:
        self.cwd = cwd
        self.url = url
        self.processes: list[subprocess.Popen[bytes]] = []

    def hpsweep(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return hpsweep(self.cwd, *args, check=check)

    def create(self, study: str, objective: str, n_trials: int, **extra: object) -> None:
        lines = [
            f"study: {study}",
            f"objective: objectives:{objective}",
            f"n_trials: {n_trials}",
            "sampler: random",
            "pruner: none",
            "space:",
            "  x: {type: float, low: 0, high: 1}",
            *(f"{key}: {value}" for key, value in extra.items()),
        ]
        (self.cwd / f"{study}.yaml").write_text("\n".join(lines) + "\n")
        self.hpsweep("create", f"{study}.yaml", "--storage", self.url)

    def worker(self, study: str, host: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.cwd / f"worker-{host}.log", "wb")  # a file: a killed worker leaves no pipe
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hpsweep",
                "worker",
                "--study",
                study,
                "--storage",
                self.url,
                "--host-id",
                host,
                "-q",
                "--executor",  # a host's own setting: workers never take it from the study
                "thread",
                *args,
            ],
            cwd=self.cwd,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def log(self, host: str) -> str:
        return (self.cwd / f"worker-{host}.log").read_text()

    def wait(self, processes: list[subprocess.Popen[bytes]], timeout: float = 120) -> list[int]:
        deadline = time.monotonic() + timeout
        codes = []
        for process in processes:
            codes.append(process.wait(timeout=max(1.0, deadline - time.monotonic())))
        return codes

    def trials(self, study: str) -> list[optuna.trial.FrozenTrial]:
        store = open_store(self.url, readonly=True)
        try:
            return optuna.load_study(study_name=study, storage=store.storage).get_trials()
        finally:
            store.close()

    def owners(self, study: str) -> dict[str, str]:
        """Owner id -> the host it recorded."""
        store = open_store(self.url, readonly=True)
        try:
            loaded = optuna.load_study(study_name=study, storage=store.storage)
            attrs = store.storage.get_study_system_attrs(loaded._study_id)
        finally:
            store.close()
        prefix = "hpsweep:owner:"
        return {k[len(prefix) :]: v["host"] for k, v in attrs.items() if k.startswith(prefix)}

    def running_on(self, study: str, host: str) -> set[int]:
        owners = self.owners(study)
        return {
            t.number
            for t in self.trials(study)
            if t.state.name == "RUNNING"
            and owners.get(t.system_attrs.get("hpsweep:run", {}).get("owner")) == host
        }

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str) -> Iterator[Cluster]:
    (tmp_path / "objectives.py").write_text(OBJECTIVES)
    running = Cluster(tmp_path, pg_url)
    try:
        yield running
    finally:
        running.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def counted(trials: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    return [t for t in trials if not t.system_attrs.get("hpsweep:superseded")]


@pytest.mark.slow
def test_three_workers_complete_a_study_exactly(cluster: Cluster) -> None:
    cluster.create("s40", "quick", 40)
    workers = [cluster.worker("s40", f"host-{i}", "-j", "2") for i in range(3)]
    codes = cluster.wait(workers)
    assert codes == [0, 0, 0], [cluster.log(f"host-{i}") for i in range(3)]
    trials = cluster.trials("s40")
    assert len(trials) == 40  # no overshoot: the advisory lock held every count-and-create
    assert {t.state.name for t in trials} == {"COMPLETE"}
    owners = cluster.owners("s40")
    ran = {owners[t.system_attrs["hpsweep:run"]["owner"]] for t in trials}
    assert ran == {"host-0", "host-1", "host-2"}, "every worker ran trials"


@pytest.mark.slow
def test_a_killed_worker_s_trials_are_run_again_by_the_others(cluster: Cluster) -> None:
    cluster.create("s12", "slow", 12, heartbeat_expiry=3)
    survivor = cluster.worker("s12", "survivor", "-j", "2")
    victim = cluster.worker("s12", "victim", "-j", "2")
    wait_for(lambda: len(cluster.running_on("s12", "victim")) == 2)
    os.kill(victim.pid, signal.SIGKILL)
    assert cluster.wait([victim]) == [-signal.SIGKILL]
    orphans = cluster.running_on("s12", "victim")  # what it was running when it died
    assert orphans
    assert cluster.wait([survivor], timeout=90) == [0], cluster.log("survivor")
    trials = cluster.trials("s12")
    assert "RUNNING" not in {t.state.name for t in trials}
    assert len(counted(trials)) == 12
    lost = [t for t in trials if t.user_attrs.get("why") == "lost"]
    assert {t.number for t in lost} == orphans
    for trial in lost:
        rerun = [t for t in trials if t.user_attrs.get("retry_of") == trial.number]
        assert len(rerun) == 1 and rerun[0].params == trial.params
        assert rerun[0].state.name == "COMPLETE"
        assert cluster.owners("s12")[rerun[0].system_attrs["hpsweep:run"]["owner"]] == "survivor"


@pytest.mark.slow
def test_a_database_restart_loses_nothing(cluster: Cluster, pg_server: PostgresServer) -> None:
    cluster.create("s30", "steady", 30)
    workers = [cluster.worker("s30", f"host-{i}", "-j", "2") for i in range(2)]
    wait_for(lambda: sum(t.state.name == "COMPLETE" for t in cluster.trials("s30")) >= 6)
    pg_server.restart(down_for=2.0)  # every connection drops; calls fail for 2 s
    codes = cluster.wait(workers)
    logs = [cluster.log(f"host-{i}") for i in range(2)]
    assert codes == [0, 0], logs
    assert any("reconnected to postgresql://hpsweep:***@" in log for log in logs), logs
    assert PG_PASSWORD not in "".join(logs)
    trials = cluster.trials("s30")
    assert len(trials) == 30, [(t.number, t.state.name) for t in trials]
    assert {t.state.name for t in trials} == {"COMPLETE"}
    for trial in trials:  # every report made it, before, during and after the outage
        assert sorted(trial.intermediate_values) == [0, 1, 2, 3], trial


def test_a_worker_joining_a_run_s_study_does_not_inherit_its_timeout(cluster: Cluster) -> None:
    cluster.hpsweep(
        *("run", "--study", "r6", "--storage", cluster.url, "-n", "6", "-q"),
        *("-p", "x=float(0,1)", "--objective", "objectives:steady", "--timeout", "0.5"),
    )
    assert len(cluster.trials("r6")) < 6  # the run's own budget ended it
    assert cluster.wait([cluster.worker("r6", "joiner", "-j", "2")]) == [0]
    assert "the study total of 6 trials is reached" in cluster.log("joiner"), cluster.log("joiner")
    assert [t.state.name for t in cluster.trials("r6")] == ["COMPLETE"] * 6


def test_connection_errors_are_one_line_with_the_password_masked(cluster: Cluster) -> None:
    wrong = cluster.url.replace(PG_PASSWORD, "wrong-password")
    done = cluster.hpsweep("worker", "--study", "x", "--storage", wrong, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "wrong-password" not in done.stderr and PG_PASSWORD not in done.stderr
    assert "***@127.0.0.1" in lines[0]
    assert "password" in lines[0]

    port = cluster.url.split("@127.0.0.1:")[1].split("/")[0]
    closed = cluster.url.replace(f":{port}/", ":1/")
    done = cluster.hpsweep("worker", "--study", "x", "--storage", closed, check=False)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert PG_PASSWORD not in done.stderr
    assert "check that the server is running" in done.stderr
