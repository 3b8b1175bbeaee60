from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "fuzz"
if str(FUZZ) not in sys.path:
    sys.path.insert(0, str(FUZZ))  # the property oracle the fuzz targets share: fuzz/oracle.py

OBJECTIVE_MODULE = "hardening_objective"
OBJECTIVE = "def f(p):\n    return (p['x'] - 0.3) ** 2\n"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def cli(*argv: str) -> Result:
    """``hpsweep ARGV`` in this process."""
    from hpsweep.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return Result(code, out.getvalue(), err.getvalue())


def cli_process(
    *argv: str,
    cwd: Path,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
    preexec_fn: Callable[[], object] | None = None,
) -> Result:
    """``hpsweep ARGV`` in a child process (killed if it outlives ``timeout``)."""
    completed = subprocess.run(
        [sys.executable, "-m", "hpsweep", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        preexec_fn=preexec_fn,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def run_args(n: int, storage: str | None = None, *extra: str) -> list[str]:
    argv = [
        "run",
        "-q",
        "-n",
        str(n),
        "-p",
        "x=float(0,1)",
        "--objective",
        f"{OBJECTIVE_MODULE}:f",
        *("--sampler", "random"),  # fast: these tests are about the store, not the search
    ]
    if storage is not None:
        argv += ["--storage", storage]
    return [*argv, *extra]


@pytest.fixture
def study_dir(workdir: Path) -> Path:
    """An empty working directory holding the objective module the runs here use."""
    (workdir / f"{OBJECTIVE_MODULE}.py").write_text(OBJECTIVE)
    return workdir


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` and its bytes (caches left out)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def can_mount() -> bool:
    return os.geteuid() == 0 and sys.platform.startswith("linux")


@contextlib.contextmanager
def mounted(*command: str) -> Iterator[bool]:
    """Run a ``mount`` command; yield whether it worked; ``umount`` afterwards."""
    target = command[-1]
    done = subprocess.run(["mount", *command], capture_output=True).returncode == 0
    try:
        yield done
    finally:
        if done:
            subprocess.run(["umount", "-l", target], capture_output=True)
