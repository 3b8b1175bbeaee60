"""Sample efficiency: hpsweep's ``auto`` sampler next to Optuna's random, TPE, GP and CMA-ES.

Four standard test functions (Branin 2-d, Hartmann 6-d, Rosenbrock 5-d on [-5, 10], Ackley 10-d on
[-32.768, 32.768]); for each sampler and seed, one study of ``--trials`` trials. It prints, per
function and sampler, the median (over seeds) of the regret after the last trial (best value
minus the known minimum), the median number of trials needed to reach a fixed regret threshold,
and the median wall time of one run, then PASS/FAIL lines for the targets:

- ``auto``'s median regret <= TPE's on every function;
- ``auto``'s median regret within 10x of GP's on Branin and Hartmann6, in less time than GP.

The comparison measures samplers, not storage, so every study is an in-memory Optuna study driven
by ``study.optimize``; ``auto`` is exactly the sampler ``hpsweep.run`` builds for such a space
and budget (``make_sampler("auto", ..., n_trials=--trials)``, which ``open_study`` calls). Runs
go to ``--jobs`` worker processes (torch limited to one thread each), so timings are side by
side under the same load. Run from the repository root::

    nice .venv/bin/python benchmarks/quality.py               # 100 trials x 10 seeds, ~15 min
    .venv/bin/python benchmarks/quality.py --quick            # 40 trials x 3 seeds, ~1 min
    .venv/bin/python benchmarks/quality.py --functions branin --samplers auto,gp --seeds 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any

if __package__:
    from ._common import format_kv
    from ._common import format_table
    from ._common import load_note
    from ._common import machine_info
    from ._common import median
else:  # run as a script: benchmarks/ is on sys.path
    from _common import format_kv
    from _common import format_table
    from _common import load_note
    from _common import machine_info
    from _common import median

# ------------------------------------------------------------------ test functions

_A6 = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_P6 = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]
_ALPHA6 = [1.0, 1.2, 3.0, 3.2]


def branin(x: Sequence[float]) -> float:
    x1, x2 = x
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6(x: Sequence[float]) -> float:
    return -sum(
        alpha * math.exp(-sum(a * (xi - p) ** 2 for a, xi, p in zip(row, x, prow)))
        for alpha, row, prow in zip(_ALPHA6, _A6, _P6)
    )


def rosenbrock(x: Sequence[float]) -> float:
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def ackley(x: Sequence[float]) -> float:
    d = len(x)
    squares = sum(v * v for v in x) / d
    cosines = sum(math.cos(2 * math.pi * v) for v in x) / d
    return -20 * math.exp(-0.2 * math.sqrt(squares)) - math.exp(cosines) + 20 + math.e


@dataclass(frozen=True)
class Problem:
    function: Callable[[Sequence[float]], float]
    bounds: tuple[tuple[float, float], ...]
    minimum: float
    threshold: float
    """The regret a run should reach; trials-to-threshold counts the trials it took."""


PROBLEMS: dict[str, Problem] = {
    "branin": Problem(branin, ((-5.0, 10.0), (0.0, 15.0)), 0.397887357729739, 0.01),
    "hartmann6": Problem(hartmann6, ((0.0, 1.0),) * 6, -3.32236801141551, 0.05),
    "rosenbrock5": Problem(rosenbrock, ((-5.0, 10.0),) * 5, 0.0, 200.0),
    "ackley10": Problem(ackley, ((-32.768, 32.768),) * 10, 0.0, 12.0),
}
SAMPLERS = ("auto", "random", "tpe", "gp", "cmaes")

# ------------------------------------------------------------------ one run


@dataclass
class Run:
    function: str
    sampler: str
    seed: int
    regret: float
    trials_to_threshold: int | None
    seconds: float


def _sampler(name: str, problem: Problem, seed: int, trials: int) -> Any:
    import optuna

    from hpsweep.engine._algorithms import make_sampler
    from hpsweep.space import Float
    from hpsweep.space import SearchSpace

    if name == "auto":
        space = SearchSpace({f"x{i}": Float(lo, hi) for i, (lo, hi) in enumerate(problem.bounds)})
        return make_sampler("auto", {}, seed=seed, space=space, n_trials=trials)
    factories = {
        "random": optuna.samplers.RandomSampler,
        "tpe": optuna.samplers.TPESampler,
        "gp": optuna.samplers.GPSampler,
        "cmaes": optuna.samplers.CmaEsSampler,
    }
    return factories[name](seed=seed)


def run_one(job: tuple[str, str, int, int]) -> Run:
    function, sampler_name, seed, trials = job
    import optuna

    try:
        import torch

        torch.set_num_threads(1)  # one core per worker: side-by-side timings stay comparable
    except ImportError:
        pass
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = PROBLEMS[function]
    best = math.inf
    reached: int | None = None

    def objective(trial: optuna.Trial) -> float:
        nonlocal best, reached
        x = [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(problem.bounds)]
        value = problem.function(x)
        best = min(best, value)
        if reached is None and best - problem.minimum <= problem.threshold:
            reached = trial.number + 1
        return value

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental/independent-sampling notes, not results
        study = optuna.create_study(sampler=_sampler(sampler_name, problem, seed, trials))
        study.optimize(objective, n_trials=trials)
    seconds = time.perf_counter() - start
    return Run(function, sampler_name, seed, best - problem.minimum, reached, seconds)


# ------------------------------------------------------------------ report


def _fmt(value: float) -> str:
    if value != value:
        return "-"
    return f"{value:.2g}" if abs(value) < 1000 else f"{value:.3g}"


def summarize(runs: Sequence[Run], trials: int) -> tuple[list[list[str]], dict[str, Any]]:
    rows: list[list[str]] = []
    stats: dict[str, Any] = {}
    for function in dict.fromkeys(r.function for r in runs):
        for sampler in dict.fromkeys(r.sampler for r in runs):
            mine = [r for r in runs if r.function == function and r.sampler == sampler]
            if not mine:
                continue
            regret = median([r.regret for r in mine])
            counts = sorted(
                r.trials_to_threshold if r.trials_to_threshold is not None else math.inf
                for r in mine
            )
            to_threshold = median(counts)
            seconds = median([r.seconds for r in mine])
            reached = sum(r.trials_to_threshold is not None for r in mine)
            stats[f"{function}/{sampler}"] = {
                "regret": regret,
                "trials_to_threshold": to_threshold,
                "reached": reached,
                "seconds": seconds,
            }
            rows.append(
                [
                    function,
                    sampler,
                    _fmt(regret),
                    f"{to_threshold:.0f}" if math.isfinite(to_threshold) else f">{trials}",
                    f"{reached}/{len(mine)}",
                    f"{seconds:.2f}",
                ]
            )
    return rows, stats


def targets(stats: dict[str, Any]) -> list[tuple[bool, str]]:
    checks: list[tuple[bool, str]] = []

    def get(function: str, sampler: str) -> dict[str, float] | None:
        value = stats.get(f"{function}/{sampler}")
        return value if isinstance(value, dict) else None

    for function in PROBLEMS:
        auto, tpe, gp = get(function, "auto"), get(function, "tpe"), get(function, "gp")
        if auto and tpe:
            ok = auto["regret"] <= tpe["regret"]
            checks.append(
                (ok, f"{function}: auto regret {auto['regret']:.3g} <= TPE {tpe['regret']:.3g}")
            )
        if function in ("branin", "hartmann6") and auto and gp:
            ok = auto["regret"] <= 10 * gp["regret"]
            checks.append(
                (ok, f"{function}: auto regret {auto['regret']:.3g} <= 10 x GP {gp['regret']:.3g}")
            )
            ok = auto["seconds"] < gp["seconds"]
            checks.append(
                (
                    ok,
                    f"{function}: auto {auto['seconds']:.2f} s per run < GP {gp['seconds']:.2f} s "
                    f"({auto['seconds'] / gp['seconds']:.0%} of GP's time)",
                )
            )
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="40 trials x 3 seeds")
    parser.add_argument("--functions", default=",".join(PROBLEMS))
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--json", help="write the raw runs and medians to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    options = parser.parse_args(argv)
    if options.quick:
        options.trials, options.seeds = 40, 3
    functions = [f for f in options.functions.split(",") if f]
    samplers = [s for s in options.samplers.split(",") if s]
    for name in functions:
        if name not in PROBLEMS:
            parser.error(f"unknown function {name!r}; use {', '.join(PROBLEMS)}")
    for name in samplers:
        if name not in SAMPLERS:
            parser.error(f"unknown sampler {name!r}; use {', '.join(SAMPLERS)}")
    print(format_kv(machine_info(("optuna", "torch", "cmaes", "greenlet"))))
    print(f"{options.trials} trials x {options.seeds} seeds, {options.jobs} worker processes")
    # Interleaved (every sampler on one function and seed, then the next), so the samplers run
    # side by side under the same load and their times compare.
    jobs = [
        (f, s, seed, options.trials)
        for seed in range(options.seeds)
        for f in functions
        for s in samplers
    ]
    runs: list[Run] = []
    started = time.perf_counter()
    with ProcessPoolExecutor(options.jobs) as pool:
        for run in pool.map(run_one, jobs):
            runs.append(run)
            print(
                f"  {run.function:<12} {run.sampler:<7} seed {run.seed}: regret "
                f"{run.regret:.3g} in {run.seconds:.2f} s",
                file=sys.stderr,
            )
    runs.sort(key=lambda r: (functions.index(r.function), samplers.index(r.sampler), r.seed))
    rows, stats = summarize(runs, options.trials)
    print()
    print(
        format_table(
            ["function", "sampler", "median regret", "trials to threshold", "reached", "s/run"],
            rows,
        )
    )
    thresholds = ", ".join(f"{k} {v.threshold:g}" for k, v in PROBLEMS.items() if k in functions)
    print(f"\nthresholds (regret): {thresholds}; total {time.perf_counter() - started:.0f} s")
    print(load_note())
    checks = targets(stats)
    for ok, line in checks:
        print(("PASS " if ok else "FAIL ") + line)
    if options.json:
        with open(options.json, "w") as handle:
            json.dump({"runs": [asdict(r) for r in runs], "medians": stats}, handle, indent=1)
    return 1 if options.strict and not all(ok for ok, _ in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
