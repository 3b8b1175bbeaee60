"""Process plumbing for executors that run trials as OS processes (POSIX)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

# The orphan guard, run as `python -I -S -c GUARD`. It reads "+<pgid>" / "-<pgid>" lines on stdin
# and, once the controller is gone (EOF on stdin, or it got re-parented), sends SIGTERM to every
# group still listed and SIGKILL two seconds later. It reads twice a second rather than waiting on
# the pipe: a wake-up per line cost the controller 0.2 ms per trial start and end.
#
# One guard per executor costs one small process. The alternative, PR_SET_PDEATHSIG set in a
# preexec_fn, makes subprocess fork() the whole controller for every trial instead of vfork()
# (measured: 0.16 ms per spawn with vfork against 3 ms at 50 MiB RSS and 66 ms at 2 GiB with
# fork), is unsafe when the controller has threads, fires when the *thread* that started the
# trial exits, and reaches only the trial's main process, not its children.
_GUARD = r"""
import os, signal, time
os.set_blocking(0, False)
parent = os.getppid()
groups = set()
pending = b""
while True:
    # Read before looking at the parent: what it wrote just before dying must still count.
    try:
        chunk = os.read(0, 1 << 20)
    except BlockingIOError:
        if os.getppid() != parent:
            break
        time.sleep(0.5)
        continue
    if not chunk:
        break
    *lines, pending = (pending + chunk).split(b"\n")
    for line in lines:
        if line[:1] == b"+":
            groups.add(int(line[1:]))
        elif line[:1] == b"-":
            groups.discard(int(line[1:]))

def signal_all(signum):
    alive = set()
    for group in groups:
        try:
            os.killpg(group, signum)
            alive.add(group)
        except OSError:
            pass
    return alive

groups = signal_all(signal.SIGTERM)
deadline = time.monotonic() + 2.0
while groups and time.monotonic() < deadline:
    time.sleep(0.05)
    groups = signal_all(0)
signal_all(signal.SIGKILL)
"""


class OrphanGuard:
    """Kills the trials' process groups if the controller dies without closing its executor.

    Started lazily; :meth:`close` ends it. Failing to start it only loses the protection.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe: int | None = None
        self._broken = False

    def watch(self, group: int) -> None:
        """Start guarding a trial's process group."""
        if self._process is None and not self._broken:
            self._start()
        self._tell(f"+{group}\n")

    def forget(self, group: int) -> None:
        """The group's leader has been reaped: never signal that (reusable) id again."""
        self._tell(f"-{group}\n")

    def close(self) -> None:
        """End the guard at once (it may be asleep for half a second): the executor has already
        signalled every group it still lists."""
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def _start(self) -> None:
        if not sys.executable:
            self._broken = True
            return
        read_end, write_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _GUARD],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the controller's terminal must not end it
            )
        except OSError:
            os.close(write_end)
            self._broken = True
            return
        finally:
            os.close(read_end)
        self._pipe = write_end

    def _tell(self, line: str) -> None:
        if self._pipe is None:
            return
        try:
            os.write(self._pipe, line.encode())
        except OSError:  # the guard died; carry on unguarded rather than fail trials
            os.close(self._pipe)
            self._pipe = None
            self._broken = True


def open_pidfd(pid: int) -> int | None:
    """A file descriptor that becomes readable when ``pid`` exits (Linux ≥ 5.3), else None."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        fd: int = pidfd_open(pid)
    except OSError:  # an older kernel, or a sandbox that forbids the call
        return None
    return fd


def signal_group(group: int, signum: int) -> None:
    """Signal a process group that may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


TAIL_BYTES = 16384
"""How much of the end of a trial's stderr is kept to describe its failure."""


def tail_text(data: bytes, *, lines: int = 3, limit: int = 300) -> str:
    """The last ``lines`` non-empty lines of ``data`` (invalid UTF-8 read as U+FFFD), joined
    with `` | `` and cut to ``limit`` characters from the end."""
    text = data.decode("utf-8", "replace")
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    joined = " | ".join(tail)
    return joined if len(joined) <= limit else "..." + joined[-(limit - 3) :]


def boot_ticks() -> int:
    """Now, in the clock ticks since boot that ``/proc/<pid>/stat`` gives start times in."""
    try:
        return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))
    except (AttributeError, OSError, ValueError):
        return 0


def fd_holders(
    target: str, *, exclude: int | None = None, since: int = 0, limit: int = 3
) -> list[str]:
    """Processes holding ``target`` open (``pipe:[inode]`` or ``socket:[inode]``, as
    ``/proc/<pid>/fd/*`` links read), as ``"<pid> (<name>)"``; at most ``limit``, skipping the
    process ``exclude`` and those started before ``since`` (:func:`boot_ticks`). Linux only
    (elsewhere: none found); only processes this user may inspect are seen. Call it only on
    rare paths: it reads the stat file of every process, and the fd table of the young ones."""
    found: list[str] = []
    try:
        entries = os.scandir("/proc")
    except OSError:
        return found
    with entries:
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) == exclude:
                continue
            try:
                if since:
                    with open(f"/proc/{entry.name}/stat", "rb") as stat:
                        fields = stat.read().rsplit(b")", 1)[1].split()
                    if int(fields[19]) < since:  # field 22, starttime
                        continue
                fds = os.listdir(f"/proc/{entry.name}/fd")
            except (OSError, IndexError, ValueError):  # gone, or not ours to inspect
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{entry.name}/fd/{fd}") != target:
                        continue
                except OSError:
                    continue
                found.append(f"{entry.name} ({_process_name(entry.name)})")
                break
            if len(found) >= limit:
                break
    return found


def _process_name(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip() or "?"
    except OSError:
        return "?"


def format_size(size: int) -> str:
    """Bytes for people: ``512 bytes``, ``100 MiB``, ``1.5 GiB``."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"


def parse_size(text: str) -> int:
    """``"100M"``, ``"1.5G"``, ``"4096"``, ``"100 MiB"`` as bytes (K, M, G, T are powers of
    1024; a trailing ``B`` or ``iB`` is allowed); ``"0"``, ``"none"``, ``"unlimited"`` are 0.
    Raises ValueError for anything else."""
    compact = text.strip().lower().replace(" ", "").replace("_", "")
    if compact in ("none", "unlimited", "off"):
        return 0
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgt]?)(?:i?b)?", compact)
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    number, unit = match.groups()
    return int(float(number) * 1024 ** " kmgt".index(unit or " "))
