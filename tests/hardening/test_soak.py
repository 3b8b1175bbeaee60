"""Soak: short trials through one controller with ``-j 2``, in this process, on the default store
(2 000 command trials, 10 000 thread trials): no file descriptor or process may leak, the
controller's memory may grow only with the study it stores, and the controller's CPU time per
trial must not grow from the first trials to the last.

The logic is benchmarks/soak.py's (which runs 10 000 of each and PostgreSQL too; its figures are
in benchmarks/RESULTS.md). Marked slow: one to two minutes on 2 shared cores.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
TRIALS = {"command": 2000, "thread": 10_000}  # thread trials are cheap: long enough to see growth


def _load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_soak", BENCHMARKS / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    sys.path.insert(0, str(BENCHMARKS))  # for `from _common import ...`
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    return _load_soak()


@pytest.fixture(scope="module")
def results(
    soak: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One soak run per kind of trial, shared by the tests below (each prints its table)."""
    made: dict[str, Any] = {}

    def get(kind: str) -> Any:
        if kind not in made:
            directory = tmp_path_factory.mktemp(f"soak-{kind}")
            trials = TRIALS[kind]
            made[kind] = soak.run_soak(
                kind, trials=trials, jobs=2, every=trials // 5, directory=directory
            )
            print(soak.report(made[kind]))
        return made[kind]

    yield {"get": get}


@pytest.mark.parametrize("kind", ["command", "thread"])
def test_no_descriptor_or_process_leaks(results: dict[str, Any], kind: str) -> None:
    result = results["get"](kind)
    assert result.whys == {"complete": TRIALS[kind]}
    assert result.leaks == []
    # nothing accumulates during the run either: a sample (taken as one trial ends) sees the
    # other slot's trial or not, and that is all the difference there is
    fds = [s.fds for s in result.samples[1:]]
    kids = [s.children for s in result.samples[1:]]
    per_trial = 6 if kind == "command" else 0  # 3 pipes, a pidfd, 2 logs
    assert max(fds) - min(fds) <= per_trial, fds
    assert max(kids) <= (3 if kind == "command" else 0), kids  # the guard and 2 trials


@pytest.mark.parametrize("kind", ["command", "thread"])
def test_controller_memory_grows_only_with_the_stored_study(
    results: dict[str, Any], kind: str
) -> None:
    result = results["get"](kind)
    # Optuna's storages keep every trial in memory (~2 KiB each here); more would be a leak
    assert result.kib_per_trial <= 4.0, [(s.trials, s.rss_mib) for s in result.samples]


def test_command_trials_cost_the_same_at_the_end(results: dict[str, Any]) -> None:
    result = results["get"]("command")
    assert result.slowdown <= 1.5, result.blocks()  # CPU ms/trial, last block over first


def test_thread_trials_cost_the_same_at_the_end(results: dict[str, Any]) -> None:
    # 10 000 trials: each launch once scanned the whole study twice (the budget tally and
    # study.ask's search for queued trials), 0.85 -> 6.3 ms CPU/trial from first to last thousand
    result = results["get"]("thread")
    assert result.slowdown <= 1.5, result.blocks()  # CPU ms/trial, last block over first
