"""Plain-text renderings of report data, for the terminal."""

from __future__ import annotations

from typing import Any

from hpsweep.results._compute import StudyInfo


def render_info(info: StudyInfo) -> str:
    """``hpsweep info``: one ``key: value`` line per fact, details indented below."""
    lines = [
        f"study: {info.name}",
        f"storage: {info.storage}",
        f"directions: {', '.join(info.directions)}"
        + (f" (metrics: {', '.join(info.metrics)})" if info.metrics else ""),
    ]
    if info.runs:
        lines.append(f"runs: {info.runs}")
    if info.sampler:
        lines.append(f"sampler: {info.sampler}")
    if info.pruner:
        lines.append(f"pruner: {info.pruner}")
    if info.budgets:
        lines.append("budgets: " + ", ".join(f"{k}={v}" for k, v in info.budgets.items()))
    if info.space:
        lines.append("space:")
        lines.extend(f"  {spec}" for spec in info.space)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(info.counts.items()))
    lines.append(f"trials: {info.total} ({counts})" if info.total else "trials: 0")
    if info.why:
        lines.append("ended: " + ", ".join(f"{k} {v}" for k, v in sorted(info.why.items())))
    if info.best:
        label = "best" if len(info.directions) == 1 else "pareto front"
        for record in info.best:
            values = ", ".join(number(v) for v in record.values or ())
            lines.append(f"{label}: trial {record.number}, value {values}")
            lines.extend(f"  {k}: {scalar(v)}" for k, v in record.params.items())
    else:
        lines.append("best: none yet")
    if info.start is not None:
        lines.append(f"start: {info.start.isoformat(sep=' ', timespec='seconds')}")
    if info.finish is not None:
        lines.append(f"finish: {info.finish.isoformat(sep=' ', timespec='seconds')}")
    if info.duration_s is not None:
        lines.append(f"duration: {duration(info.duration_s)}")
    return "\n".join(lines)


def number(value: float) -> str:
    """Full precision, so a value pasted back reproduces the stored one."""
    return repr(value) if isinstance(value, float) else str(value)


def scalar(value: Any) -> str:
    """A param value as YAML would write it."""
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
