"""The subcommands. Read-side commands open the store read-only and never ask or tell."""

from __future__ import annotations

import argparse
import csv
import io
import json
import shlex
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._errors import UsageError
from hpsweep.results._text import number
from hpsweep.results._text import scalar

if TYPE_CHECKING:
    from hpsweep.results import StudyData
    from hpsweep.results import TrialRecord


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cmd_run(args: argparse.Namespace, command: list[str] | None) -> int:
    from hpsweep._config import load_config
    from hpsweep._controller import run_summary_line
    from hpsweep._live import make_progress
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
            "ray_address",
            "run_dir",
            "trial_cwd",
            "shell",
        )
    }
    if command is not None:
        flags["command"] = command
    if args.config is not None:
        from hpsweep.dialects._axect import is_axect_file

        if is_axect_file(args.config):  # Axect's optimize_template.yaml
            from hpsweep.compat.axect import cli_run

            return cli_run(
                args.config, sets=args.sets, flags=flags, cli_space=args.params, quiet=args.quiet
            )
    config = load_config(args.config, sets=args.sets, flags=flags, cli_space=args.params)
    if not len(config.space) and not config.params:
        raise UsageError(
            "the search space is empty; add params with -p 'x=float(0,1)' or a "
            "space: section in the config"
        )
    progress = make_progress(quiet=args.quiet)  # live on a terminal, plain in logs
    summary = execute(config, progress=progress)  # closes the live view before we print
    print(f"hpsweep: {run_summary_line(summary)}", file=sys.stderr)
    return summary.exit_code


def _reading(args: argparse.Namespace, *, intermediate: bool = False) -> StudyData:
    from hpsweep.results import read_study

    return read_study(args.storage, args.study, intermediate=intermediate)


def cmd_studies(args: argparse.Namespace) -> int:
    from hpsweep.results import read_studies
    from hpsweep.results import summarize

    where, studies = read_studies(args.storage, intermediate=False)
    rows = []
    for data in studies:
        info = summarize(data)
        best = ", ".join(number(v) for v in info.best[0].values or ()) if info.best else "-"
        states = " ".join(f"{k}={v}" for k, v in sorted(info.counts.items()))
        rows.append([info.name, str(info.total), states or "-", best])
    if not rows:
        _out(f"no studies in {where}")
        return 0
    _out(_table(["study", "trials", "states", "best"], rows))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from hpsweep.results import render_info
    from hpsweep.results import summarize

    if args.name is not None:  # `orion info --name NAME`
        from hpsweep.cli._hunt import orion_info

        return orion_info(args)
    _out(render_info(summarize(_reading(args))))
    return 0


def cmd_trials(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:  # a negative one would slice from the end
        raise UsageError(f"--limit must be >= 1, got {args.limit}")
    data = _reading(args, intermediate=args.history)
    records = list(data.records)
    directions = data.directions
    if args.state:
        records = [r for r in records if r.state in args.state]
    records = _sorted(records, args.sort, directions[0])
    if args.limit is not None:
        records = records[: args.limit]
    if args.format == "json":
        # One trial per line: json uses its C encoder only without indent (5x faster).
        items = [json.dumps(r.to_json(history=args.history)) for r in records]
        _out("[\n" + ",\n".join(items) + "\n]" if items else "[]")
    elif args.format == "yaml":
        import yaml

        documents = [json.loads(json.dumps(r.to_json(history=args.history))) for r in records]
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when installed
        _out(yaml.dump(documents, Dumper=dumper, sort_keys=False) if documents else "[]")
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
        cells = [number(values[i]) if i < len(values) else "" for i in range(len(value_columns))]
        duration = f"{r.duration_s:.3f}" if r.duration_s is not None else ""
        rows.append(
            [
                str(r.number),
                r.state,
                r.why,
                *cells,
                duration,
                *(scalar(r.params[n]) if n in r.params else "" for n in names),
                str(r.user_attrs.get("error", "")),
            ]
        )
    return header, rows


def cmd_best(args: argparse.Namespace) -> int:
    from hpsweep.engine import merge_params
    from hpsweep.results import best_records

    if args.top < 1:
        raise UsageError(f"--top must be >= 1, got {args.top}")
    if args.format == "env" and args.top > 1:
        # K blocks assign the same names: sourcing them would keep the K-th best's values
        raise UsageError(
            f"--format env gives one trial's NAME=value lines, not {args.top}; "
            "use --format yaml or json for the top K"
        )
    data = _reading(args)
    records, directions, name = list(data.records), data.directions, data.name
    if len(directions) == 1:
        # as best_records: only trials that satisfy every constraint
        complete = [
            r for r in records if r.state == "complete" and r.values is not None and r.feasible
        ]
        best = _sorted(complete, "value", directions[0])[: args.top]
    else:
        if args.top > 1:
            raise UsageError(
                f"--top needs one objective: study {name!r} has {len(directions)}, and its "
                "Pareto front has no order to take the top from; leave --top out for the front"
            )
        best = best_records(records, directions)
        if args.format == "env" and len(best) > 1:  # the same reason as for --top above
            raise UsageError(
                f"--format env gives one trial's NAME=value lines, but the Pareto front of "
                f"study {name!r} holds {len(best)} trials; use --format yaml or json"
            )
    if not best:
        raise UsageError(f"study {name!r} has no complete trial yet")
    if args.format == "json":
        items = [_best_json(r) for r in best]
        _out(json.dumps(items[0] if len(items) == 1 else items, indent=2))
    elif args.format == "yaml":
        import yaml

        chunks = []
        for r in best:
            values = ", ".join(number(v) for v in r.values or ())
            body = yaml.safe_dump(merge_params({}, dict(r.params)), sort_keys=False)
            chunks.append(f"# study {name!r}, trial {r.number}, value {values}\n{body}")
        _out("---\n".join(chunks))
    elif args.format == "args":
        for r in best:
            _out(shlex.join(item for k, v in r.params.items() for item in (f"--{k}", scalar(v))))
    else:
        for r in best:
            _out(
                "\n".join(f"{_env_name(k)}={shlex.quote(scalar(v))}" for k, v in r.params.items())
            )
    return 0


def _best_json(record: TrialRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"number": record.number}
    if record.values is not None and len(record.values) > 1:
        out["values"] = list(record.values)
    else:
        out["value"] = record.value
    out["params"] = dict(record.params)
    if record.constraints:
        out["constraints"] = dict(record.constraints)
    return out


def _env_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).upper()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
    return "\n".join(lines)
