"""Helpers shared by the end-to-end tests: the CLI as a real subprocess, the store read back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import optuna

from hpsweep.engine import open_store


def clean_env(*, drop: Iterable[str] = ()) -> dict[str, str]:
    """``os.environ`` without HPSWEEP_* variables and without the names in ``drop``."""
    dropped = set(drop)
    return {
        k: v for k, v in os.environ.items() if not k.startswith("HPSWEEP_") and k not in dropped
    }


def hpsweep(
    cwd: Path, *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`hpsweep ARGS` in ``cwd``, with no HPSWEEP_* settings leaking in from the test run."""
    result = subprocess.run(
        [sys.executable, "-m", "hpsweep", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def stored_trials(cwd: Path, study: str = "default") -> list[optuna.trial.FrozenTrial]:
    """The study's trials, read from the default store in ``cwd``."""
    store = open_store(str(cwd / "hpsweep.journal"), readonly=True)
    try:
        return optuna.load_study(study_name=study, storage=store.storage).get_trials()
    finally:
        store.close()


def stop(process: subprocess.Popen[Any], timeout: float = 20) -> None:
    """A test's cleanup: SIGTERM (a controller then stops its trials with their process
    groups, a server shuts down), SIGKILL if it has not exited within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
