"""``hpsweep hunt`` (Oríon's ``orion hunt``) and ``hpsweep info --name`` (Oríon's Stats block).

``hunt`` takes Oríon's options, then the user's command: everything from the first argument that
is not a hunt option, ``--`` and all. Its dialect lives in :mod:`hpsweep.dialects`; this module
only parses options, runs the study and prints. Nothing heavy is imported at module level.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._errors import UsageError

if TYPE_CHECKING:
    import optuna

_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("-n", "--name"), {"help": "the experiment: hpsweep's study name"}),
    (
        ("-c", "--config"),
        {
            "metavar": "ORION_YAML",
            "help": "Oríon config: experiment: {max_trials, max_broken, algorithm}, "
            "worker: {n_workers}",
        },
    ),
    (
        ("--n-workers",),
        {"dest": "n_workers", "type": int, "metavar": "N", "help": "trials at a time"},
    ),
    (
        ("--exp-max-trials",),
        {"dest": "exp_max_trials", "type": int, "metavar": "N", "help": "study total"},
    ),
    (
        ("--exp-max-broken",),
        {
            "dest": "exp_max_broken",
            "type": int,
            "metavar": "N",
            "help": "stop after this many failed trials (3)",
        },
    ),
    (
        ("--max-trials",),
        {"dest": "max_trials", "type": int, "metavar": "N", "help": "old --exp-max-trials"},
    ),
    (
        ("--working-dir",),
        {"dest": "working_dir", "metavar": "DIR", "help": "where trial dirs go (hpsweep-runs)"},
    ),
    (("--storage",), {"metavar": "URL", "help": "store URL or path (default: ./hpsweep.journal)"}),
    (("-u", "--user"), {"help": "accepted and ignored: studies have no owner"}),
    (
        ("-v", "--version"),
        {"dest": "exp_version", "metavar": "VERSION", "help": "accepted and ignored"},
    ),
    (
        ("--worker-max-trials",),
        {"dest": "worker_max_trials", "type": int, "metavar": "N", "help": "ignored"},
    ),
    (
        ("--worker-max-broken",),
        {"dest": "worker_max_broken", "type": int, "metavar": "N", "help": "ignored"},
    ),
    (("-q", "--quiet"), {"action": "store_true", "help": "print only the summary"}),
)


def add_hunt_parser(commands: Any) -> None:
    """Add ``hunt`` to the subcommands (``commands`` is argparse's subparsers action)."""
    hunt = commands.add_parser(
        "hunt",
        allow_abbrev=False,  # as split_command: an abbreviation would end hunt's options
        help="run a study the way `orion hunt` does (priors in the command line)",
        description="Run a study from an Oríon command line: hpsweep hunt -n NAME [-c "
        "orion.yaml] python train.py --lr~'loguniform(1e-5, 1.0)'. The command starts at the "
        "first argument that is not a hunt option.",
    )
    for flags, options in _OPTIONS:
        hunt.add_argument(*flags, **options)


def split_command(arguments: list[str]) -> tuple[list[str], list[str]]:
    """``hunt``'s own options and the user's command (from the first argument that is not a
    hunt option; a ``--`` may also end the options)."""
    takes_value = {flag: "action" not in kw for flags, kw in _OPTIONS for flag in flags}
    takes_value.update({"-h": False, "--help": False})
    index = 0
    while index < len(arguments):
        token = arguments[index]
        if token == "--":
            return arguments[:index], arguments[index + 1 :]
        flag = token.partition("=")[0] if token.startswith("--") else token[:2]
        if not token.startswith("-"):
            break
        # An unknown option stays with hunt's, so argparse reports it (with a suggestion).
        attached = len(token) > len(flag)  # --name=x or -nx
        index += 2 if takes_value.get(flag) and not attached else 1
    return arguments[:index], arguments[index:]


def cmd_hunt(args: argparse.Namespace, command: list[str] | None) -> int:
    from hpsweep._controller import run_summary_line
    from hpsweep._live import make_progress
    from hpsweep._session import execute
    from hpsweep.dialects import HuntOptions
    from hpsweep.dialects import hunt_config

    options = HuntOptions(
        **{
            key: getattr(args, key)
            for key in (
                "name",
                "config",
                "n_workers",
                "exp_max_trials",
                "exp_max_broken",
                "max_trials",
                "worker_max_trials",
                "worker_max_broken",
                "working_dir",
                "storage",
            )
        }
    )
    hunt = hunt_config(command or [], options)
    for note in hunt.notes:
        print(f"hpsweep: note: {note}", file=sys.stderr)
    progress = make_progress(quiet=args.quiet)
    try:
        summary = execute(hunt.config, progress=progress)
    finally:
        progress.close()
    print(f"hpsweep: {run_summary_line(summary)}", file=sys.stderr)
    return summary.exit_code


# -------------------------------------------------------------------------------- info


@dataclass(frozen=True)
class OrionStats:
    """What Oríon's ``info`` shows under Stats, computed from a stored study."""

    is_done: bool
    trials_completed: int
    best_id: int
    best_evaluation: float
    best_params: Mapping[str, Any]
    """``/name`` → value, as Oríon names dimensions."""
    start_time: dt.datetime | None
    finish_time: dt.datetime | None

    @property
    def elapsed_time(self) -> dt.timedelta | None:
        if self.start_time is None or self.finish_time is None:
            return None
        return self.finish_time - self.start_time


def orion_stats(study: optuna.Study) -> OrionStats | None:
    """The Stats of ``study``, or None when no trial completed (Oríon then prints "No trials
    executed..."). The best trial's id is its store id, the value trials see in
    ``$ORION_TRIAL_ID``; fixed params (fidelities) are listed with the sampled ones."""
    from optuna.trial import TrialState

    from hpsweep.engine._study import counts_toward_budget
    from hpsweep.engine._study import stored_config

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    if not complete:
        return None
    best = min(complete, key=lambda t: (t.values[0], t.number))
    config = stored_config(study) or {}
    fixed = {
        name: spec["value"]
        for name, spec in (config.get("space") or {}).items()
        if isinstance(spec, dict) and spec.get("type") == "fixed"
    }
    budget = config.get("n_trials")
    counted = sum(1 for t in trials if t.state.is_finished() and counts_toward_budget(t))
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    ends = [t.datetime_complete for t in complete if t.datetime_complete is not None]
    return OrionStats(
        is_done=isinstance(budget, int) and counted >= budget,
        trials_completed=len(complete),
        best_id=best._trial_id,
        best_evaluation=best.values[0],
        best_params={f"/{k}": v for k, v in {**best.params, **fixed}.items()},
        start_time=min(starts) if starts else None,
        finish_time=max(ends) if ends else None,
    )


def render_orion_stats(stats: OrionStats | None) -> str:
    """Oríon's Stats block, line for line."""
    if stats is None:
        return "Stats\n=====\nNo trials executed...\n"
    params = "\n".join(
        f"    {name}: {stats.best_params[name]}" for name in sorted(stats.best_params)
    )
    return (
        "Stats\n"
        "=====\n"
        f"completed: {stats.is_done}\n"
        f"trials completed: {stats.trials_completed}\n"
        "best trial:\n"
        f"  id: {stats.best_id}\n"
        f"  evaluation: {stats.best_evaluation}\n"
        "  params:\n"
        f"{params}\n"
        f"start time: {stats.start_time}\n"
        f"finish time: {stats.finish_time}\n"
        f"elapsed_time: {stats.elapsed_time}\n"
    )


def orion_info(args: argparse.Namespace) -> int:
    """``hpsweep info --name NAME``: the Stats block of ``orion info --name NAME``."""
    from hpsweep.engine import load_study
    from hpsweep.engine import open_store

    if args.study is not None and args.study != args.name:
        raise UsageError(
            f"give the study once: --name {args.name} or --study {args.study}, not both"
        )
    store = open_store(args.storage, readonly=True)
    try:
        stats = orion_stats(load_study(store, args.name))
    finally:
        store.close()
    sys.stdout.write(render_orion_stats(stats))
    return 0
