"""Run each coverage-guided fuzz target in fuzz/ for a few seconds (the long runs are manual:
``cd fuzz && ../.venv/bin/python fuzz_config.py -max_total_time=600 seeds/config``)."""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py"))
SECONDS = 1

# Where the dev extra installs atheris (pyproject.toml), CI must have it; elsewhere it is optional.
EXPECTED = (
    sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info >= (3, 11)
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("atheris") is None and not (os.environ.get("CI") and EXPECTED),
        reason="atheris is not installed (pip install atheris); CI runs these",
    ),
]


def test_every_parser_has_a_target() -> None:
    assert set(TARGETS) >= {"space_grammar", "config", "set", "wire", "dialects"}


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_finds_nothing(target: str, tmp_path: Path) -> None:
    if target == "orion" and importlib.util.find_spec("hpsweep.dialects._orion") is None:
        pytest.skip("the Oríon dialect is not in this tree")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            f"fuzz_{target}.py",
            f"-max_total_time={SECONDS}",
            "-timeout=10",  # one input taking longer is a hang: the run fails
            "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
            str(FUZZ / "seeds" / target),
        ],
        cwd=FUZZ,
        capture_output=True,
        text=True,
        timeout=SECONDS + 60,
    )
    tail = "\n".join(result.stderr.splitlines()[-40:])
    assert result.returncode == 0, f"fuzz_{target}.py found a failing input:\n{tail}"
    assert "DONE" in result.stderr, tail
