"""Parallel trials: 2 jobs against 1, and the controller with hundreds of simulated workers.

**(a) Real processes, 2 jobs against 1.** Sleeping trials (16 of 0.5 s by default), run side by
side in this one run, each configuration in a fresh temporary directory:

* hpsweep command trials: ``hpsweep run -n N -j J --sampler random -p 'x=float(-5,5)' --
  python train.py --x {x} --sleep S``;
* hpsweep Python objectives in worker processes: ``hpsweep run -n N -j J --objective
  sleep_objective:objective`` (``-j 2`` picks worker processes by itself; ``-j 1`` is given
  ``--executor process`` so that both use them);
* Optuna, J processes of fixtures/optuna_worker.py on one shared JournalFile, and on one SQLite
  file, each ``study.optimize(objective, n_trials=N/J)`` after one process created the study.

Each is timed as a whole (start-up included), and from the trials' own time stamps as the sweep
phase (first trial start to last trial end), which leaves out the one-time start-up that no
number of jobs can shorten. Speed-up = 1 job's time / 2 jobs' time.

**(b) Simulated workers.** The real :class:`~hpsweep._controller.Controller` on a real temporary
journal store with the random sampler, driving :class:`~hpsweep.runner.FakeExecutor` with 64 and
256 slots on a :class:`~hpsweep.runner.FakeClock`: thousands of trials of lognormal duration
(mean 60 s) run in seconds. It reports the controller's real seconds per trial (wall and CPU of
the whole run / trials, and how that grows over the run), and worker utilisation = busy time /
(slots x simulated makespan). The fake clock does not advance while the controller computes, so a
last run couples the two (the simulated clock also advances by the controller's real time) with
short trials, to show the limit: max workers ~ mean trial duration / controller seconds per trial.

    .venv/bin/python benchmarks/parallel.py            # full size, medians of 3 for (a)
    .venv/bin/python benchmarks/parallel.py --quick    # 4 trials of 0.2 s; 16/64 slots, few trials
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__:
    from ._common import filesystem_of
    from ._common import fmt_ms
    from ._common import fmt_ratio
    from ._common import format_kv
    from ._common import format_table
    from ._common import load_note
    from ._common import machine_info
    from ._common import median
    from ._common import settle
    from ._common import timed
    from ._common import which_script
else:  # run as a script: benchmarks/ is on sys.path
    from _common import filesystem_of
    from _common import fmt_ms
    from _common import fmt_ratio
    from _common import format_kv
    from _common import format_table
    from _common import load_note
    from _common import machine_info
    from _common import median
    from _common import settle
    from _common import timed
    from _common import which_script

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
SPEEDUP_TARGET = 1.9
"""hpsweep with 2 jobs must be at least this much faster than with 1 ..."""
UTILISATION_TARGET = 0.90
"""... and keep simulated workers at least this busy."""
MEAN_DURATION_S = 60.0
SIGMA = 0.5
"""Lognormal shape of the simulated trial durations (the mean is fixed above)."""
RUN_TIMEOUT_S = 600.0


# =========================================================================== (a) real processes


@dataclass(frozen=True)
class Setup:
    key: str
    label: str
    start: Callable[[Path, int, int, float], list[list[list[str]]]]
    """Phases for ``n`` trials with ``jobs`` jobs of ``sleep`` seconds: one after another, each
    a list of argvs started at once."""
    check: Callable[[str, int], bool]


@dataclass
class RealRun:
    key: str
    jobs: int
    repeat: int
    wall_s: float
    sweep_s: float
    """First trial start to last trial end, from the trials' own time stamps."""
    max_overlap: int
    """The most trials that ran at the same moment."""
    load1: float


def _hpsweep() -> str:
    script = which_script("hpsweep")
    if script is None:
        raise RuntimeError("no hpsweep console script beside this interpreter or on PATH")
    return script


def _command_trials(workdir: Path, n: int, jobs: int, sleep: float) -> list[list[list[str]]]:
    return [
        [
            [
                _hpsweep(),
                "run",
                "-n",
                str(n),
                "-j",
                str(jobs),
                "--sampler",
                "random",
                "-p",
                "x=float(-5,5)",
                "--",
                sys.executable,
                "train.py",
                "--x",
                "{x}",
                "--sleep",
                repr(sleep),
            ]
        ]
    ]


def _objective_processes(workdir: Path, n: int, jobs: int, sleep: float) -> list[list[list[str]]]:
    argv = [_hpsweep(), "run", "-n", str(n), "-j", str(jobs), "--sampler", "random"]
    if jobs == 1:
        argv += ["--executor", "process"]  # -j 1 alone would run it in a thread
    return [[[*argv, "-p", "x=float(-5,5)", "--objective", "sleep_objective:objective"]]]


def _hpsweep_check(output: str, n: int) -> bool:
    return f"{n} complete this run" in output


def _optuna_workers(kind: str) -> Callable[[Path, int, int, float], list[list[list[str]]]]:
    def start(workdir: Path, n: int, jobs: int, sleep: float) -> list[list[list[str]]]:
        where = (
            ["--journal", str(workdir / "optuna.journal")]
            if kind == "journal"
            else ["--sqlite", str(workdir / "optuna.db")]
        )
        share = [n // jobs + (1 if i < n % jobs else 0) for i in range(jobs)]
        worker = str(FIXTURES / "optuna_worker.py")
        create = [[sys.executable, worker, *where, "--create"]]
        workers = [
            [sys.executable, worker, *where, "-n", str(k), "--sleep", repr(sleep)] for k in share
        ]
        return [create, workers]

    return start


def _optuna_check(output: str, n: int) -> bool:
    return "done " in output or "created" in output


SETUPS = (
    Setup("hpsweep-command", "hpsweep, command trials", _command_trials, _hpsweep_check),
    Setup(
        "hpsweep-process",
        "hpsweep, Python objective in worker processes",
        _objective_processes,
        _hpsweep_check,
    ),
    Setup(
        "optuna-journal",
        "Optuna, J processes on one JournalFile",
        _optuna_workers("journal"),
        _optuna_check,
    ),
    Setup(
        "optuna-sqlite",
        "Optuna, J processes on one SQLite file",
        _optuna_workers("sqlite"),
        _optuna_check,
    ),
)


def subprocess_env(cache: Path) -> dict[str, str]:
    """This environment, with bytecode caches written to ``cache``: an installed package has its
    ``.pyc`` files, but this checkout is installed in editable mode and the environment may set
    PYTHONDONTWRITEBYTECODE, which would make every start compile hpsweep's sources again."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def read_stamps(path: Path) -> list[tuple[float, float]]:
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text().splitlines():
        began, _, ended = line.partition(" ")
        pairs.append((float(began), float(ended)))
    return sorted(pairs)


def max_overlap(pairs: Sequence[tuple[float, float]]) -> int:
    edges = sorted([(b, 1) for b, _ in pairs] + [(e, -1) for _, e in pairs])
    running = best = 0
    for _, delta in edges:
        running += delta
        best = max(best, running)
    return best


def run_real(
    setup: Setup,
    n: int,
    jobs: int,
    sleep: float,
    repeat: int,
    base: dict[str, str],
    parent: str | None,
) -> RealRun:
    workdir = Path(tempfile.mkdtemp(prefix=f"hpsweep-parallel-{setup.key}-", dir=parent))
    try:
        shutil.copy(FIXTURES / "train.py", workdir / "train.py")
        shutil.copy(FIXTURES / "sleep_objective.py", workdir / "sleep_objective.py")
        stamps = workdir / "stamps.txt"
        env = {**base, "BENCH_STAMPS": str(stamps), "BENCH_SLEEP": repr(sleep)}
        phases = setup.start(workdir, n, jobs, sleep)
        load1 = os.getloadavg()[0]
        settle()
        start = time.perf_counter()
        for argvs in phases:
            processes = [
                subprocess.Popen(
                    argv,
                    cwd=workdir,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for argv in argvs
            ]
            outputs = [p.communicate(timeout=RUN_TIMEOUT_S)[0] for p in processes]
            for process, output in zip(processes, outputs):
                if process.returncode != 0 or not setup.check(output, n):
                    tail = "\n".join(output.strip().splitlines()[-5:])
                    raise RuntimeError(
                        f"{setup.label}, -j {jobs}: exit {process.returncode}\n{tail}"
                    )
        wall = time.perf_counter() - start
        pairs = read_stamps(stamps)
        if len(pairs) != n:
            raise RuntimeError(f"{setup.label}, -j {jobs}: {len(pairs)} trials ran, not {n}")
        return RealRun(
            key=setup.key,
            jobs=jobs,
            repeat=repeat,
            wall_s=wall,
            sweep_s=max(e for _, e in pairs) - min(b for b, _ in pairs),
            max_overlap=max_overlap(pairs),
            load1=load1,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def real_table(runs: Sequence[RealRun], n: int, sleep: float) -> tuple[str, list[str], bool]:
    rows, verdicts, passed = [], [], True
    for setup in SETUPS:
        one = [r for r in runs if r.key == setup.key and r.jobs == 1]
        two = [r for r in runs if r.key == setup.key and r.jobs == 2]
        if not one or not two:
            continue
        wall1, wall2 = median([r.wall_s for r in one]), median([r.wall_s for r in two])
        sweep1, sweep2 = median([r.sweep_s for r in one]), median([r.sweep_s for r in two])
        paired = [a.wall_s / b.wall_s for a, b in zip(one, two)]
        spread = f" ({min(paired):.2f}-{max(paired):.2f})" if len(paired) > 1 else ""
        rows.append(
            (
                setup.label,
                f"{wall1:.2f}",
                f"{wall2:.2f}",
                fmt_ratio(wall1 / wall2) + spread,
                f"{sweep1:.2f}",
                f"{sweep2:.2f}",
                fmt_ratio(sweep1 / sweep2),
                str(max(r.max_overlap for r in two)),
            )
        )
        if setup.key.startswith("hpsweep"):
            for what, ratio in (
                ("sweep phase", sweep1 / sweep2),
                ("whole command", wall1 / wall2),
            ):
                ok = ratio >= SPEEDUP_TARGET
                passed = passed and ok  # the target is wall time: both must hold
                verdicts.append(
                    f"{'PASS' if ok else 'FAIL'}: {setup.label}: 2 jobs are {ratio:.2f}x 1 job, "
                    f"{what} (target >= {SPEEDUP_TARGET}x)"
                )
    headers = (
        f"configuration ({n} trials of {sleep:g} s)",
        "1 job, s",
        "2 jobs, s",
        "speed-up (paired range)",
        "sweep phase, 1 job, s",
        "sweep phase, 2 jobs, s",
        "sweep speed-up",
        "most trials at once",
    )
    return format_table(headers, rows), verdicts, passed


# =========================================================================== (b) simulation


class CoupledClock:
    """A simulated clock that also advances by the real time that passes while it is not being
    moved, so that the controller's own computing delays the simulated trials as it would real
    ones. Drop-in for :class:`~hpsweep.runner.FakeClock` (``now`` read and set, and called)."""

    def __init__(self, start: float = 0.0) -> None:
        self._origin = time.perf_counter()
        self._offset = start

    @property
    def now(self) -> float:
        return self._offset + (time.perf_counter() - self._origin)

    @now.setter
    def now(self, value: float) -> None:
        self._offset = value - (time.perf_counter() - self._origin)

    def __call__(self) -> float:
        return self.now


@dataclass
class SimRun:
    slots: int
    trials: int
    mean_duration_s: float
    coupled: bool
    wall_s: float
    cpu_s: float
    makespan_s: float
    busy_s: float
    last_launch_s: float
    """Simulated time of the last trial start."""
    busy_until_last_launch_s: float
    first_window_s: float
    """CPU seconds per trial between consecutive launches over the first tenth of the trials
    after the initial fill of the slots (CPU, not wall: it hardly depends on the machine's load;
    the initial fill is left out because it launches without finishing anything)."""
    last_window_s: float
    launch_first_s: float
    """CPU seconds of one ``Controller._launch`` call (counting the budget, asking, starting),
    averaged over the same first window ..."""
    launch_last_s: float
    """... and over the last tenth: the part of the cost that may grow with the study."""
    load1: float

    @property
    def per_trial_s(self) -> float:
        return self.wall_s / self.trials

    @property
    def cpu_per_trial_s(self) -> float:
        return self.cpu_s / self.trials

    @property
    def utilisation(self) -> float:
        return self.busy_s / (self.slots * self.makespan_s)

    @property
    def steady_utilisation(self) -> float:
        """Busy share of the slots up to the last launch, while trials were left to start."""
        return self.busy_until_last_launch_s / (self.slots * self.last_launch_s)


def simulate(
    slots: int, trials: int, mean: float, *, coupled: bool, seed: int, parent: str | None
) -> SimRun:
    from hpsweep._config import from_mapping
    from hpsweep._controller import Controller
    from hpsweep._progress import PlainProgress
    from hpsweep.engine import open_store
    from hpsweep.engine import open_study
    from hpsweep.runner import FakeClock
    from hpsweep.runner import FakeExecutor
    from hpsweep.runner import FakeTrial
    from hpsweep.runner import TrialSpec
    from hpsweep.space import Float
    from hpsweep.space import SearchSpace

    config = from_mapping(
        {"study": "sim", "n_trials": trials, "seed": seed, "sampler": "random", "pruner": "none"}
    )
    config = dataclasses.replace(
        config, space=SearchSpace({"x": Float(-5.0, 5.0), "y": Float(-5.0, 5.0)})
    )
    rng = random.Random(seed)
    mu = math.log(mean) - SIGMA**2 / 2  # so that the lognormal's mean is ``mean``
    clock: Any = CoupledClock() if coupled else FakeClock()
    launches: list[float] = []
    spans: list[tuple[float, float]] = []

    def script(spec: TrialSpec) -> FakeTrial:
        launches.append(time.process_time())
        duration = rng.lognormvariate(mu, SIGMA)
        spans.append((clock.now, clock.now + duration))
        return FakeTrial(duration=duration, result=(spec.params["x"] - 1.0) ** 2)

    workdir = Path(tempfile.mkdtemp(prefix="hpsweep-parallel-sim-", dir=parent))
    try:
        store = open_store(str(workdir / "sim.journal"))
        study = open_study(config, store)
        executor = FakeExecutor(script, clock, slots=slots)
        controller = Controller(
            config, store, study, executor, clock=clock, progress=PlainProgress(quiet=True)
        )
        launch_cpu: list[float] = []
        launch = getattr(controller, "_launch", None)
        if callable(launch):  # an internal method: time it when it is there

            def timed_launch(now: float) -> bool:
                began = time.process_time()
                try:
                    return bool(launch(now))
                finally:
                    launch_cpu.append(time.process_time() - began)

            controller._launch = timed_launch  # type: ignore[method-assign]
        load1 = os.getloadavg()[0]
        with timed() as timing:
            summary = controller.run()
        makespan = clock.now
        if summary.counts.get("complete") != trials:
            raise RuntimeError(f"simulation ran {summary.counts}, not {trials} complete")
        store.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # The fake clock's busy time; with the coupled clock a trial may end while the controller is
    # busy and be noticed late, so count each trial's own span instead.
    busy = executor.busy_time if not coupled else sum(min(e, makespan) - b for b, e in spans)
    last_launch = max(b for b, _ in spans)
    busy_before = sum(min(e, last_launch) - b for b, e in spans if b < last_launch)
    size = max(1, trials // 10)
    fill = min(slots, max(0, trials - 2 * size))  # the initial fill finishes nothing
    gaps = [b - a for a, b in zip(launches[fill:], launches[fill + 1 :])]
    launched = launch_cpu[fill:trials]  # the call after the last trial only closes the study

    def mean_of(values: Sequence[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    return SimRun(
        slots=slots,
        trials=trials,
        mean_duration_s=mean,
        coupled=coupled,
        wall_s=timing.wall_s,
        cpu_s=timing.cpu_s,
        makespan_s=makespan,
        busy_s=busy,
        last_launch_s=last_launch,
        busy_until_last_launch_s=busy_before,
        first_window_s=mean_of(gaps[:size]),
        last_window_s=mean_of(gaps[-size:]),
        launch_first_s=mean_of(launched[:size]),
        launch_last_s=mean_of(launched[-size:]),
        load1=load1,
    )


def sim_table(runs: Sequence[SimRun]) -> str:
    rows = [
        (
            f"{r.slots} slots, {r.trials} trials ({r.trials / r.slots:.0f} per slot), mean "
            f"{r.mean_duration_s:g} s" + (", coupled clock" if r.coupled else ""),
            f"{r.wall_s:.1f}",
            fmt_ms(r.per_trial_s),
            fmt_ms(r.cpu_per_trial_s),
            f"{fmt_ms(r.first_window_s)} -> {fmt_ms(r.last_window_s)}",
            f"{fmt_ms(r.launch_first_s)} -> {fmt_ms(r.launch_last_s)}",
            f"{r.makespan_s:,.0f}",
            f"{r.utilisation:.1%}",
            f"{r.steady_utilisation:.1%}",
            f"{r.mean_duration_s / r.per_trial_s:,.0f}",
        )
        for r in runs
    ]
    headers = (
        "simulation",
        "real s",
        "controller ms/trial (wall)",
        "CPU ms/trial",
        "CPU ms/trial, first -> last tenth",
        "_launch CPU ms, first -> last tenth",
        "makespan, simulated s",
        "utilisation",
        "until last launch",
        "max workers = mean / ms per trial",
    )
    return format_table(headers, rows)


def sim_verdicts(runs: Sequence[SimRun]) -> tuple[list[str], bool]:
    lines, passed = [], True
    for r in runs:
        if r.coupled:
            continue
        ok = r.utilisation >= UTILISATION_TARGET
        passed = passed and ok
        lines.append(
            f"{'PASS' if ok else 'FAIL'}: {r.slots} slots, {r.trials} trials: utilisation "
            f"{r.utilisation:.1%} (target >= {UTILISATION_TARGET:.0%}); "
            f"{r.steady_utilisation:.1%} until the last launch"
        )
    return lines, passed


def growth_notes(runs: Sequence[SimRun]) -> list[str]:
    lines = []
    for r in runs:
        if r.coupled:
            continue
        lines.append(
            f"- {r.slots} slots, {r.trials} trials: CPU per trial {fmt_ms(r.first_window_s)} -> "
            f"{fmt_ms(r.last_window_s)} ms from the first to the last tenth "
            f"({fmt_ratio(r.last_window_s / r.first_window_s)}); one Controller._launch call "
            f"{fmt_ms(r.launch_first_s)} -> {fmt_ms(r.launch_last_s)} ms "
            f"({fmt_ratio(r.launch_last_s / r.launch_first_s)})"
        )
    return lines


def coupled_note(runs: Sequence[SimRun]) -> list[str]:
    lines = []
    for r in runs:
        if not r.coupled:
            continue
        # Each trial end holds its slot idle for at least one controller turn (c); when
        # slots x c exceeds the mean duration D the controller is the bottleneck and
        # utilisation falls to about D / (slots x c).
        c = r.per_trial_s
        predicted = min(
            r.mean_duration_s / (r.mean_duration_s + c), r.mean_duration_s / (r.slots * c)
        )
        lines.append(
            f"- coupled, {r.slots} slots, mean {r.mean_duration_s:g} s: controller {fmt_ms(c)} ms "
            f"per trial -> max workers ~ {r.mean_duration_s / c:,.0f}; predicted utilisation "
            f"~ min(D/(D+c), D/(slots*c)) = {predicted:.0%}; measured {r.steady_utilisation:.1%} "
            f"until the last launch ({r.utilisation:.1%} with the ramp-down)"
        )
    return lines


# =========================================================================== main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="parallel.py",
        description="2 jobs against 1 on real processes; the controller with simulated workers.",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run of both parts")
    parser.add_argument("--trials", type=int, help="real trials per run (default 16; 4 --quick)")
    parser.add_argument(
        "--sleep", type=float, help="seconds per real trial (default 0.5; 0.2 --quick)"
    )
    parser.add_argument("--repeat", type=int, help="runs per real configuration (default 3)")
    parser.add_argument(
        "--sim",
        help="simulations as SLOTSxTRIALS,... (default 64x2000,256x5000; 16x200,64x300 --quick)",
    )
    parser.add_argument(
        "--coupled-mean",
        type=float,
        help="mean trial seconds of the coupled-clock runs (default 0.25; 0 skips them)",
    )
    parser.add_argument(
        "--coupled-trials",
        type=int,
        default=2000,
        help="at most this many trials in a coupled-clock run (default 2000)",
    )
    parser.add_argument("--skip-real", action="store_true", help="skip part (a)")
    parser.add_argument("--skip-sim", action="store_true", help="skip part (b)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", help="where the temporary directories go (default: system temp)")
    parser.add_argument("--json", metavar="PATH", help="also write every run's numbers here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    args.trials = args.trials or (4 if args.quick else 16)
    args.sleep = args.sleep if args.sleep is not None else (0.2 if args.quick else 0.5)
    args.repeat = args.repeat or (1 if args.quick else 3)
    sim = args.sim or ("16x200,64x300" if args.quick else "64x2000,256x5000")
    try:
        args.sim = [tuple(int(v) for v in item.lower().split("x")) for item in sim.split(",")]
    except ValueError:
        parser.error(f"--sim must look like 64x2000,256x5000, got {sim!r}")
    if any(len(item) != 2 or min(item) < 1 for item in args.sim):
        parser.error(f"--sim must look like 64x2000,256x5000, got {sim!r}")
    if args.coupled_mean is None:
        args.coupled_mean = 0.25
    if args.trials < 2 or args.repeat < 1:
        parser.error("--trials must be at least 2 and --repeat at least 1")
    return args


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = " ".join(["python", "benchmarks/parallel.py", *(argv or sys.argv[1:])])
    parent = args.dir or tempfile.gettempdir()
    info = machine_info(("optuna", "hpsweep"))
    info["temporary directories"] = f"{parent} ({filesystem_of(parent)})"
    print("# Parallel: 2 jobs against 1, and simulated workers\n")
    print(f"command: {command}")
    print(format_kv(info))
    print(f"at start: {load_note()}\n")
    passed = True
    payload: dict[str, Any] = {"command": command, "machine": info}

    if not args.skip_real:
        cache = Path(tempfile.mkdtemp(prefix="hpsweep-parallel-pycache-", dir=args.dir))
        atexit.register(shutil.rmtree, cache, True)  # also when a run fails
        base = subprocess_env(cache)
        for setup in SETUPS:  # untimed: fills the bytecode cache and the page cache
            run_real(setup, 2, 2, 0.0, -1, base, args.dir)
        runs: list[RealRun] = []
        for rep in range(args.repeat):
            order = [(s, j) for s in SETUPS for j in (1, 2)]
            shift = (rep * 3) % len(order)
            for setup, jobs in order[shift:] + order[:shift]:
                run = run_real(setup, args.trials, jobs, args.sleep, rep, base, args.dir)
                runs.append(run)
                log(
                    f"[{rep + 1}/{args.repeat}] {setup.label}, -j {jobs}: {run.wall_s:.2f} s "
                    f"(sweep {run.sweep_s:.2f} s, load {run.load1:.2f})"
                )
        table, verdicts, ok = real_table(runs, args.trials, args.sleep)
        passed = passed and ok
        ideal = args.trials * args.sleep
        print(
            f"## (a) 2 jobs against 1: {args.trials} trials of {args.sleep:g} s "
            f"(median of {args.repeat})\n"
        )
        print(table)
        print()
        print("\n".join(verdicts))
        loads = [r.load1 for r in runs]
        print(
            f"\nsleep alone: {ideal:.1f} s in 1 job, {ideal / 2:.1f} s in 2. Sweep phase = first "
            "trial start to last trial end (the trials' own time stamps; for Python objectives "
            "the call, after the worker process started), so it leaves out the one-time "
            "start-up, which 2 jobs cannot shorten: for hpsweep that is one controller start, for "
            "Optuna each worker process pays its own, in parallel. Every command ran with a "
            "private PYTHONPYCACHEPREFIX (no PYTHONDONTWRITEBYTECODE). 1-min load during the "
            f"runs: {min(loads):.2f}-{max(loads):.2f} (median {median(loads):.2f})\n"
        )
        payload["real"] = [asdict(r) for r in runs]

    if not args.skip_sim:
        sims: list[SimRun] = []
        plan = [(slots, trials, MEAN_DURATION_S, False) for slots, trials in args.sim]
        if args.coupled_mean > 0:
            plan += [
                (slots, min(trials, args.coupled_trials), args.coupled_mean, True)
                for slots, trials in args.sim
            ]
        for slots, trials, mean, coupled in plan:
            sim = simulate(slots, trials, mean, coupled=coupled, seed=args.seed, parent=args.dir)
            sims.append(sim)
            log(
                f"simulated {slots} slots x {trials} trials (mean {mean:g} s"
                f"{', coupled' if coupled else ''}): {sim.wall_s:.1f} s real, "
                f"utilisation {sim.utilisation:.1%}"
            )
        lines, ok = sim_verdicts(sims)
        passed = passed and ok
        print(
            "## (b) Simulated workers: the controller on FakeExecutor and a real journal store\n"
        )
        print(sim_table(sims))
        print()
        print("\n".join(lines))
        print("\nGrowth with the study's size:")
        print("\n".join(growth_notes(sims)))
        print(
            f"\nTrial durations: lognormal, sigma {SIGMA}, mean as given; random sampler, 2 float "
            "params; the controller writes every trial to a real journal file (fsync when a trial "
            "finishes). Controller ms/trial = real wall (CPU) seconds of Controller.run() / "
            "trials. Utilisation = busy time / (slots x simulated makespan); 'until last launch' "
            "counts only the time while trials were left to start, so the difference is the "
            "ramp-down of a finite budget (the last trials finishing while the other slots have "
            "nothing left to run), which any scheduler has and which shrinks with more trials per "
            "slot. The first/last tenth columns leave out the initial fill of the slots; "
            "_launch = one Controller._launch call (budget count under the store's mutex, ask, "
            "sampling, start), whose cost must not grow with the study.\n"
            "With the plain fake clock the controller's own time does not advance simulated "
            "time, so these utilisations are those of a controller that costs nothing. A real "
            "one spends c seconds per trial (the ms/trial column): every trial end leaves its "
            "slot idle for at least c, and once slots x c approaches the mean trial duration D "
            "trial ends queue up behind the controller, which then starts at most 1/c trials a "
            "second, so utilisation falls to about D / (slots x c). Max workers sustainable = "
            "D / c (last column, for D = the run's mean duration); at 90% utilisation about "
            "0.9 x D / c. The coupled-clock runs below advance the simulated clock by the "
            "controller's real time too, with short trials, to show that limit:"
        )
        notes = coupled_note(sims)
        print("\n".join(notes) if notes else "- (no coupled runs: --coupled-mean 0)")
        print()
        payload["sim"] = [asdict(s) for s in sims]

    print(f"at the end: {load_note()}")
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
