"""``hpsweep doctor [--storage URL] [--repair]``: what is wrong with a store, and the safe fixes.

Exit 0 when the store is healthy (after ``--repair``: when nothing is left to fix), 1 when
problems remain. The engine side is :mod:`hpsweep.engine._doctor`; nothing heavy is imported
here until the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from hpsweep.engine._doctor import Diagnosis
    from hpsweep.engine._doctor import Repair

READ_COMMANDS = ("info", "trials", "best", "studies", "report")
"""Commands that warn when a study was written by a newer hpsweep (and then read it anyway)."""


def add_parser(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """The ``doctor`` subcommand (called by the main parser)."""
    doctor = commands.add_parser(
        "doctor",
        help="check a store; --repair fixes what is safe to fix",
        description="Check a store: studies, trials by state, trials left running by dead "
        "controllers, torn or damaged journal records, SQLite integrity, the store format. "
        "With --repair, copy the store to <store>.bak-<time> first, then move damaged journal "
        "records to a side file and close dead controllers' trials as lost (their params run "
        "again). Exit 0 when healthy, 1 when problems remain.",
    )
    doctor.add_argument("--storage", help="store URL or path (default: ./hpsweep.journal)")
    doctor.add_argument(
        "--repair", action="store_true", help="back the store up, then repair what is safe"
    )


def cmd_doctor(args: argparse.Namespace) -> int:
    from hpsweep.engine._doctor import diagnose
    from hpsweep.engine._doctor import repair

    diagnosis = diagnose(args.storage)
    _out(render_diagnosis(diagnosis))
    if diagnosis.healthy:
        return 0
    if not args.repair:
        hint = (
            "run `hpsweep doctor --repair` to fix them (it backs the store up first)"
            if diagnosis.repairable
            else "doctor cannot repair all of them (see above)"
        )
        _out(f"{len(diagnosis.problems())} problem(s); {hint}")
        return 1
    if not diagnosis.repairable:
        _out("not repairing: doctor cannot fix every problem above safely; nothing was changed")
        return 1
    done = repair(args.storage)
    _out(render_repair(done))
    after = diagnose(args.storage)
    left = after.problems()
    if left:
        _out(f"{len(left)} problem(s) left:")
        _out("\n".join(f"  {problem}" for problem in left))
        return 1
    _out("the store is healthy now")
    return 0


def render_diagnosis(diagnosis: Diagnosis) -> str:
    lines = [f"store: {diagnosis.where} ({_describe(diagnosis)})"]
    if diagnosis.integrity is not None:
        lines.append(f"  SQLite integrity check: {diagnosis.integrity}")
    for study in diagnosis.studies:
        states = ", ".join(f"{state} {count}" for state, count in sorted(study.states.items()))
        marker = f"format {study.format}" if study.format is not None else "no format marker"
        lines.append(
            f"  study {study.name!r}: {study.total} trial(s) ({states or 'none'}); {marker}"
        )
        for running in study.running:
            if running.owner == "dead":
                what = f"its controller ({running.who}) is dead: --repair closes it as lost"
            elif running.owner == "alive":
                what = f"its controller ({running.who}) is alive"
            else:
                what = "not run by hpsweep (plain Optuna): left alone"
            lines.append(f"    trial {running.number}: running; {what}")
    if not diagnosis.studies and not diagnosis.problems():
        lines.append("  no studies")
    problems = diagnosis.problems()
    if problems:
        lines.append("problems:")
        lines.extend(f"  {problem}" for problem in problems)
    else:
        lines.append("healthy: nothing to repair")
    return "\n".join(lines)


def _describe(diagnosis: Diagnosis) -> str:
    parts = {"journal": "journal file", "sqlite": "SQLite file", "database": "database"}
    text = parts.get(diagnosis.kind, diagnosis.kind)
    if diagnosis.size is not None:
        text += f", {diagnosis.size} bytes"
    if diagnosis.kind == "journal":
        text += f", {diagnosis.records} records"
    return text


def render_repair(done: Repair) -> str:
    lines = []
    if done.backup:
        lines.append(f"backup: {done.backup}")
    if done.side_file:
        moved: list[str] = []
        if done.moved:
            shown = ", ".join(str(n) for n in done.moved[:20])
            more = f" and {len(done.moved) - 20} more" if len(done.moved) > 20 else ""
            moved.append(f"{len(done.moved)} damaged record(s) ({shown}{more})")
        if done.torn_bytes:
            moved.append(f"the torn last record ({done.torn_bytes} bytes)")
        lines.append(f"moved {' and '.join(moved)} to {done.side_file}")
        if done.placeholders:
            lines.append(
                f"recreated {done.placeholders} trial(s) whose creation record was damaged, "
                "from their other records (system attribute hpsweep:recreated)"
            )
        lines.append(
            f"replayed by Optuna: {done.trials_before} trial(s) before, {done.trials_after} after"
        )
    for study, numbers in done.lost.items():
        listed = ", ".join(str(n) for n in numbers)
        lines.append(
            f"study {study!r}: closed trial(s) {listed} as lost; their params run again on the "
            "next `hpsweep run`"
        )
    lines.extend(done.notes)
    return "\n".join(lines) if lines else "nothing needed repairing"


def warn_newer_format(args: argparse.Namespace) -> None:
    """Before a read command: say so when a study was written by a newer hpsweep."""
    from hpsweep.engine._doctor import format_warnings

    for warning in format_warnings(getattr(args, "storage", None), getattr(args, "study", None)):
        print(f"hpsweep: warning: {warning}", file=sys.stderr)


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
