"""The sample-efficiency and multi-fidelity benchmarks: their test functions have the known
minima, and a tiny run of each goes through (the numbers themselves are machine-dependent)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(BENCHMARKS))  # for `from _common import ...`
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_functions_reach_their_known_minima() -> None:
    quality = load("quality")
    problems = quality.PROBLEMS
    assert problems["branin"].function([-3.14159265359, 12.275]) == pytest.approx(0.397887, 1e-5)
    assert problems["branin"].function([9.42478, 2.475]) == pytest.approx(0.397887, 1e-5)
    optimum = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]
    assert problems["hartmann6"].function(optimum) == pytest.approx(-3.32237, abs=1e-5)
    assert problems["rosenbrock5"].function([1.0] * 5) == 0.0
    assert problems["ackley10"].function([0.0] * 10) == pytest.approx(0.0, abs=1e-12)
    for name, problem in problems.items():  # the optimum lies inside the box
        assert problem.function([lo for lo, _ in problem.bounds]) > problem.minimum, name


def test_a_tiny_quality_run_and_its_summary() -> None:
    quality = load("quality")
    runs = [quality.run_one(("branin", name, 0, 12)) for name in ("random", "tpe")]
    assert all(r.regret >= 0 and r.seconds > 0 for r in runs)
    rows, stats = quality.summarize(runs, 12)
    assert [row[:2] for row in rows] == [["branin", "random"], ["branin", "tpe"]]
    assert set(stats) == {"branin/random", "branin/tpe"}
    checks = quality.targets({"branin/auto": {"regret": 1.0, "seconds": 1.0}, **stats})
    assert checks and all(isinstance(ok, bool) for ok, _ in checks)


@pytest.mark.slow
def test_multifidelity_quick_run_prints_every_pruner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A smoke run: the target itself is judged by the full benchmark (benchmarks/RESULTS.md);
    # the quick run has too few trials for a 3 % comparison to be stable.
    pytest.importorskip("sklearn")
    multifidelity = load("multifidelity")
    argv = ["--quick", "--trials", "6", "--epochs", "9", "--jobs", "1"]
    assert multifidelity.main(argv) == 0
    output = capsys.readouterr().out.lower()
    for name in ("fifo", "median", "asha", "hyperband", "pfl"):
        assert name in output
