"""Who owns a RUNNING trial, and whether that owner is still alive.

Every controller records itself in the study (host, boot id, pid, process start time, heartbeat)
and tags the trials it runs with its id. A RUNNING trial is *lost* when its owner is provably
dead (same host and boot, and the pid is gone or belongs to another process), when the host
rebooted, or when the owner's heartbeat is older than the expiry (other hosts).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    import optuna

    from hpsweep.engine._storage import Store

OWNER_ATTR = "hpsweep:owner"
RUN_ATTR = "hpsweep:run"
"""Trial system attribute: the controller that asked the trial, and how many had finished."""
SUPERSEDED_ATTR = "hpsweep:superseded"
"""Trial system attribute: this attempt was replaced by a re-run and leaves the budget."""
OWNER_PREFIX = "hpsweep:owner:"
DEFAULT_HEARTBEAT_EXPIRY = 60.0


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: fields resume after the last ')'.
    return stat[stat.rfind(b")") + 2 :].split()


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def pid_alive(pid: int, start_ticks: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc to ask (not Linux): the signal said it exists
    if fields[0] in (b"Z", b"X"):
        return False  # killed and not yet reaped by its parent
    return start_ticks is None or int(fields[19]) == start_ticks


@dataclass(frozen=True)
class Owner:
    """This controller, as recorded in the study."""

    id: str
    host: str
    boot: str
    pid: int
    start_ticks: int | None

    @classmethod
    def current(cls, host: str | None = None) -> Owner:
        pid = os.getpid()
        return cls(
            id=uuid.uuid4().hex[:12],
            host=host or socket.gethostname(),
            boot=_boot_id(),
            pid=pid,
            start_ticks=process_start_ticks(pid),
        )

    def record(self, *, closed: bool = False) -> dict[str, Any]:
        return {
            "host": self.host,
            "boot": self.boot,
            "pid": self.pid,
            "start_ticks": self.start_ticks,
            "beat": time.time(),
            "closed": closed,
        }


def owner_is_dead(record: dict[str, Any] | None, *, me: Owner, now: float, expiry: float) -> bool:
    """Whether the owner described by ``record`` can no longer be running its trials."""
    if record is None or record.get("closed"):
        return True
    if record.get("host") == me.host and record.get("boot") == me.boot:
        return not pid_alive(int(record.get("pid", -1)), record.get("start_ticks"))
    if record.get("host") == me.host and record.get("boot") != me.boot and me.boot:
        return True  # this machine rebooted since
    return now - float(record.get("beat", 0.0)) > expiry


def recover_lost_trials(
    store: Store, study: optuna.Study, *, me: Owner, now: float, expiry: float
) -> list[int]:
    """Close the RUNNING trials of ``study`` whose controller is dead as ``lost`` (failed and
    superseded, so they do not count toward the budget) and queue their params to run again,
    linked to their first attempt; returns their numbers. Trials without an hpsweep owner tag
    (plain Optuna workers) and ``me``'s own trials are left alone."""
    from optuna.trial import TrialState

    storage = store.storage
    study_id = study._study_id
    owners = {
        key[len(OWNER_PREFIX) :]: value
        for key, value in storage.get_study_system_attrs(study_id).items()
        if key.startswith(OWNER_PREFIX)
    }
    recovered = []
    for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
        run = trial.system_attrs.get(RUN_ATTR)
        if not isinstance(run, dict) or run.get("owner") == me.id:
            continue  # not ours to judge (a plain Optuna worker), or ours and alive
        record = owners.get(str(run.get("owner")))
        if not owner_is_dead(
            record if isinstance(record, dict) else None, me=me, now=now, expiry=expiry
        ):
            continue
        with store.mutex():
            current = storage.get_trial(trial._trial_id)
            if current.state != TrialState.RUNNING:
                continue  # another controller recovered it first
            storage.set_trial_user_attr(trial._trial_id, "why", "lost")
            storage.set_trial_user_attr(
                trial._trial_id, "error", "its controller died while it ran"
            )
            storage.set_trial_system_attr(trial._trial_id, SUPERSEDED_ATTR, True)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            study.enqueue_trial(
                dict(current.params),
                user_attrs={
                    "retry_of": int(current.user_attrs.get("retry_of", current.number)),
                    "attempt": int(current.user_attrs.get("attempt", 0)),
                },
            )
        recovered.append(trial.number)
    return recovered
