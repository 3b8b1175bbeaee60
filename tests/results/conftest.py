"""Fixtures: stores holding studies to report on."""

from __future__ import annotations

from pathlib import Path

import pytest

from .studies import NASTY_STUDY
from .studies import write_study


@pytest.fixture
def nasty_store(tmp_path: Path) -> Path:
    path = tmp_path / "hpsweep.journal"
    write_study(path, NASTY_STUDY)
    return path


@pytest.fixture
def multi_store(tmp_path: Path) -> Path:
    path = tmp_path / "multi.journal"
    write_study(path, "two-goals", directions=("minimize", "maximize"), n_trials=12)
    return path
