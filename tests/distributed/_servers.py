"""Private servers for the distributed tests: a PostgreSQL cluster in a temporary directory and a
local Ray head. Each is stopped at the end even when a test fails (the fixtures in conftest.py
own them), and neither listens on anything but the loopback interface.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_USER = "hpsweep"
PG_PASSWORD = "s3cret-" + secrets.token_hex(4)


def find_pg_bindir() -> Path | None:
    """Where initdb/pg_ctl live: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (the
    postgresql package does not put them on PATH), newest version first."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    candidates.sort(key=lambda p: int(Path(p).parent.parent.name.split(".")[0]), reverse=True)
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return Path(candidate).parent
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster: ``initdb`` into a temporary directory, ``pg_ctl`` to start, stop
    and restart it. PostgreSQL refuses to run as root, so as root it runs as the ``postgres``
    system user (which Debian's package creates), by ``subprocess``'s own setuid."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="hpsweep-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._user: str | None = None
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root needs the 'postgres' system user to run the server as "
                    "(apt-get install postgresql creates it)"
                ) from None
            self._user = "postgres"
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.sockets.mkdir()
        if self._user is not None:
            os.chown(self.sockets, pwd.getpwnam("postgres").pw_uid, -1)

    def _run(self, *argv: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [str(self.bindir / argv[0]), *argv[1:]],
            user=self._user,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}\n{log}".strip()
            )

    def init(self) -> None:
        password_file = self.root / "pw"
        password_file.write_text(PG_PASSWORD + "\n")
        if self._user is not None:
            os.chown(password_file, pwd.getpwnam("postgres").pw_uid, -1)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            PG_USER,
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",  # a real password, so that masking is tested for real
            "-E",
            "UTF8",
            "--no-sync",
        )
        password_file.unlink()

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} "
            # a throwaway cluster: durability against power loss is not what is tested
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def restart(self, down_for: float = 1.0) -> None:
        """Stop the server (closing every connection), stay down a while, start it again."""
        self.stop("fast")
        time.sleep(down_for)
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh database (dropped first if a previous test left it), and its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            if self.running():
                with contextlib.suppress(Exception):
                    self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server(bindir: Path) -> Iterator[PostgresServer]:
    server = PostgresServer(bindir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()
