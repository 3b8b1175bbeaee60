"""Helpers shared by the benchmark scripts: timing, the machine they ran on, tables.

Standard library only, and nothing runs at import time, so a script (or a test) can import this
module before it decides what to measure.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values, so a missing measurement shows instead of crashing."""
    return statistics.median(values) if values else float("nan")


@dataclass
class Timing:
    """Wall and CPU seconds of one timed block (CPU counts every thread of this process)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    start: float = 0.0
    """``time.perf_counter()`` when the block began, to place timestamps taken inside it."""


def settle() -> None:
    """Collect garbage left by earlier work, so each measurement starts from the same GC state
    (the collector stays enabled during the measurement, as it would be for a user)."""
    gc.collect()
    gc.collect()


@contextmanager
def timed() -> Iterator[Timing]:
    """Time a block: ``with timed() as t: ...`` then read ``t.wall_s`` and ``t.cpu_s``."""
    timing = Timing()
    settle()
    wall, cpu = time.perf_counter(), time.process_time()
    timing.start = wall
    try:
        yield timing
    finally:
        timing.wall_s = time.perf_counter() - wall
        timing.cpu_s = time.process_time() - cpu


def load_note() -> str:
    """The load averages, to judge how much other work shared the CPUs during a measurement."""
    one, five, fifteen = os.getloadavg()
    return (
        f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {cpu_count()} CPUs"
    )


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return None


def filesystem_of(path: str | Path) -> str:
    """The filesystem type holding ``path`` (ext4, tmpfs, ...), from /proc/mounts; fsync is
    free on tmpfs, so a durable store must be timed on a real disk."""
    target = os.path.realpath(path)
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount = fields[1]
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) > len(best):
                    best, kind = mount, fields[2]
    except OSError:
        pass
    return kind


def fsync_latency(directory: str | Path, count: int = 20) -> float:
    """Median seconds of ``count`` small append + ``fsync`` pairs in ``directory``: what a
    durable commit costs on that disk right now (on shared disks it swings by 10x in minutes)."""
    path = Path(directory) / f".fsync-probe-{os.getpid()}"
    times: list[float] = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(count):
            os.write(fd, b"x" * 200 + b"\n")
            start = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    return median(times)


def package_version(name: str) -> str:
    """A distribution's version without importing it."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info(packages: Sequence[str] = ()) -> dict[str, str]:
    """What a result needs to be compared with another: CPUs, memory, Python, package versions."""
    ram = memory_gib()
    info = {
        "cpus (nproc)": str(cpu_count()),
        "cpu model": cpu_model(),
        "memory": f"{ram:.1f} GiB" if ram is not None else "unknown",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }
    for name in packages:
        info[name] = package_version(name)
    return info


def format_kv(info: Mapping[str, str]) -> str:
    width = max((len(k) for k in info), default=0)
    return "\n".join(f"{key.ljust(width)} : {value}" for key, value in info.items())


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, align: str | None = None
) -> str:
    """A Markdown table, padded so it also reads well in a terminal. ``align`` has one letter
    per column, ``l`` or ``r`` (default: the first column left, the others right)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row: Sequence[str]) -> str:
        padded = [
            cell.ljust(w) if a == "l" else cell.rjust(w) for cell, w, a in zip(row, widths, align)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if a == "r" else "-" * (w + 2) for w, a in zip(widths, align)
        )
        + "|"
    )
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def fmt_ms(seconds: float, digits: int = 2) -> str:
    """Seconds as milliseconds for a table cell."""
    if seconds != seconds:  # NaN
        return "-"
    return f"{seconds * 1000:.{digits}f}"


def fmt_ratio(value: float) -> str:
    if value != value:
        return "-"
    return f"{value:.2f}x"


def run_wall(
    argv: Sequence[str], *, repeat: int = 5, warmup: int = 1, env: Mapping[str, str] | None = None
) -> list[float]:
    """Wall seconds of ``argv`` as a subprocess (output discarded), ``repeat`` times after
    ``warmup`` untimed runs (which also write bytecode caches). Raises if it fails."""
    times: list[float] = []
    for index in range(warmup + repeat):
        start = time.perf_counter()
        subprocess.run(
            list(argv),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
        )
        elapsed = time.perf_counter() - start
        if index >= warmup:
            times.append(elapsed)
    return times


def python_output(code: str, *, env: Mapping[str, str] | None = None) -> str:
    """Stdout of ``python -c code`` in this interpreter; raises with its stderr if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
    )
    if done.returncode != 0:
        raise RuntimeError(f"python -c failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def import_time_us(module: str, *, repeat: int = 5) -> tuple[float, float]:
    """``python -X importtime -c "import module"``: the module's cumulative microseconds and the
    sum of every import's self time (the interpreter's own start-up imports included); medians
    of ``repeat`` runs after one warm-up."""
    cumulative: list[float] = []
    total: list[float] = []
    for index in range(repeat + 1):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        )
        own, summed = 0.0, 0.0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "[us]" in line:
                continue
            self_us, cumulative_us, name = line[len("import time:") :].split("|", 2)
            summed += float(self_us)
            if name.strip() == module:
                own = float(cumulative_us)
        if index:
            cumulative.append(own)
            total.append(summed)
    return median(cumulative), median(total)


def which_script(name: str) -> str | None:
    """A console script installed beside this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    import shutil

    return shutil.which(name)
