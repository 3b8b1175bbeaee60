from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run the test inside an empty directory, with no HPSWEEP_* settings leaking in."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("HPSWEEP_"):
            monkeypatch.delenv(key)
    yield tmp_path
