"""Fixtures for the distributed tests: a private PostgreSQL server and a local Ray.

PostgreSQL is session-scoped (one per pytest process, so per xdist worker); Ray is
module-scoped, since its driver threads and processes live inside the pytest process and would
otherwise skew the leak and CPU checks of the tests after it. Both stop in a ``finally``, so a
failing test leaves no server behind. Without PostgreSQL binaries or Ray, the
tests that need them are skipped with the reason, except under CI (``CI`` set), where a missing
server is a broken setup and fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from ._servers import PostgresServer
from ._servers import find_pg_bindir
from ._servers import postgres_server


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a setup error, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    bindir = find_pg_bindir()
    if bindir is None:
        _missing("PostgreSQL binaries (initdb, pg_ctl) not found; apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        _missing("psycopg is not installed; pip install -e '.[postgres]'")
    assert bindir is not None
    with postgres_server(bindir) as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test on the session's server."""
    name = "t_" + uuid.uuid4().hex[:12]
    return pg_server.create_database(name)


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    """A local Ray (4 logical CPUs, so that 3-slot tests fit; real cores are what they are),
    shut down at the end of the module."""
    try:
        import ray
    except ModuleNotFoundError:
        _missing("Ray is not installed; pip install -e '.[ray]'")
    import logging

    ray.init(
        num_cpus=4,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        # no idle workers started ahead of need: on 2 cores they slow everything else down
        _system_config={"prestart_worker_first_driver": False, "enable_worker_prestart": False},
    )
    try:
        yield
    finally:
        ray.shutdown()
