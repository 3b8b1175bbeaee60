"""The subcommands. Read-side commands open the store read-only and never ask or tell."""

from __future__ import annotations

import argparse
import csv
import io
import json
import shlex
import sys
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._errors import UsageError

if TYPE_CHECKING:
    import optuna

    from hpsweep.engine import Store
    from hpsweep.report import TrialRecord


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cmd_run(args: argparse.Namespace, command: list[str] | None) -> int:
    from hpsweep._config import load_config
    from hpsweep._controller import run_summary_line
    from hpsweep._progress import PlainProgress
    from hpsweep._session import execute

    if command is not None and not command:
        raise UsageError(
            "nothing after `--`; give the trial command, e.g. -- python train.py --lr {lr}"
        )
    flags = {
        key: getattr(args, key)
        for key in (
            "study",
            "storage",
            "n_trials",
            "jobs",
            "gpus",
            "per_gpu",
            "gpus_per_trial",
            "direction",
            "metric",
            "sampler",
            "pruner",
            "seed",
            "timeout",
            "trial_timeout",
            "max_failures",
            "retries",
            "target",
            "grace",
            "objective",
            "executor",
            "run_dir",
            "trial_cwd",
            "shell",
        )
    }
    if command is not None:
        flags["command"] = command
    config = load_config(args.config, sets=args.sets, flags=flags, cli_space=args.params)
    if not len(config.space) and not config.params:
        raise UsageError(
            "the search space is empty; add params with -p 'x=float(0,1)' or a "
            "space: section in the config"
        )
    progress = PlainProgress(quiet=args.quiet)
    summary = execute(config, progress=progress)
    print(f"hpsweep: {run_summary_line(summary)}", file=sys.stderr)
    return summary.exit_code


@contextmanager
def _reading(args: argparse.Namespace) -> Iterator[tuple[Store, optuna.Study]]:
    from hpsweep.engine import load_study
    from hpsweep.engine import open_store

    store = open_store(args.storage, readonly=True)
    try:
        yield store, load_study(store, args.study)
    finally:
        store.close()


def cmd_studies(args: argparse.Namespace) -> int:
    import optuna

    from hpsweep.engine import open_store
    from hpsweep.report import study_info

    store = open_store(args.storage, readonly=True)
    try:
        rows = []
        for summary in store.storage.get_all_studies():
            study = optuna.load_study(study_name=summary.study_name, storage=store.storage)
            info = study_info(study, store.display_url)
            best = ", ".join(_number(v) for v in info.best[0].values or ()) if info.best else "-"
            states = " ".join(f"{k}={v}" for k, v in sorted(info.counts.items()))
            rows.append([info.name, str(info.total), states or "-", best])
    finally:
        store.close()
    if not rows:
        _out(f"no studies in {store.display_url}")
        return 0
    _out(_table(["study", "trials", "states", "best"], rows))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from hpsweep.report import study_info

    with _reading(args) as (store, study):
        info = study_info(study, store.display_url)
    lines = [
        f"study: {info.name}",
        f"storage: {info.storage}",
        f"directions: {', '.join(info.directions)}",
        "trials: "
        + (
            f"{info.total} (" + ", ".join(f"{k} {v}" for k, v in sorted(info.counts.items())) + ")"
            if info.total
            else "0"
        ),
    ]
    if info.why:
        lines.append("ended: " + ", ".join(f"{k} {v}" for k, v in sorted(info.why.items())))
    if info.config:
        config = info.config
        what = config.get("command") or config.get("objective")
        if what:
            lines.append(f"runs: {shlex.join(what) if isinstance(what, list) else what}")
        sampler = (config.get("sampler") or {}).get("name", "auto")
        pruner = (config.get("pruner") or {}).get("name", "median")
        lines.append(f"sampler: {sampler}, pruner: {pruner}")
        budgets = [
            f"{key}={config[key]}"
            for key in ("n_trials", "timeout", "trial_timeout", "max_failures", "retries", "jobs")
            if config.get(key) is not None
        ]
        if budgets:
            lines.append("budgets: " + ", ".join(budgets))
        if config.get("space"):
            lines.append("space:")
            lines.extend(f"  {name}: {_compact(spec)}" for name, spec in config["space"].items())
    if info.best:
        label = "best" if len(info.directions) == 1 else "pareto front"
        for record in info.best:
            values = ", ".join(_number(v) for v in record.values or ())
            lines.append(f"{label}: trial {record.number}, value {values}")
            lines.extend(f"  {k}: {_scalar(v)}" for k, v in record.params.items())
    else:
        lines.append("best: none yet")
    if info.start is not None:
        lines.append(f"start: {info.start.isoformat(sep=' ', timespec='seconds')}")
    if info.finish is not None:
        lines.append(f"finish: {info.finish.isoformat(sep=' ', timespec='seconds')}")
    if info.duration_s is not None:
        lines.append(f"duration: {info.duration_s:.1f}s")
    _out("\n".join(lines))
    return 0


def _compact(spec: Any) -> str:
    if isinstance(spec, Mapping):
        return ", ".join(f"{k}={_compact(v)}" for k, v in spec.items())
    return _scalar(spec)


def cmd_trials(args: argparse.Namespace) -> int:
    from hpsweep.report import trial_records

    with _reading(args) as (_, study):
        records = trial_records(study)
        directions = [d.name.lower() for d in study.directions]
    if args.state:
        records = [r for r in records if r.state in args.state]
    records = _sorted(records, args.sort, directions[0])
    if args.limit is not None:
        records = records[: args.limit]
    if args.format == "json":
        _out(json.dumps([r.to_json(history=args.history) for r in records], indent=2))
    elif args.format == "yaml":
        import yaml

        documents = [json.loads(json.dumps(r.to_json(history=args.history))) for r in records]
        _out(yaml.safe_dump(documents, sort_keys=False) if documents else "[]")
    else:
        header, rows = _flat_rows(records)
        if args.format == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
            _out(buffer.getvalue())
        elif rows:
            _out(_table(header, rows))
        else:
            _out("no trials")
    return 0


def _sorted(records: list[TrialRecord], key: str, direction: str) -> list[TrialRecord]:
    if key == "number":
        return sorted(records, key=lambda r: r.number)
    if key == "duration":
        return sorted(records, key=lambda r: (r.duration_s is None, r.duration_s or 0.0))
    sign = 1.0 if direction == "minimize" else -1.0
    return sorted(
        records,
        key=lambda r: (r.values is None, sign * r.values[0] if r.values else 0.0, r.number),
    )


def _flat_rows(records: Sequence[TrialRecord]) -> tuple[list[str], list[list[str]]]:
    names: list[str] = []
    for record in records:
        names.extend(n for n in record.params if n not in names)
    multi = any(r.values is not None and len(r.values) > 1 for r in records)
    width = max((len(r.values) for r in records if r.values), default=1)
    value_columns = [f"value_{i}" for i in range(width)] if multi else ["value"]
    header = ["number", "state", "why", *value_columns, "duration_s", *names, "error"]
    rows = []
    for r in records:
        values = list(r.values or ())
        cells = [_number(values[i]) if i < len(values) else "" for i in range(len(value_columns))]
        duration = f"{r.duration_s:.3f}" if r.duration_s is not None else ""
        rows.append(
            [
                str(r.number),
                r.state,
                r.why,
                *cells,
                duration,
                *(_scalar(r.params[n]) if n in r.params else "" for n in names),
                str(r.user_attrs.get("error", "")),
            ]
        )
    return header, rows


def cmd_best(args: argparse.Namespace) -> int:
    from hpsweep.engine import merge_params
    from hpsweep.report import best_records
    from hpsweep.report import trial_records

    if args.top < 1:
        raise UsageError(f"--top must be >= 1, got {args.top}")
    with _reading(args) as (_, study):
        records = trial_records(study)
        directions = [d.name.lower() for d in study.directions]
        name = study.study_name
    if len(directions) == 1:
        complete = [r for r in records if r.state == "complete" and r.values is not None]
        best = _sorted(complete, "value", directions[0])[: args.top]
    else:
        best = best_records(records, directions)
    if not best:
        raise UsageError(f"study {name!r} has no complete trial yet")
    if args.format == "json":
        items = [_best_json(r) for r in best]
        _out(json.dumps(items[0] if len(items) == 1 else items, indent=2))
    elif args.format == "yaml":
        import yaml

        chunks = []
        for r in best:
            values = ", ".join(_number(v) for v in r.values or ())
            body = yaml.safe_dump(merge_params({}, dict(r.params)), sort_keys=False)
            chunks.append(f"# study {name!r}, trial {r.number}, value {values}\n{body}")
        _out("---\n".join(chunks))
    elif args.format == "args":
        for r in best:
            _out(shlex.join(item for k, v in r.params.items() for item in (f"--{k}", _scalar(v))))
    else:
        for r in best:
            _out(
                "\n".join(f"{_env_name(k)}={shlex.quote(_scalar(v))}" for k, v in r.params.items())
            )
    return 0


def _best_json(record: TrialRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"number": record.number}
    if record.values is not None and len(record.values) > 1:
        out["values"] = list(record.values)
    else:
        out["value"] = record.value
    out["params"] = dict(record.params)
    return out


def _env_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).upper()


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
    return "\n".join(lines)
