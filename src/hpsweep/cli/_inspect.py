"""Subcommands that look at studies and configs: ``report``, ``dashboard``, ``space check``.

Like every read-side command they open the store read-only. Their heavy dependencies (plotly,
optuna-dashboard) are optional extras, imported when the command runs.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from pathlib import Path

from hpsweep._errors import HpsweepError
from hpsweep._errors import UsageError

DASHBOARD_HINT = (
    "the dashboard needs optuna-dashboard; install it with: pip install 'hpsweep[dashboard]'"
)


def cmd_report(args: argparse.Namespace) -> int:
    from hpsweep.results._html import PLOTLY_HINT

    try:
        import plotly  # noqa: F401  (fail before reading a big store)
    except ImportError:
        raise HpsweepError(PLOTLY_HINT) from None
    from hpsweep.engine import load_study
    from hpsweep.engine import open_store
    from hpsweep.results._figures import report_data
    from hpsweep.results._html import render_html

    output = Path(args.output)
    if not output.parent.is_dir():
        raise UsageError(f"cannot write {output}: the directory {output.parent} is missing")
    store = open_store(args.storage, readonly=True)
    try:
        data = report_data(load_study(store, args.study), store.display_url)
    finally:
        store.close()
    page = render_html(data)
    output.write_text(page, encoding="utf-8")
    print(
        f"hpsweep: wrote {output} ({len(page.encode()) / 1e6:.1f} MB; open it in a browser, "
        "no network needed)",
        file=sys.stderr,
    )
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    try:
        # Through importlib: optuna-dashboard ships no type information.
        optuna_dashboard = importlib.import_module("optuna_dashboard")
    except ImportError:
        raise HpsweepError(DASHBOARD_HINT) from None
    from hpsweep.engine import open_store

    # The store opens read-only, as for every read-side command: the dashboard shows studies
    # (and follows running ones) but its edits (notes, renames, deletes) are refused.
    store = open_store(args.storage, readonly=True)
    print(
        f"hpsweep: dashboard for {store.display_url} at http://{args.host}:{args.port}/ "
        "(Ctrl-C stops it)",
        file=sys.stderr,
        flush=True,
    )
    try:
        optuna_dashboard.run_server(store.storage, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    except OSError as error:
        raise HpsweepError(
            f"cannot serve on {args.host}:{args.port}: {error.strerror}; pick another --port"
        ) from None
    finally:
        store.close()
    return 0


def cmd_space(args: argparse.Namespace) -> int:
    """``space check``: validate a config's space without running anything, and print it."""
    import yaml

    from hpsweep._config import load_config

    if args.config is None and not args.params:
        raise UsageError("give a config file or -p specs, e.g. hpsweep space check sweep.yaml")
    config = load_config(args.config, sets=args.sets, cli_space=args.params)
    space = config.space
    if not len(space):
        raise UsageError(
            f"{args.config or 'the command line'} has no search space; add a space: section "
            "or -p specs"
        )
    parts = []
    if args.format in ("cli", "both"):
        specs = "\n".join(f"-p {shlex.quote(spec)}" for spec in space.to_cli())
        parts.append(f"# the space as -p specs\n{specs}" if args.format == "both" else specs)
    if args.format in ("yaml", "both"):
        body = yaml.safe_dump({"space": space.to_mapping()}, sort_keys=False).rstrip("\n")
        parts.append(f"# the space as YAML\n{body}" if args.format == "both" else body)
    print("\n\n".join(parts))
    print(f"hpsweep: {len(space)} params OK", file=sys.stderr)
    return 0
