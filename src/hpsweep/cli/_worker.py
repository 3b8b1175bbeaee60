"""``hpsweep create`` and ``hpsweep worker``: one study, many hosts.

``create`` stores a sweep config in a study (as ``run`` does, in the study's user attribute
``hpsweep.config``) without running anything; ``worker`` reads back the study's settings (not
those of the host that stored them) and runs trials until the study total is reached. Each
worker is an ordinary controller with its own owner record, so the budget mutex of the store
keeps the total exact and heartbeats let the others re-run the trials of a worker that died.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any

from hpsweep._errors import ConfigError
from hpsweep._errors import UsageError

# Settings of one run on one host: how many trials at a time and on which devices, where they
# run, where their dirs go, how long this process may go on. `hpsweep run` stores them with the
# study's config, but they describe that run (its --timeout is its own wall-time budget), so a
# worker never takes them from the study: it has its own flag for each, else the default.
HOST_SETTINGS = (
    "jobs",
    "gpus",
    "per_gpu",
    "gpus_per_trial",
    "executor",
    "ray_address",
    "run_dir",
    "timeout",
)
# Study settings that a worker's flag may still override, for that worker alone: the study's
# value is every worker's default, so that all of them judge a silent host's trials lost alike.
WORKER_OVERRIDES = ("heartbeat_expiry",)


def cmd_create(args: argparse.Namespace) -> int:
    from hpsweep._config import SweepConfig
    from hpsweep._config import load_config
    from hpsweep.engine import open_store
    from hpsweep.engine import open_study
    from hpsweep.engine._study import find_study

    flags = {"study": args.study, "storage": args.storage, "n_trials": args.n_trials}
    config = load_config(args.config, sets=args.sets, flags=flags, cli_space=args.params)
    if not len(config.space) and not config.params:
        raise UsageError(
            "the search space is empty; add params with -p 'x=float(0,1)' or a space: section"
        )
    if config.objective is None and config.command is None:
        raise UsageError(
            "workers need something to run: set objective: module:function or command: [...] "
            "in the config"
        )
    if config.n_trials is None:
        raise UsageError(
            "give the study total (-n N or n_trials: in the config); workers stop when the "
            "study reaches it"
        )
    store = open_store(config.storage, study=config.study)
    try:
        existed = find_study(store, config.study) is not None
        # The storage URL (and its password) is the workers' own business: not stored.
        open_study(dataclasses.replace(config, storage=None), store)
        where = store.display_url
    finally:
        store.close()
    defaults = SweepConfig()
    per_host = [key for key in HOST_SETTINGS if getattr(config, key) != getattr(defaults, key)]
    if per_host:
        # Workers ignore them (see HOST_SETTINGS): say so, rather than let a config look obeyed.
        print(
            f"hpsweep: note: {', '.join(per_host)} belong to each host, so workers do not take "
            "them from the study; pass them to `hpsweep worker` as flags",
            file=sys.stderr,
        )
    verb = "updated the config of" if existed else "created"
    print(
        f"hpsweep: {verb} study {config.study!r} in {where} ({config.n_trials} trials); "
        f"add workers with: hpsweep worker --study {config.study} --storage {where}",
        file=sys.stderr,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from hpsweep._config import from_mapping
    from hpsweep._controller import run_summary_line
    from hpsweep._live import make_progress
    from hpsweep._session import execute
    from hpsweep.engine import load_study
    from hpsweep.engine import open_store
    from hpsweep.engine._study import stored_config

    storage = args.storage or os.environ.get("HPSWEEP_STORAGE")
    if not storage:
        raise UsageError(
            "hpsweep worker needs --storage URL (or HPSWEEP_STORAGE): the store that holds the "
            "study, e.g. postgresql://user@host/db"
        )
    store = open_store(storage, readonly=True, study=args.study)
    try:
        study = load_study(store, args.study)
        mapping = stored_config(study)
        where = store.display_url
    finally:
        store.close()
    if mapping is None:
        raise ConfigError(
            f"study {args.study!r} in {where} holds no hpsweep config; create it with "
            "`hpsweep create CONFIG --storage URL` or `hpsweep run CONFIG --storage URL`"
        )
    document: dict[str, Any] = {k: v for k, v in mapping.items() if k not in HOST_SETTINGS}
    document["storage"] = storage
    for key in (*HOST_SETTINGS, *WORKER_OVERRIDES):
        value = getattr(args, key)
        if value is not None:
            document[key] = value
    config = from_mapping(document, source=f"the config stored in study {args.study!r}")
    if config.n_trials is None and config.timeout is None:
        raise UsageError(
            f"study {args.study!r} has no n_trials, so a worker would never stop; recreate it "
            "with -n N, or give the worker --timeout SECONDS"
        )
    progress = make_progress(quiet=args.quiet)
    try:
        summary = execute(config, progress=progress, host_id=args.host_id, record_config=False)
    finally:
        progress.close()
    print(f"hpsweep: {run_summary_line(summary)}", file=sys.stderr)
    return summary.exit_code


def add_parsers(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """The ``create`` and ``worker`` subcommands (called by the main parser)."""
    create = commands.add_parser(
        "create",
        help="store a sweep config as a study, for `hpsweep worker`s to run",
        description="Create a study (or update its stored config) without running trials; "
        "workers on any host then need only --study and --storage.",
    )
    create.add_argument("config", nargs="?", help="sweep YAML (space, objective or command, ...)")
    create.add_argument("--study", help="study name (default: the config's, else its file name)")
    create.add_argument("--storage", help="store URL, e.g. postgresql://user:pass@host/db")
    create.add_argument(
        "-n", "--n-trials", dest="n_trials", type=int, help="study total of trials"
    )
    create.add_argument("-p", "--param", dest="params", action="append", default=[])
    create.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")

    worker = commands.add_parser(
        "worker",
        help="join a study from this host and run trials until its total is reached",
        description="Run trials of a study created by `hpsweep create` or `hpsweep run`, with "
        "the config stored in it, until the study total is reached; exits 0 then. Start as "
        "many as you like, on as many hosts as you like.",
    )
    worker.add_argument("--study", required=True, help="the study to join")
    worker.add_argument(
        "--storage", help="store URL (default: $HPSWEEP_STORAGE), e.g. postgresql://..."
    )
    worker.add_argument("-j", "--jobs", type=int, help="trials at a time on this host")
    worker.add_argument("--gpus", help="GPU ids for this host's trials, e.g. 0,1, or auto")
    worker.add_argument("--per-gpu", dest="per_gpu", type=int, help="trials sharing one GPU")
    worker.add_argument(
        "--gpus-per-trial", dest="gpus_per_trial", type=int, help="GPUs each trial gets"
    )
    worker.add_argument(
        "--executor",
        choices=("auto", "thread", "process", "ray"),
        help="where Python objectives run on this host (default: auto)",
    )
    worker.add_argument("--ray-address", dest="ray_address", help="Ray cluster: auto, HOST:PORT")
    worker.add_argument("--run-dir", dest="run_dir", help="where trial dirs go on this host")
    worker.add_argument(
        "--timeout", type=float, help="stop starting trials after this many seconds"
    )
    worker.add_argument(
        "--heartbeat-expiry",
        dest="heartbeat_expiry",
        type=float,
        help="seconds without a heartbeat after which another host's trials count as lost "
        "and run again (default: the study's, else 60)",
    )
    worker.add_argument(
        "--host-id",
        dest="host_id",
        help="the host name to record (default: $HPSWEEP_HOST_ID, else the host name); "
        "distinct ids make workers on one machine judge each other by heartbeat",
    )
    worker.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
