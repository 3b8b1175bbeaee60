"""Smoke tests for benchmarks/launch.py and benchmarks/parallel.py: each runs with --quick and
prints its tables. The numbers are not checked (they depend on the machine), only that every
configuration ran and was reported."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from support import clean_env

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def run_script(name: str, *args: str, tmp_path: Path) -> str:
    env = clean_env()
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--quick", "--dir", str(tmp_path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    sys.path.insert(0, str(BENCHMARKS))  # for `from _common import ...`
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


@pytest.mark.parametrize("name", ["launch", "parallel"])
def test_scripts_import_without_side_effects(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load(name)
    assert callable(module.main)
    assert capsys.readouterr() == ("", "")


def test_train_fixture_prints_a_marker_line_and_stamps(tmp_path: Path) -> None:
    stamps = tmp_path / "stamps.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HPSWEEP_", "ORION_"))}
    env["BENCH_STAMPS"] = str(stamps)
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "fixtures" / "train.py"), "-x", "3"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == 'hpsweep: {"result": 4.0}'
    began, ended = map(float, stamps.read_text().split())
    assert began <= ended


def test_fit_recovers_startup_and_per_trial_cost() -> None:
    launch = load("launch")
    startup, per_trial = launch.fit({20: 0.5 + 20 * 0.03, 60: 0.5 + 60 * 0.03})
    assert startup == pytest.approx(0.5) and per_trial == pytest.approx(0.03)


@pytest.mark.slow
def test_launch_quick_prints_its_tables(tmp_path: Path) -> None:
    out = run_script("launch.py", tmp_path=tmp_path)
    assert "## Totals and fitted costs" in out
    assert "## From the trials' time stamps" in out
    for label in ("bare loop", "hpsweep run, random sampler", "in-memory", "SQLite"):
        assert label in out
    assert out.count("PASS: ") + out.count("FAIL: ") == 4  # 2 targets, each measured 2 ways


@pytest.mark.slow
def test_parallel_quick_prints_its_tables(tmp_path: Path) -> None:
    out = run_script("parallel.py", tmp_path=tmp_path)
    assert "## (a) 2 jobs against 1" in out
    assert "## (b) Simulated workers" in out
    for label in ("command trials", "worker processes", "JournalFile", "SQLite", "coupled clock"):
        assert label in out
    assert "max workers ~" in out
    assert out.count("PASS: ") + out.count("FAIL: ") == 6
