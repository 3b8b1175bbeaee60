"""Driver overhead per trial: hpsweep on its durable default store against Optuna's own loop.

Every configuration runs the same trivial objective ``x**2 + y**2`` (x, y floats in [-10, 10])
for the same number of sequential trials with the same seeded sampler (random, then TPE), in this
one process, interleaved and repeated so that machine noise hits all of them alike:

* Optuna ``study.optimize`` on in-memory, ``JournalStorage(JournalFileBackend(path))`` and SQLite
  storage;
* ``hpsweep.run(...)`` on its default store (``hpsweep.journal`` in the working directory, here a
  fresh temporary directory), with quiet progress.

Each timing is end to end: storage and study creation, every trial, and for hpsweep the result it
returns. Imports are warmed by an untimed short run of every configuration first; start-up costs
(``import hpsweep``, ``hpsweep --help``) are measured apart, in subprocesses.

    .venv/bin/python benchmarks/overhead.py              # 1000 trials, medians of 3 repeats
    .venv/bin/python benchmarks/overhead.py --quick      # 200 trials, 1 repeat (smoke run)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__:
    from ._common import Timing
    from ._common import filesystem_of
    from ._common import fmt_ms
    from ._common import fmt_ratio
    from ._common import format_kv
    from ._common import format_table
    from ._common import fsync_latency
    from ._common import import_time_us
    from ._common import load_note
    from ._common import machine_info
    from ._common import median
    from ._common import python_output
    from ._common import run_wall
    from ._common import settle
    from ._common import timed
    from ._common import which_script
else:  # run as a script: benchmarks/ is on sys.path
    from _common import Timing
    from _common import filesystem_of
    from _common import fmt_ms
    from _common import fmt_ratio
    from _common import format_kv
    from _common import format_table
    from _common import fsync_latency
    from _common import import_time_us
    from _common import load_note
    from _common import machine_info
    from _common import median
    from _common import python_output
    from _common import run_wall
    from _common import settle
    from _common import timed
    from _common import which_script

LOW, HIGH = -10.0, 10.0
SAMPLERS = ("random", "tpe")
STORES = ("memory", "journal", "sqlite", "default")
"""Optuna's three storages, then hpsweep's default store."""
LABELS = {
    "memory": "Optuna, in-memory",
    "journal": "Optuna, JournalFile",
    "sqlite": "Optuna, SQLite",
    "default": "hpsweep, default store",
}
SQLITE_TARGET = 0.2
"""hpsweep on its default store must take at most this fraction of Optuna+SQLite's time."""
JOURNAL_TARGET = 1.0
"""... and no more than Optuna+JournalFile's."""
WARMUP_TRIALS = 20
HEAVY_MODULES = ("optuna", "sqlalchemy", "numpy", "scipy", "yaml")
CHECK_IMPORT = (
    "import sys, hpsweep\n"
    "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & set(%r))))"
)
CHECK_HELP = (
    "import contextlib, io, sys\n"
    "from hpsweep.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try:\n"
    "        main(['--help'])\n"
    "    except SystemExit:\n"
    "        pass\n"
    "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & set(%r))))"
)


@dataclass(frozen=True)
class Config:
    store: str
    sampler: str

    @property
    def tool(self) -> str:
        return "hpsweep" if self.store == "default" else "optuna"

    @property
    def label(self) -> str:
        return f"{LABELS[self.store]}, {self.sampler}"


@dataclass
class RunResult:
    """One timed run of one configuration."""

    store: str
    sampler: str
    trials: int
    wall_s: float
    cpu_s: float
    setup_s: float
    """From the start of the timing to the first objective call: storage + study creation."""
    end_s: float
    """From the last objective call to the end of the timing: last tell, shutdown, result."""
    first_window_s: float
    """Mean seconds per trial over the first window of trials (see ``window``)."""
    last_window_s: float
    points_digest: str
    """A digest of every (x, y) the objective received, to show the samplers agree."""
    load1: float
    fsync_s: float = float("nan")
    """Median fsync latency in the run's directory just before it (see ``fsync_latency``)."""

    @property
    def per_trial_s(self) -> float:
        return self.wall_s / self.trials

    @property
    def cpu_per_trial_s(self) -> float:
        return self.cpu_s / self.trials


def window(trials: int) -> int:
    """Trials per growth window: 100 (0-100 vs N-100..N), less for short runs."""
    return max(1, min(100, trials // 2))


def window_costs(stamps: Sequence[float], size: int) -> tuple[float, float]:
    """Mean gap between consecutive objective calls over the first and the last ``size`` trials.
    The gap before call ``i`` is trial ``i-1``'s tell plus trial ``i``'s ask: one trial's cost."""
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    if not gaps:
        return float("nan"), float("nan")
    first = gaps[: max(1, size - 1)]
    last = gaps[-size:]
    return sum(first) / len(first), sum(last) / len(last)


def digest(points: Sequence[tuple[float, float]]) -> str:
    return hashlib.sha1(repr(list(points)).encode()).hexdigest()[:12]


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_optuna(config: Config, trials: int, seed: int, workdir: Path) -> RunResult:
    import optuna
    from optuna.samplers import RandomSampler
    from optuna.samplers import TPESampler
    from optuna.storages import JournalStorage
    from optuna.storages import RDBStorage
    from optuna.storages.journal import JournalFileBackend

    stamps: list[float] = []
    points: list[tuple[float, float]] = []
    clock = time.perf_counter

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", LOW, HIGH)
        y = trial.suggest_float("y", LOW, HIGH)
        stamps.append(clock())
        points.append((x, y))
        return x**2 + y**2

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # what hpsweep's controller sets
    storage: Any = None
    load1 = os.getloadavg()[0]
    with timed() as timing:
        if config.store == "journal":
            storage = JournalStorage(JournalFileBackend(str(workdir / "optuna.journal")))
        elif config.store == "sqlite":
            storage = RDBStorage(f"sqlite:///{workdir / 'optuna.db'}")
        sampler = RandomSampler(seed=seed) if config.sampler == "random" else TPESampler(seed=seed)
        study = optuna.create_study(storage=storage, sampler=sampler, study_name="bench")
        study.optimize(objective, n_trials=trials)
    if len(study.trials) != trials:
        raise RuntimeError(f"{config.label}: the study holds {len(study.trials)} trials")
    if isinstance(storage, RDBStorage):
        storage.engine.dispose()
    return _result(config, trials, timing, stamps, points, load1)


def run_hpsweep(config: Config, trials: int, seed: int, workdir: Path) -> RunResult:
    import hpsweep
    from hpsweep._progress import PlainProgress

    stamps: list[float] = []
    points: list[tuple[float, float]] = []
    clock = time.perf_counter

    def objective(params: dict[str, Any]) -> float:
        x, y = params["x"], params["y"]
        stamps.append(clock())
        points.append((x, y))
        return float(x**2 + y**2)

    load1 = os.getloadavg()[0]
    # storage=None: the default store, hpsweep.journal in the working directory.
    with working_directory(workdir), timed() as timing:
        space = hpsweep.SearchSpace({"x": hpsweep.Float(LOW, HIGH), "y": hpsweep.Float(LOW, HIGH)})
        result = hpsweep.run(
            objective,
            space=space,
            n_trials=trials,
            study="bench",
            sampler=config.sampler,
            seed=seed,
            progress=PlainProgress(quiet=True),
        )
    if result.exit_code != 0 or len(result.trials) != trials:
        raise RuntimeError(f"hpsweep ran {len(result.trials)} trials, exit {result.exit_code}")
    if not (workdir / "hpsweep.journal").is_file():
        raise RuntimeError("hpsweep did not write its default store in the working directory")
    return _result(config, trials, timing, stamps, points, load1)


def _result(
    config: Config,
    trials: int,
    timing: Timing,
    stamps: list[float],
    points: list[tuple[float, float]],
    load1: float,
) -> RunResult:
    if len(stamps) != trials:
        raise RuntimeError(f"{config.label}: the objective ran {len(stamps)} times, not {trials}")
    first, last = window_costs(stamps, window(trials))
    return RunResult(
        store=config.store,
        sampler=config.sampler,
        trials=trials,
        wall_s=timing.wall_s,
        cpu_s=timing.cpu_s,
        setup_s=stamps[0] - timing.start,
        end_s=timing.start + timing.wall_s - stamps[-1],
        first_window_s=first,
        last_window_s=last,
        points_digest=digest(points),
        load1=load1,
    )


def run_one(config: Config, trials: int, seed: int, parent: str | None) -> RunResult:
    """One run in a fresh temporary directory, removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="hpsweep-overhead-", dir=parent))
    try:
        probe = fsync_latency(workdir)
        run = run_hpsweep if config.tool == "hpsweep" else run_optuna
        result = run(config, trials, seed, workdir)
        result.fsync_s = probe
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        settle()


# --------------------------------------------------------------------------- start-up


@dataclass
class Startup:
    python_s: float
    import_hpsweep_s: float
    importtime_hpsweep_us: float
    importtime_total_us: float
    import_modules: str
    help_s: float
    help_modules: str
    import_optuna_s: float
    study_side_s: float


def measure_startup(repeat: int) -> Startup:
    """Subprocess start-up costs (medians of ``repeat``), and which heavy modules load."""
    python = sys.executable
    script = which_script("hpsweep")
    if script is None:
        raise RuntimeError("no hpsweep console script beside this interpreter or on PATH")
    cumulative, total = import_time_us("hpsweep", repeat=repeat)
    heavy = list(HEAVY_MODULES)
    return Startup(
        python_s=median(run_wall([python, "-c", "pass"], repeat=repeat)),
        import_hpsweep_s=median(run_wall([python, "-c", "import hpsweep"], repeat=repeat)),
        importtime_hpsweep_us=cumulative,
        importtime_total_us=total,
        import_modules=python_output(CHECK_IMPORT % (heavy,)).strip(),
        help_s=median(run_wall([script, "--help"], repeat=repeat)),
        help_modules=python_output(CHECK_HELP % (heavy,)).strip(),
        import_optuna_s=median(run_wall([python, "-c", "import optuna"], repeat=repeat)),
        study_side_s=median(
            run_wall(
                [python, "-c", "import hpsweep; hpsweep.run; import hpsweep._session"],
                repeat=repeat,
            )
        ),
    )


def startup_table(startup: Startup) -> str:
    def loaded(modules: str) -> str:
        optuna = "yes" if "optuna" in modules.split(",") else "no"
        return f"optuna imported: {optuna}; heavy modules loaded: {modules or 'none'}"

    rows = [
        ("`python -c pass` (interpreter alone)", fmt_ms(startup.python_s, 1), ""),
        (
            '`python -c "import hpsweep"`',
            fmt_ms(startup.import_hpsweep_s, 1),
            loaded(startup.import_modules),
        ),
        (
            "`-X importtime`: hpsweep cumulative",
            f"{startup.importtime_hpsweep_us / 1000:.1f}",
            'the `hpsweep` line of `python -X importtime -c "import hpsweep"`',
        ),
        (
            "`-X importtime`: all imports (sum of self)",
            f"{startup.importtime_total_us / 1000:.1f}",
            "interpreter start-up imports included",
        ),
        ("`hpsweep --help`", fmt_ms(startup.help_s, 1), loaded(startup.help_modules)),
        ('`python -c "import optuna"` (reference)', fmt_ms(startup.import_optuna_s, 1), ""),
        (
            "`import hpsweep` + study side (`hpsweep.run`)",
            fmt_ms(startup.study_side_s, 1),
            "what a sweep pays once, before its first trial",
        ),
    ]
    return format_table(("start-up (wall, median)", "ms", "notes"), rows, align="lrl")


# --------------------------------------------------------------------------- report


def by_config(results: Sequence[RunResult]) -> dict[Config, list[RunResult]]:
    grouped: dict[Config, list[RunResult]] = {}
    for result in results:
        grouped.setdefault(Config(result.store, result.sampler), []).append(result)
    return grouped


def trial_table(grouped: dict[Config, list[RunResult]], sampler: str) -> str:
    reference = grouped.get(Config("memory", sampler), [])
    reference_digest = reference[0].points_digest if reference else ""
    rows = []
    for store in STORES:
        runs = grouped.get(Config(store, sampler), [])
        if not runs:
            continue
        walls = [r.per_trial_s for r in runs]
        same = all(r.points_digest == reference_digest for r in runs)
        rows.append(
            (
                Config(store, sampler).label,
                fmt_ms(median(walls)),
                f"{fmt_ms(min(walls))}-{fmt_ms(max(walls))}",
                fmt_ms(median([r.cpu_per_trial_s for r in runs])),
                fmt_ms(median([r.setup_s for r in runs]), 1),
                fmt_ms(median([r.end_s for r in runs]), 1),
                fmt_ms(median([r.fsync_s for r in runs])),
                "yes" if same else "NO",
            )
        )
    headers = (
        "configuration",
        "ms/trial",
        "range",
        "CPU ms/trial",
        "setup ms",
        "end ms",
        "fsync ms",
        "same trials",
    )
    return format_table(headers, rows)


def paired_ratios(
    grouped: dict[Config, list[RunResult]], sampler: str, against: str, *, cpu: bool = False
) -> list[float]:
    """hpsweep / Optuna per repeat (the runs of one repeat ran close together in time)."""
    ours = grouped.get(Config("default", sampler), [])
    theirs = grouped.get(Config(against, sampler), [])
    if cpu:
        return [a.cpu_per_trial_s / b.cpu_per_trial_s for a, b in zip(ours, theirs)]
    return [a.per_trial_s / b.per_trial_s for a, b in zip(ours, theirs)]


def _ratio_cell(ratio: float, paired: Sequence[float]) -> str:
    if len(paired) < 2:
        return fmt_ratio(ratio)
    return f"{fmt_ratio(ratio)} ({min(paired):.2f}/{median(paired):.2f}/{max(paired):.2f})"


def _cost(grouped: dict[Config, list[RunResult]], config: Config, *, cpu: bool) -> float:
    runs = grouped.get(config, [])
    return median([r.cpu_per_trial_s if cpu else r.per_trial_s for r in runs])


def ratio_table(
    grouped: dict[Config, list[RunResult]], *, cpu: bool = False
) -> tuple[str, list[str], bool]:
    """hpsweep / Optuna per storage, wall (the targets) or CPU time; with the verdicts."""
    rows = []
    verdicts: list[str] = []
    passed = True
    for sampler in SAMPLERS:
        ours = _cost(grouped, Config("default", sampler), cpu=cpu)
        cells: list[str] = [sampler, fmt_ms(ours)]
        for against in ("journal", "sqlite", "memory"):
            theirs = _cost(grouped, Config(against, sampler), cpu=cpu)
            ratio = ours / theirs
            paired = paired_ratios(grouped, sampler, against, cpu=cpu)
            cells += [fmt_ms(theirs), _ratio_cell(ratio, paired)]
            limit = {"journal": JOURNAL_TARGET, "sqlite": SQLITE_TARGET}.get(against)
            if limit is None or cpu:
                continue
            ok = ratio <= limit
            passed = passed and ok
            what = "no worse than" if against == "journal" else "at most 1/5 of"
            line = (
                f"{'PASS' if ok else 'FAIL'}: {sampler}: hpsweep default store {fmt_ms(ours)} "
                f"ms/trial is {what} {LABELS[against]} {fmt_ms(theirs)} ms/trial "
                f"(ratio {ratio:.3f}, limit {limit:.2f})"
            )
            if len(paired) > 1 and min(paired) <= limit < max(paired):
                line += (
                    f"; noisy: the paired per-repeat ratios {min(paired):.2f}-{max(paired):.2f} "
                    "fall on both sides of the limit"
                )
            verdicts.append(line)
        rows.append(cells)
    unit = "CPU ms" if cpu else "ms"
    headers = (
        "sampler",
        f"hpsweep {unit}",
        f"Optuna JournalFile {unit}",
        "hpsweep / JournalFile",
        f"Optuna SQLite {unit}",
        "hpsweep / SQLite",
        f"Optuna in-memory {unit}",
        "hpsweep / in-memory",
    )
    return format_table(headers, rows), verdicts, passed


def growth_table(grouped: dict[Config, list[RunResult]], trials: int) -> str:
    size = window(trials)
    first_name = f"trials 0-{size}"
    last_name = f"trials {trials - size}-{trials}"
    rows = []
    for sampler in SAMPLERS:
        for store in STORES:
            runs = grouped.get(Config(store, sampler), [])
            if not runs:
                continue
            first = median([r.first_window_s for r in runs])
            last = median([r.last_window_s for r in runs])
            rows.append(
                (
                    Config(store, sampler).label,
                    fmt_ms(first),
                    fmt_ms(last),
                    fmt_ratio(last / first),
                )
            )
    headers = ("configuration", f"ms/trial, {first_name}", f"ms/trial, {last_name}", "growth")
    return format_table(headers, rows)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="overhead.py",
        description="Per-trial driver overhead: hpsweep's default store vs Optuna's own loop.",
    )
    parser.add_argument("--trials", type=int, help="trials per run (default 1000; 200 --quick)")
    parser.add_argument("--repeat", type=int, help="runs per configuration (default 3; 1 --quick)")
    parser.add_argument("--quick", action="store_true", help="200 trials, 1 repeat: a smoke run")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed for every run")
    parser.add_argument("--dir", help="where the temporary stores go (default: the system temp)")
    parser.add_argument("--json", metavar="PATH", help="also write every run's numbers here")
    parser.add_argument(
        "--skip-startup", action="store_true", help="skip the subprocess start-up measurements"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target fails"
    )
    args = parser.parse_args(argv)
    args.trials = args.trials or (200 if args.quick else 1000)
    args.repeat = args.repeat or (1 if args.quick else 3)
    if args.trials < 2 or args.repeat < 1:
        parser.error("--trials must be at least 2 and --repeat at least 1")
    return args


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings, once per run
    parent = args.dir or tempfile.gettempdir()
    command = " ".join(["python", "benchmarks/overhead.py", *(argv or sys.argv[1:])])
    info = machine_info(("optuna", "SQLAlchemy", "numpy", "hpsweep"))
    info["store directory"] = f"{parent} ({filesystem_of(parent)})"
    print(f"# Overhead: {args.trials} trivial trials, medians of {args.repeat} run(s)\n")
    print(f"command: {command}")
    print(format_kv(info))
    print(f"at start: {load_note()}\n")

    startup = None
    if not args.skip_startup:
        log("measuring start-up in subprocesses ...")
        startup = measure_startup(repeat=3 if args.quick else 7)
        print(startup_table(startup))
        print()

    # Warm every import and code path once (lazy imports: SQLAlchemy, TPE, hpsweep's study side).
    start = time.perf_counter()
    import optuna  # noqa: F401

    optuna_import = time.perf_counter() - start
    start = time.perf_counter()
    import hpsweep._api  # noqa: F401
    import hpsweep._session  # noqa: F401

    hpsweep_import = time.perf_counter() - start
    configs = [Config(store, sampler) for sampler in SAMPLERS for store in STORES]
    warm = []
    for config in configs:
        started = time.perf_counter()
        run_one(config, WARMUP_TRIALS, args.seed, parent)
        warm.append(f"{config.label} {time.perf_counter() - started:.2f} s")
    print(
        f"in this process: import optuna {optuna_import * 1000:.0f} ms, then hpsweep's study side "
        f"{hpsweep_import * 1000:.0f} ms; untimed warm-up runs of {WARMUP_TRIALS} trials: "
        + ", ".join(warm)
        + "\n"
    )

    results: list[RunResult] = []
    loads: list[float] = []
    for rep in range(args.repeat):
        shift = rep % len(configs)  # rotate the order so no configuration always goes first
        for config in configs[shift:] + configs[:shift]:
            result = run_one(config, args.trials, args.seed, parent)
            results.append(result)
            loads.append(result.load1)
            log(
                f"[{rep + 1}/{args.repeat}] {config.label}: {fmt_ms(result.per_trial_s)} ms/trial "
                f"(load {result.load1:.2f}, fsync {fmt_ms(result.fsync_s)} ms)"
            )

    grouped = by_config(results)
    for sampler in SAMPLERS:
        print(f"## {sampler} sampler, {args.trials} trials (median of {args.repeat})\n")
        print(trial_table(grouped, sampler))
        print()
    table, verdicts, passed = ratio_table(grouped)
    paired = "; paired per-repeat min/median/max in parentheses" if args.repeat > 1 else ""
    print(f"## Ratios, wall time (hpsweep default store / Optuna{paired})\n")
    print(table)
    print()
    print("\n".join(verdicts))
    print()
    print("## Ratios, CPU time of this process (blind to fsync waits; not what the targets use)\n")
    print(ratio_table(grouped, cpu=True)[0])
    print()
    print(f"## Per-trial cost growth (mean over a {window(args.trials)}-trial window)\n")
    print(growth_table(grouped, args.trials))
    print()
    fsyncs = [r.fsync_s for r in results]
    print(
        f"1-min load at the start of the timed runs: {min(loads):.2f}-{max(loads):.2f} "
        f"(median {median(loads):.2f}); fsync latency before them: {fmt_ms(min(fsyncs))}-"
        f"{fmt_ms(max(fsyncs))} ms (median {fmt_ms(median(fsyncs))}); at the end: {load_note()}"
    )
    print(
        "setup = from the start of the timing to the first objective call (storage + study "
        "creation + first ask); end = from the last objective call to the end (hpsweep: its "
        "shutdown and the StudyResult it loads); fsync = median latency of a small append + "
        "fsync in the run's directory just before it; same trials = the objective saw exactly "
        "the (x, y) sequence of Optuna in-memory with the same sampler and seed."
    )
    if args.json:
        payload = {
            "command": command,
            "machine": info,
            "startup": asdict(startup) if startup else None,
            "runs": [asdict(r) for r in results],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
