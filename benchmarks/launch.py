"""Launching a script as a trial: hpsweep command trials against a bare loop, Optuna and Oríon.

Every configuration runs the same tiny script (fixtures/train.py: reads ``--x``, prints
``hpsweep: {"result": ...}``) sequentially, 20 and then 60 times, side by side in this one run,
each in a fresh temporary directory holding a copy of the script:

* **bare**: ``python train.py --x V`` in a ``subprocess.run`` loop in this process, stdout read
  and parsed (the baseline: what any launcher has to pay at least);
* **hpsweep**: ``hpsweep run -n N -p 'x=float(-5,5)' --sampler random -- python train.py --x {x}``
  on its default store (``./hpsweep.journal``), timed as a whole command, start-up included; also
  with the default sampler (``auto``) as an extra row;
* **Optuna ask/tell**: fixtures/optuna_asktell.py, ``study.ask()`` + ``subprocess.run`` +
  ``study.tell()``, in-memory and on SQLite, random sampler, a whole command too;
* **Oríon**: ``orion hunt -n bench --exp-max-trials N python train.py --x~'uniform(-5,5)'``
  (random search, PickledDB in the temporary directory), from Oríon 0.2.7 in its own virtual
  environment (benchmarks/.orion-venv, created on first use; skipped with a note if that fails).

From the totals at the two sizes it fits ``total = start-up + n * per_trial`` and prints both
beyond the bare loop's, plus the median gap between consecutive trial starts (from time stamps the
script appends to ``$BENCH_STAMPS``) as a cross-check that is less sensitive to noise.

    .venv/bin/python benchmarks/launch.py               # 20 and 60 trials, medians of 3
    .venv/bin/python benchmarks/launch.py --quick       # 5 and 10 trials, 1 repeat, no Oríon
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

if __package__:
    from ._common import fmt_ms
    from ._common import fmt_ratio
    from ._common import format_kv
    from ._common import format_table
    from ._common import load_note
    from ._common import machine_info
    from ._common import median
    from ._common import settle
    from ._common import which_script
else:  # run as a script: benchmarks/ is on sys.path
    from _common import fmt_ms
    from _common import fmt_ratio
    from _common import format_kv
    from _common import format_table
    from _common import load_note
    from _common import machine_info
    from _common import median
    from _common import settle
    from _common import which_script

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
TRAIN = FIXTURES / "train.py"
ASKTELL = FIXTURES / "optuna_asktell.py"
DEFAULT_ORION_VENV = HERE / ".orion-venv"
ORION_REQUIREMENTS = ("orion==0.2.7", "setuptools<81", "typing_extensions")
PER_TRIAL_TARGET_S = 0.010
"""hpsweep's cost per trial beyond the bare loop must stay at or below this..."""
ONCE_TARGET_S = 0.4
"""... and its one-time start-up beyond the bare loop at or below this."""
RUN_TIMEOUT_S = 900.0

MARKER = "hpsweep:"


@dataclass(frozen=True)
class Launcher:
    key: str
    label: str
    command: Callable[[Path, int, str], list[str]]
    """argv for ``n`` trials, run in the working directory; empty for the in-process bare loop."""
    check: Callable[[str, int], bool]
    """Whether the command's output (stdout and stderr) shows that ``n`` trials completed."""
    env: Callable[[Path], dict[str, str]] = lambda workdir: {}


@dataclass
class Run:
    """One timed run of one configuration at one size."""

    key: str
    trials: int
    repeat: int
    wall_s: float
    first_start_s: float
    """From the start of the timing to the first trial's script starting."""
    gap_s: float
    """Median gap between consecutive trial starts (one trial's full cycle)."""
    tail_s: float
    """From the last trial's script ending to the end of the timing."""
    load1: float
    stamps: int = 0
    cpu_s: float = 0.0
    """User + system CPU of the launcher and every trial it ran (for the bare loop: the trials
    and this process's own loop), which, unlike wall time, hardly depends on the load."""


@dataclass
class Summary:
    key: str
    label: str
    totals: dict[int, float] = field(default_factory=dict)
    per_trial_s: float = float("nan")
    startup_s: float = float("nan")
    per_trial_beyond_s: float = float("nan")
    startup_beyond_s: float = float("nan")
    gap_s: float = float("nan")
    gap_beyond_s: float = float("nan")
    first_start_s: float = float("nan")
    tail_s: float = float("nan")
    once_stamps_beyond_s: float = float("nan")
    """Before the first trial plus after the last, beyond the bare loop's (from time stamps)."""
    per_trial_beyond_range: tuple[float, float] = (float("nan"), float("nan"))
    cpu_totals: dict[int, float] = field(default_factory=dict)
    cpu_per_trial_beyond_s: float = float("nan")
    cpu_startup_beyond_s: float = float("nan")


# --------------------------------------------------------------------------- launchers


def _hpsweep_command(sampler: str | None) -> Callable[[Path, int, str], list[str]]:
    def command(workdir: Path, n: int, python: str) -> list[str]:
        script = which_script("hpsweep")
        if script is None:
            raise RuntimeError("no hpsweep console script beside this interpreter or on PATH")
        argv = [script, "run", "-n", str(n), "-p", "x=float(-5,5)"]
        if sampler:
            argv += ["--sampler", sampler]
        return [*argv, "--", python, "train.py", "--x", "{x}"]

    return command


def _hpsweep_check(stdout: str, n: int) -> bool:
    return f"{n} complete this run" in stdout


def _asktell_command(storage: str) -> Callable[[Path, int, str], list[str]]:
    def command(workdir: Path, n: int, python: str) -> list[str]:
        url = "memory" if storage == "memory" else f"sqlite:///{workdir / 'optuna.db'}"
        return [
            python,
            str(ASKTELL),
            "--storage",
            url,
            "-n",
            str(n),
            "--",
            python,
            "train.py",
            "--x",
            "{x}",
        ]

    return command


def _asktell_check(stdout: str, n: int) -> bool:
    return f"done {n} complete {n}" in stdout


def _orion_command(orion: str) -> Callable[[Path, int, str], list[str]]:
    def command(workdir: Path, n: int, python: str) -> list[str]:
        return [
            orion,
            "hunt",
            "-n",
            "bench",
            "--exp-max-trials",
            str(n),
            "--working-dir",
            str(workdir / "orion-work"),
            python,
            "train.py",
            "--x~uniform(-5,5)",
        ]

    return command


def _orion_env(workdir: Path) -> dict[str, str]:
    return {
        "ORION_DB_TYPE": "pickleddb",
        "ORION_DB_ADDRESS": str(workdir / "orion-db.pkl"),
        "PYTHONWARNINGS": "ignore",  # its optional 'profet' extras warn on every import
    }


def _any(stdout: str, n: int) -> bool:
    return True  # Oríon prints no count; the time stamps are checked instead


def _bare(workdir: Path, n: int, python: str) -> list[str]:
    return []


def _bare_check(stdout: str, n: int) -> bool:
    return True


def launchers(orion: str | None, *, default_sampler: bool) -> list[Launcher]:
    found = [
        Launcher("bare", "bare loop: `python train.py --x V`", _bare, _bare_check),
        Launcher(
            "hpsweep",
            "hpsweep run, random sampler",
            _hpsweep_command("random"),
            _hpsweep_check,
        ),
    ]
    if default_sampler:
        found.append(
            Launcher(
                "hpsweep-auto",
                "hpsweep run, default sampler (auto)",
                _hpsweep_command(None),
                _hpsweep_check,
            )
        )
    found += [
        Launcher(
            "optuna-memory",
            "Optuna ask/tell + subprocess, in-memory",
            _asktell_command("memory"),
            _asktell_check,
        ),
        Launcher(
            "optuna-sqlite",
            "Optuna ask/tell + subprocess, SQLite",
            _asktell_command("sqlite"),
            _asktell_check,
        ),
    ]
    if orion is not None:
        found.append(
            Launcher(
                "orion", "`orion hunt` (Oríon 0.2.7)", _orion_command(orion), _any, _orion_env
            )
        )
    return found


# --------------------------------------------------------------------------- Oríon's venv


def orion_executable(venv: Path, *, install: bool) -> tuple[str | None, str]:
    """``orion`` from ``venv`` (created when asked and missing), and a note on what happened."""
    orion = venv / "bin" / "orion"
    if not orion.exists():
        if not install:
            return None, f"Oríon skipped: no {orion} (run without --no-install to create it)"
        log(f"creating {venv} with {' '.join(ORION_REQUIREMENTS)} (once; takes a minute) ...")
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)],
                check=True,
                capture_output=True,
                text=True,
            )
            # Keep the environment out of git (Python 3.11's venv writes no .gitignore itself).
            (venv / ".gitignore").write_text("*\n")
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", *ORION_REQUIREMENTS],
                check=True,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT_S,
            )
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            last = detail.strip().splitlines()[-1] if detail.strip() else str(error)
            return None, f"Oríon skipped: could not install it into {venv}: {last}"
    try:
        done = subprocess.run(
            [str(orion), "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"Oríon skipped: {orion} --version failed: {error}"
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"Oríon skipped: {orion} --version failed: {tail}"
    return str(orion), f"Oríon: {done.stdout.strip()} from {venv}"


# --------------------------------------------------------------------------- running


def read_stamps(path: Path) -> list[tuple[float, float]]:
    if not path.exists():
        return []
    stamps = []
    for line in path.read_text().splitlines():
        began, _, ended = line.partition(" ")
        stamps.append((float(began), float(ended)))
    return sorted(stamps)


def bare_loop(workdir: Path, n: int, python: str, env: dict[str, str]) -> None:
    for index in range(n):
        x = -5.0 + 10.0 * (index + 0.5) / n
        done = subprocess.run(
            [python, "train.py", "--x", repr(x)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        line = [s for s in done.stdout.splitlines() if s.startswith(MARKER)][-1]
        json.loads(line[len(MARKER) :])["result"]


def subprocess_env(cache: Path) -> dict[str, str]:
    """This environment, with bytecode caches written to ``cache``: an installed package has its
    ``.pyc`` files, but this checkout is installed in editable mode and the environment may set
    PYTHONDONTWRITEBYTECODE, which would make every start compile hpsweep's sources again."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _cpu_seconds() -> float:
    """CPU of this process and of every child it has reaped (with the children they reaped)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_one(
    launcher: Launcher, n: int, repeat: int, python: str, parent: str | None, base: dict[str, str]
) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix=f"hpsweep-launch-{launcher.key}-", dir=parent))
    try:
        shutil.copy(TRAIN, workdir / "train.py")
        stamps = workdir / "stamps.txt"
        env = {**base, **launcher.env(workdir), "BENCH_STAMPS": str(stamps)}
        argv = launcher.command(workdir, n, python)
        load1 = os.getloadavg()[0]
        settle()
        cpu_before = _cpu_seconds()
        began = time.time()
        start = time.perf_counter()
        if argv:
            done = subprocess.run(
                argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
            )
            wall = time.perf_counter() - start
            if done.returncode != 0 or not launcher.check(done.stdout + done.stderr, n):
                tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
                raise RuntimeError(f"{launcher.label}, {n} trials: exit {done.returncode}\n{tail}")
        else:
            bare_loop(workdir, n, python, env)
            wall = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_before
        ended = began + wall
        times = read_stamps(stamps)
        if len(times) != n:
            raise RuntimeError(f"{launcher.label}: {len(times)} trials ran, not {n}")
        starts = [b for b, _ in times]
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        return Run(
            key=launcher.key,
            trials=n,
            repeat=repeat,
            wall_s=wall,
            first_start_s=starts[0] - began,
            gap_s=median(gaps),
            tail_s=ended - times[-1][1],
            load1=load1,
            stamps=len(times),
            cpu_s=cpu,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- report


def fit(totals: dict[int, float]) -> tuple[float, float]:
    """``(start-up, per_trial)`` of ``total = start-up + n * per_trial`` through two sizes."""
    (n1, t1), (n2, t2) = sorted(totals.items())[:1] + sorted(totals.items())[-1:]
    per_trial = (t2 - t1) / (n2 - n1)
    return t1 - n1 * per_trial, per_trial


def summarize(
    runs: Sequence[Run], found: Sequence[Launcher], sizes: Sequence[int]
) -> list[Summary]:
    """Medians over repeats; 'beyond bare' is fitted per repeat on the paired differences (the
    runs of one repeat ran side by side), then the median is taken."""
    by: dict[tuple[str, int, int], Run] = {(r.key, r.trials, r.repeat): r for r in runs}
    repeats = sorted({r.repeat for r in runs})
    summaries = []
    for launcher in found:
        summary = Summary(launcher.key, launcher.label)
        mine = [r for r in runs if r.key == launcher.key]
        if not mine:
            continue
        for n in sizes:
            summary.totals[n] = median([r.wall_s for r in mine if r.trials == n])
            summary.cpu_totals[n] = median([r.cpu_s for r in mine if r.trials == n])
        summary.startup_s, summary.per_trial_s = fit(summary.totals)
        beyond_once, beyond_trial, cpu_once, cpu_trial = [], [], [], []
        for rep in repeats:
            try:
                pairs = {n: (by[(launcher.key, n, rep)], by[("bare", n, rep)]) for n in sizes}
            except KeyError:
                continue
            once, per = fit({n: a.wall_s - b.wall_s for n, (a, b) in pairs.items()})
            beyond_once.append(once)
            beyond_trial.append(per)
            once, per = fit({n: a.cpu_s - b.cpu_s for n, (a, b) in pairs.items()})
            cpu_once.append(once)
            cpu_trial.append(per)
        summary.startup_beyond_s = median(beyond_once)
        summary.per_trial_beyond_s = median(beyond_trial)
        if beyond_trial:
            summary.per_trial_beyond_range = (min(beyond_trial), max(beyond_trial))
        summary.cpu_startup_beyond_s = median(cpu_once)
        summary.cpu_per_trial_beyond_s = median(cpu_trial)
        largest = [r for r in mine if r.trials == max(sizes)]
        summary.gap_s = median([r.gap_s for r in largest])
        bare_gaps = [r.gap_s for r in runs if r.key == "bare" and r.trials == max(sizes)]
        summary.gap_beyond_s = summary.gap_s - median(bare_gaps)
        summary.first_start_s = median([r.first_start_s for r in largest])
        summary.tail_s = median([r.tail_s for r in largest])
        bare_once = median(
            [
                r.first_start_s + r.tail_s
                for r in runs
                if r.key == "bare" and r.trials == max(sizes)
            ]
        )
        summary.once_stamps_beyond_s = (
            median([r.first_start_s + r.tail_s for r in largest]) - bare_once
        )
        summaries.append(summary)
    return summaries


def fmt_s(seconds: float, digits: int = 2) -> str:
    return "-" if seconds != seconds else f"{seconds:.{digits}f}"


def totals_table(summaries: Sequence[Summary], sizes: Sequence[int]) -> str:
    bare = next((s for s in summaries if s.key == "bare"), None)
    rows = []
    for s in summaries:
        largest = s.totals[max(sizes)]
        ratio = largest / bare.totals[max(sizes)] if bare else float("nan")
        rows.append(
            (
                s.label,
                *(fmt_s(s.totals[n]) for n in sizes),
                fmt_ratio(ratio),
                fmt_ms(s.per_trial_s, 1),
                fmt_s(s.startup_s),
                "" if s.key == "bare" else _with_range(s),
                "" if s.key == "bare" else fmt_s(s.startup_beyond_s),
            )
        )
    headers = (
        "configuration",
        *(f"total s, {n} trials" for n in sizes),
        f"vs bare at {max(sizes)}",
        "fit: ms/trial",
        "fit: start-up s",
        "ms/trial beyond bare (repeats' range)",
        "start-up s beyond bare",
    )
    return format_table(headers, rows)


def _with_range(s: Summary) -> str:
    low, high = s.per_trial_beyond_range
    spread = "" if low != low or low == high else f" ({fmt_ms(low, 0)} to {fmt_ms(high, 0)})"
    return fmt_ms(s.per_trial_beyond_s, 1) + spread


def cpu_table(summaries: Sequence[Summary], sizes: Sequence[int]) -> str:
    rows = [
        (
            s.label,
            *(fmt_s(s.cpu_totals[n]) for n in sizes),
            "" if s.key == "bare" else fmt_ms(s.cpu_per_trial_beyond_s, 1),
            "" if s.key == "bare" else fmt_s(s.cpu_startup_beyond_s),
        )
        for s in summaries
    ]
    headers = (
        "configuration",
        *(f"CPU s, {n} trials" for n in sizes),
        "CPU ms/trial beyond bare",
        "CPU start-up s beyond bare",
    )
    return format_table(headers, rows)


def stamps_table(summaries: Sequence[Summary], n: int) -> str:
    rows = [
        (
            s.label,
            fmt_ms(s.first_start_s, 0),
            fmt_ms(s.gap_s, 1),
            "" if s.key == "bare" else fmt_ms(s.gap_beyond_s, 1),
            fmt_ms(s.tail_s, 0),
            "" if s.key == "bare" else fmt_s(s.once_stamps_beyond_s),
        )
        for s in summaries
    ]
    headers = (
        f"configuration ({n} trials)",
        "first trial starts after, ms",
        "median gap between trial starts, ms",
        "gap beyond bare, ms",
        "after the last trial, ms",
        "before + after, s beyond bare",
    )
    return format_table(headers, rows)


def verdicts(summaries: Sequence[Summary]) -> tuple[list[str], bool]:
    lines, passed = [], True
    for s in summaries:
        if not s.key.startswith("hpsweep"):
            continue
        scope = "" if s.key == "hpsweep" else " (default sampler; informational)"
        per_target = f"target <= {PER_TRIAL_TARGET_S * 1000:.0f} ms"
        once_target = f"target <= {ONCE_TARGET_S} s"
        checks = (
            (
                s.per_trial_beyond_s <= PER_TRIAL_TARGET_S,
                f"{fmt_ms(s.per_trial_beyond_s, 1)} ms per trial beyond bare, fitted on the "
                f"totals ({per_target}; CPU {fmt_ms(s.cpu_per_trial_beyond_s, 1)} ms)",
            ),
            (
                s.gap_beyond_s <= PER_TRIAL_TARGET_S,
                f"{fmt_ms(s.gap_beyond_s, 1)} ms per trial beyond bare, median gap between trial "
                f"starts ({per_target})",
            ),
            (
                s.startup_beyond_s <= ONCE_TARGET_S,
                f"{fmt_s(s.startup_beyond_s)} s once beyond bare, fitted on the totals "
                f"({once_target}; CPU {fmt_s(s.cpu_startup_beyond_s)} s)",
            ),
            (
                s.once_stamps_beyond_s <= ONCE_TARGET_S,
                f"{fmt_s(s.once_stamps_beyond_s)} s once beyond bare, before the first trial "
                f"plus after the last ({once_target})",
            ),
        )
        for ok, text in checks:
            if s.key == "hpsweep":
                passed = passed and ok
            lines.append(f"{'PASS' if ok else 'FAIL'}: {s.label}: {text}{scope}")
    return lines, passed


def ratio_lines(summaries: Sequence[Summary]) -> list[str]:
    ours = next((s for s in summaries if s.key == "hpsweep"), None)
    if ours is None:
        return []
    lines = []
    for s in summaries:
        if s.key in ("bare", "hpsweep"):
            continue
        lines.append(
            f"- {s.label}: per-trial overhead {fmt_ms(s.per_trial_beyond_s, 1)} ms vs hpsweep's "
            f"{fmt_ms(ours.per_trial_beyond_s, 1)} ms; total at the largest size "
            f"{fmt_ratio(s.totals[max(s.totals)] / ours.totals[max(ours.totals)])} hpsweep's"
        )
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="launch.py",
        description="Per-trial and one-time cost of launching a script as a trial.",
    )
    parser.add_argument("--quick", action="store_true", help="5 and 10 trials, 1 repeat, no Oríon")
    parser.add_argument(
        "--sizes", help="comma-separated trial counts (default 20,60; 5,10 with --quick)"
    )
    parser.add_argument("--repeat", type=int, help="runs per configuration (default 3; 1 --quick)")
    parser.add_argument("--no-orion", action="store_true", help="skip Oríon")
    parser.add_argument(
        "--no-install", action="store_true", help="do not create Oríon's venv when it is missing"
    )
    parser.add_argument(
        "--orion-venv", type=Path, default=DEFAULT_ORION_VENV, help="Oríon's virtual environment"
    )
    parser.add_argument(
        "--no-default-sampler",
        action="store_true",
        help="skip the extra hpsweep row with the default sampler (skipped with --quick)",
    )
    parser.add_argument("--dir", help="where the temporary directories go (default: system temp)")
    parser.add_argument("--json", metavar="PATH", help="also write every run's numbers here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    sizes = args.sizes or ("5,10" if args.quick else "20,60")
    try:
        args.sizes = sorted({int(s) for s in re.split(r"[,\s]+", sizes.strip()) if s})
    except ValueError:
        parser.error(f"--sizes must be integers, got {sizes!r}")
    args.repeat = args.repeat or (1 if args.quick else 3)
    if len(args.sizes) < 2 or args.sizes[0] < 2 or args.repeat < 1:
        parser.error("give at least two --sizes of 2 or more, and --repeat of at least 1")
    return args


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    python = sys.executable
    command = " ".join(["python", "benchmarks/launch.py", *(argv or sys.argv[1:])])
    sizes: list[int] = args.sizes
    orion: str | None = None
    orion_note = "Oríon skipped (--quick)" if args.quick else "Oríon skipped (--no-orion)"
    if not (args.quick or args.no_orion):
        orion, orion_note = orion_executable(args.orion_venv, install=not args.no_install)
    found = launchers(orion, default_sampler=not (args.quick or args.no_default_sampler))

    print(
        f"# Launch: {' and '.join(map(str, sizes))} trials of a tiny script, "
        f"medians of {args.repeat} run(s)\n"
    )
    print(f"command: {command}")
    info = machine_info(("optuna", "hpsweep"))
    info["trial interpreter"] = python
    print(format_kv(info))
    print(orion_note)
    print(f"at start: {load_note()}\n")

    cache = Path(tempfile.mkdtemp(prefix="hpsweep-launch-pycache-", dir=args.dir))
    atexit.register(shutil.rmtree, cache, True)  # also when a run fails
    base = subprocess_env(cache)
    # Untimed: fills the bytecode cache, the page cache and each tool's first-run work.
    for launcher in list(found):
        try:
            run_one(launcher, 2, -1, python, args.dir, base)
        except (RuntimeError, subprocess.SubprocessError) as error:
            if launcher.key != "orion":
                raise
            found.remove(launcher)
            orion_note += f"; dropped after a failed warm-up: {str(error).splitlines()[0]}"
    runs: list[Run] = []
    for rep in range(args.repeat):
        for n in sizes:
            shift = (rep + sizes.index(n)) % len(found)  # no configuration always goes first
            for launcher in found[shift:] + found[:shift]:
                try:
                    run = run_one(launcher, n, rep, python, args.dir, base)
                except (RuntimeError, subprocess.SubprocessError) as error:
                    if launcher.key != "orion":
                        raise
                    log(f"Oríon failed, dropped from this run: {error}")
                    found = [f for f in found if f.key != "orion"]
                    runs = [r for r in runs if r.key != "orion"]
                    orion_note += f"; dropped after a failure: {str(error).splitlines()[0]}"
                    continue
                runs.append(run)
                log(
                    f"[{rep + 1}/{args.repeat}] {launcher.label}, {n} trials: "
                    f"{run.wall_s:.2f} s (load {run.load1:.2f})"
                )

    summaries = summarize(runs, found, sizes)
    print(
        f"## Totals and fitted costs (total = start-up + n x per-trial; median of {args.repeat})\n"
    )
    print(totals_table(summaries, sizes))
    print()
    print(
        "## CPU (user + system) of the launcher and its trials, and the fit beyond bare "
        f"(median of {args.repeat})\n"
    )
    print(cpu_table(summaries, sizes))
    print()
    print(f"## From the trials' time stamps ({max(sizes)} trials; median of {args.repeat})\n")
    print(stamps_table(summaries, max(sizes)))
    print()
    lines, passed = verdicts(summaries)
    print("\n".join(lines))
    ratios = ratio_lines(summaries)
    if ratios:
        print("\nAgainst hpsweep (random sampler):")
        print("\n".join(ratios))
    loads = [r.load1 for r in runs]
    print(
        f"\n1-min load during the runs: {min(loads):.2f}-{max(loads):.2f} (median "
        f"{median(loads):.2f}); at the end: {load_note()}"
    )
    print(
        "beyond bare = fitted on the differences to the bare loop run side by side in the same "
        "repeat; gap = from one trial script's start to the next one's (the bare loop's gap is "
        "the interpreter start-up plus the script); the hpsweep and Optuna rows use the random "
        "sampler so that they compare launching, not sampling."
    )
    print(
        "every command ran with PYTHONPYCACHEPREFIX in a private temporary directory (and without "
        "PYTHONDONTWRITEBYTECODE), after an untimed 2-trial warm-up of each configuration, so "
        "hpsweep's editable sources start from bytecode as an installed package would."
    )
    if args.json:
        payload = {
            "command": command,
            "machine": info,
            "orion": orion_note,
            "runs": [asdict(r) for r in runs],
            "summaries": [asdict(s) for s in summaries],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
