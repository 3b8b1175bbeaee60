"""Soak: many short trials through one controller, watching for leaks and slow-downs.

One controller runs N trivial trials with ``-j 2`` (random sampler, no pruner) in this process,
through ``hpsweep``'s own ``execute`` as ``hpsweep run`` does, with a progress hook that samples
every ``--every`` trials: the wall time, the controller's CPU time (of this process, its threads
included), its resident memory (VmRSS, from /proc/self/status), its open file descriptors
(/proc/self/fd) and its child processes.
Two kinds of trial:

- ``thread``: ``--objective soak_objective:f --executor thread``, a Python function returning
  ``x**2`` in a thread of the controller (what the controller and the store cost per trial);
- ``command``: ``sh soak_trial.sh {x}``, a shell script printing a marker line (a process per
  trial: a fork, three pipes, a pidfd, the orphan guard, the trial directory and its logs).

Before the measured run an untimed 20-trial run warms imports and caches, so descriptors opened
once (and kept) by the libraries are not counted as leaks. After it, every descriptor and child
process must be back to what it was, and no process may be left whose environment names the
study (``HPSWEEP_STUDY``). It prints wall and CPU ms/trial, RSS, fds and children per block of
trials, and PASS/FAIL lines for: no leaked descriptor or process; the last block's CPU ms/trial
at most 1.5x the first's (CPU time, since wall time on shared machines swings with others'
load); RSS growth at most 4 KiB per trial (the store keeps every trial in memory, as Optuna's
storages do; more than that would be a leak).

    .venv/bin/python benchmarks/soak.py                  # 10 000 thread + 10 000 command trials
                                                         # on the journal, 2 000 of each on PG
    .venv/bin/python benchmarks/soak.py --quick          # 1 000 / 300 (a smoke run)
    .venv/bin/python benchmarks/soak.py --kinds command --trials 2000 --no-postgres

PostgreSQL: a private server is started in a temporary directory with the test suite's helper
(tests/distributed/_servers.py) and stopped at the end; without its binaries or psycopg the
PostgreSQL rows are skipped with a note (``--storage URL`` uses a server of yours instead: each
run gets a fresh database on it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

if __package__:
    from ._common import format_kv
    from ._common import format_table
    from ._common import load_note
    from ._common import machine_info
else:  # run as a script (or loaded by a test): benchmarks/ is on sys.path
    from _common import format_kv
    from _common import format_table
    from _common import load_note
    from _common import machine_info

KINDS = ("thread", "command")
OBJECTIVE_MODULE = "soak_objective"
OBJECTIVE = "def f(params):\n    return params['x'] ** 2\n"
TRIAL_SCRIPT = 'echo "hpsweep: {\\"result\\": $1}"\n'
WARMUP_TRIALS = 20
MAX_SLOWDOWN = 1.5
MAX_KIB_PER_TRIAL = 4.0


# ------------------------------------------------------------------------ /proc probes


def rss_mib() -> float:
    """This process's resident memory (VmRSS) in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> int:
    """This process's open file descriptors (the one listing them left out)."""
    return len(os.listdir("/proc/self/fd")) - 1


def children() -> list[int]:
    """Live child processes of this process (zombies included: an unreaped child is a leak)."""
    me = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            found.append(int(entry.name))
    return found


def processes_of_study(study: str) -> list[int]:
    """Processes (of this user) whose environment says they are a trial of ``study``."""
    needle = f"HPSWEEP_STUDY={study}\0".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as environ:
                if needle in environ.read() + b"\0":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


# ----------------------------------------------------------------------------- a run


@dataclass
class Sample:
    trials: int
    seconds: float
    cpu_seconds: float
    """CPU time of this process (the controller, its threads included; not the trials')."""
    rss_mib: float
    fds: int
    children: int


class Probe:
    """A progress display that displays nothing: it samples every ``every`` finished trials.
    Children it counts are those not in ``present`` (a test's servers are not the run's)."""

    def __init__(self, every: int, present: Iterable[int] = ()) -> None:
        self.every = every
        self.present = set(present)
        self.ended = 0
        self.start = 0.0
        self.cpu_start = 0.0
        self.samples: list[Sample] = []
        self.messages: list[str] = []
        self.whys: dict[str, int] = {}

    def sample(self) -> None:
        self.samples.append(
            Sample(
                self.ended,
                time.perf_counter() - self.start,
                time.process_time() - self.cpu_start,
                rss_mib(),
                open_fds(),
                len(set(children()) - self.present),
            )
        )

    def started(self, *, study: str, storage: str, total: int | None, done: int) -> None:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()
        self.sample()

    def trial_started(self, number: int, params: Mapping[str, Any]) -> None:
        pass

    def trial_reported(self, number: int, step: int, value: float) -> None:
        pass

    def trial_ended(self, outcome: Any, *, best: Any) -> None:
        self.ended += 1
        self.whys[outcome.why] = self.whys.get(outcome.why, 0) + 1
        if self.ended % self.every == 0:
            self.sample()

    def message(self, text: str) -> None:
        self.messages.append(text)

    def close(self) -> None:
        pass


@dataclass
class SoakResult:
    kind: str
    store: str
    trials: int
    jobs: int
    wall_s: float
    samples: list[Sample]
    whys: dict[str, int]
    fds_before: int
    fds_after: int
    children_before: list[int]
    children_after: list[int]
    left_running: list[int]
    load: str
    messages: list[str] = field(default_factory=list)

    def blocks(self) -> list[tuple[int, int, float, float]]:
        """(first trial, last trial, wall ms per trial, controller CPU ms per trial) between
        consecutive samples."""
        rows = []
        for before, after in zip(self.samples, self.samples[1:]):
            count = after.trials - before.trials
            if count > 0:
                wall = (after.seconds - before.seconds) / count * 1000
                cpu = (after.cpu_seconds - before.cpu_seconds) / count * 1000
                rows.append((before.trials, after.trials - 1, wall, cpu))
        return rows

    @property
    def slowdown(self) -> float:
        """The last block's controller CPU ms/trial over the first's: CPU time, because the
        wall time on shared machines swings with the load of others' work."""
        blocks = self.blocks()
        return blocks[-1][3] / blocks[0][3] if len(blocks) >= 2 else float("nan")

    @property
    def wall_slowdown(self) -> float:
        blocks = self.blocks()
        return blocks[-1][2] / blocks[0][2] if len(blocks) >= 2 else float("nan")

    @property
    def kib_per_trial(self) -> float:
        """RSS growth from the first sample after the start to the last, per trial."""
        first, last = (
            self.samples[1] if len(self.samples) > 2 else self.samples[0],
            self.samples[-1],
        )
        count = last.trials - first.trials
        return (last.rss_mib - first.rss_mib) * 1024 / count if count else float("nan")

    @property
    def leaks(self) -> list[str]:
        problems = []
        if self.fds_after != self.fds_before:
            problems.append(f"open fds {self.fds_before} -> {self.fds_after}")
        if sorted(self.children_after) != sorted(self.children_before):
            problems.append(f"child processes {self.children_before} -> {self.children_after}")
        if self.left_running:
            problems.append(f"trial processes left running: {self.left_running}")
        return problems

    def checks(
        self, *, max_slowdown: float = MAX_SLOWDOWN, max_kib_per_trial: float = MAX_KIB_PER_TRIAL
    ) -> list[tuple[str, bool]]:
        return [
            ("no leaked file descriptor or process", not self.leaks),
            (
                f"last block at most {max_slowdown}x the first block's CPU ms/trial "
                f"({self.slowdown:.2f}x; wall {self.wall_slowdown:.2f}x)",
                self.slowdown <= max_slowdown,
            ),
            (
                f"RSS growth at most {max_kib_per_trial:g} KiB/trial "
                f"({self.kib_per_trial:.2f} KiB/trial)",
                self.kib_per_trial <= max_kib_per_trial,
            ),
            (
                f"all {self.trials} trials complete",
                self.whys.get("complete", 0) == self.trials and len(self.whys) == 1,
            ),
        ]


@contextlib.contextmanager
def _inside(directory: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(directory)
    added = str(directory) not in sys.path
    if added:
        sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        os.chdir(previous)
        if added:
            sys.path.remove(str(directory))


def _config(kind: str, study: str, trials: int, jobs: int, storage: str | None) -> Any:
    from hpsweep._config import load_config

    flags: dict[str, Any] = {
        "study": study,
        "storage": storage,
        "n_trials": trials,
        "jobs": jobs,
        "sampler": "random",  # the controller's own cost, not the sampler's
        "pruner": "none",
        "seed": 0,
    }
    if kind == "thread":
        flags |= {"objective": f"{OBJECTIVE_MODULE}:f", "executor": "thread"}
    else:
        flags["command"] = ["sh", "soak_trial.sh", "{x}"]
    return load_config(flags=flags, cli_space=["x=float(0,1)"], environ={})


def run_soak(
    kind: str,
    *,
    trials: int,
    jobs: int = 2,
    every: int = 1000,
    storage: str | None = None,
    directory: Path,
) -> SoakResult:
    """Run ``trials`` trials of ``kind`` (``thread`` or ``command``) in this process on
    ``storage`` (default: the journal file in ``directory``), sampling every ``every``."""
    from hpsweep._session import execute

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{OBJECTIVE_MODULE}.py").write_text(OBJECTIVE)
    (directory / "soak_trial.sh").write_text(TRIAL_SCRIPT)
    study = f"soak-{kind}-{uuid.uuid4().hex[:8]}"
    with _inside(directory):
        warm = execute(
            _config(kind, study + "-warmup", WARMUP_TRIALS, jobs, storage),
            progress=Probe(WARMUP_TRIALS),
            handle_signals=False,
        )
        if warm.counts.get("complete") != WARMUP_TRIALS:
            raise RuntimeError(f"the warm-up run failed: {warm.counts}")
        fds_before, children_before = open_fds(), children()
        probe = Probe(every, present=children_before)
        started = time.perf_counter()
        execute(
            _config(kind, study, trials, jobs, storage),
            progress=probe,
            handle_signals=False,
        )
        wall = time.perf_counter() - started
        if probe.ended % every:
            probe.sample()
        fds_after, children_after = open_fds(), children()
    return SoakResult(
        kind=kind,
        store="journal" if storage is None else storage.split(":", 1)[0],
        trials=trials,
        jobs=jobs,
        wall_s=wall,
        samples=probe.samples,
        whys=probe.whys,
        fds_before=fds_before,
        fds_after=fds_after,
        children_before=children_before,
        children_after=children_after,
        left_running=processes_of_study(study),
        load=load_note(),
        messages=probe.messages,
    )


# ----------------------------------------------------------------------------- report


def report(result: SoakResult) -> str:
    title = (
        f"{result.trials} {result.kind} trials, -j {result.jobs}, {result.store} store: "
        f"{result.wall_s:.1f} s, {result.wall_s / result.trials * 1000:.2f} ms/trial overall"
    )
    rows = []
    by_end = {s.trials: s for s in result.samples}
    for first, last, wall, cpu in result.blocks():
        sample = by_end[last + 1]
        rows.append(
            (
                f"{first}-{last}",
                f"{wall:.2f}",
                f"{cpu:.2f}",
                f"{sample.rss_mib:.1f}",
                sample.fds,
                sample.children,
            )
        )
    headers = ("trials", "wall ms/trial", "CPU ms/trial", "RSS MiB", "fds", "children")
    table = format_table(headers, rows)
    start = result.samples[0]
    lines = [
        title,
        "",
        table,
        "",
        f"at the start: RSS {start.rss_mib:.1f} MiB, {start.fds} fds, {start.children} children",
        f"before/after the run: fds {result.fds_before} -> {result.fds_after}, children "
        f"{len(result.children_before)} -> {len(result.children_after)}, trial processes left: "
        f"{len(result.left_running)}",
        result.load,
    ]
    lines += [f"{'PASS' if ok else 'FAIL'}: {what}" for what, ok in result.checks()]
    return "\n".join(lines)


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[Any]:
    """An object with ``create_database(name) -> url``: the server at ``url`` or a private one
    (None when PostgreSQL or psycopg is missing)."""
    if url is not None:
        admin: str = url

        class Existing:
            def create_database(self, name: str) -> str:
                import psycopg

                with psycopg.connect(admin, autocommit=True) as connection:
                    connection.execute(f'CREATE DATABASE "{name}"')
                return admin.rsplit("/", 1)[0] + "/" + name

        yield Existing()
        return
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        print("PostgreSQL skipped: psycopg is not installed (pip install -e '.[postgres]')")
        yield None
        return
    sys.path.insert(0, str(ROOT / "tests" / "distributed"))
    try:
        from _servers import find_pg_bindir  # type: ignore[import-not-found]
        from _servers import postgres_server
    finally:
        sys.path.remove(str(ROOT / "tests" / "distributed"))
    bindir = find_pg_bindir()
    if bindir is None:
        print("PostgreSQL skipped: no initdb/pg_ctl (apt-get install postgresql)")
        yield None
        return
    with postgres_server(bindir) as server:
        yield server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000, help="trials per journal run")
    parser.add_argument("--jobs", "-j", type=int, default=2)
    parser.add_argument("--every", type=int, default=None, help="sample every N trials")
    parser.add_argument("--kinds", default="thread,command", help="thread, command or both")
    parser.add_argument("--pg-trials", type=int, default=2000, help="trials per PostgreSQL run")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--storage", help="a PostgreSQL server URL to use instead of a private one"
    )
    parser.add_argument("--dir", help="where the stores and trial directories go")
    parser.add_argument("--json", help="write the raw samples here")
    parser.add_argument("--quick", action="store_true", help="1000 and 300 trials: a smoke run")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a check fails")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        parser.error("reads /proc: Linux only")
    if args.quick:
        args.trials, args.pg_trials = 1000, 300
    every = args.every or max(1, args.trials // 10)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    for kind in kinds:
        if kind not in KINDS:
            parser.error(f"--kinds: {kind!r} is not one of {', '.join(KINDS)}")
    print(format_kv(machine_info(["optuna", "hpsweep"])))
    print(load_note())
    print()
    results: list[SoakResult] = []
    with tempfile.TemporaryDirectory(prefix="hpsweep-soak-", dir=args.dir) as scratch:
        for kind in kinds:
            result = run_soak(
                kind,
                trials=args.trials,
                jobs=args.jobs,
                every=every,
                directory=Path(scratch) / f"journal-{kind}",
            )
            results.append(result)
            print(report(result), end="\n\n", flush=True)
        if not args.no_postgres and args.pg_trials > 0:
            with postgres(args.storage) as server:
                for kind in kinds if server is not None else ():
                    url = server.create_database(f"soak_{kind}_{uuid.uuid4().hex[:8]}")
                    result = run_soak(
                        kind,
                        trials=args.pg_trials,
                        jobs=args.jobs,
                        every=max(1, args.pg_trials // 10),
                        storage=url,
                        directory=Path(scratch) / f"pg-{kind}",
                    )
                    result.store = "postgresql"
                    results.append(result)
                    print(report(result), end="\n\n", flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps([asdict(r) | {"blocks": r.blocks()} for r in results], indent=1)
        )
    failed = [r for r in results if not all(ok for _, ok in r.checks())]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
