"""The ``hpsweep`` command: argument parsing and the one error boundary.

Nothing heavy is imported at module level, so ``hpsweep --help`` stays fast; each subcommand
imports what it needs when it runs. Only ``run`` writes to a store.
"""

from __future__ import annotations

import argparse
import difflib
import gc
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from hpsweep._errors import HpsweepError
from hpsweep._errors import UsageError
from hpsweep._options import Parser
from hpsweep._options import add_sweep_options
from hpsweep.cli import _doctor
from hpsweep.cli import _hunt
from hpsweep.cli import _worker

_FORMATS = ("table", "csv", "json", "yaml")
_ENGINE_COMMANDS = frozenset({"run", "create", "worker", "hunt"})
"""The commands that load Optuna (the read-only ones read the store without it)."""


_DEBUG_HELP = "show tracebacks of errors"


def _add_debug_to_subcommands(parser: argparse.ArgumentParser) -> None:
    """`--debug` after the subcommand too (`hpsweep run x.yaml --debug`), at every depth."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            # choices lists a subcommand once per alias
            for sub in {id(p): p for p in action.choices.values()}.values():
                # SUPPRESS: a subcommand without it keeps `hpsweep --debug`'s value
                sub.add_argument(
                    "--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP
                )
                _add_debug_to_subcommands(sub)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="hpsweep",
        description="Hyperparameter search for any function or "
        "command: parallel, prunable, crash-safe.",
    )
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    parser.add_argument("--version", action="version", version=f"hpsweep {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = commands.add_parser(
        "run",
        help="run a study (resumes it if it exists)",
        description="Run a study: a Python objective, or the command after `--`, once per "
        "trial. Running the same study again resumes it; -n is the study's total.",
    )
    run.add_argument("config", nargs="?", help="sweep YAML (space, params, settings)")
    add_sweep_options(run)
    run.add_argument(
        "--gpus",
        help="GPU ids for trials, e.g. 0,1,2,3, or auto (detect); each trial sees only its "
        "GPUs in CUDA_VISIBLE_DEVICES",
    )
    run.add_argument("--per-gpu", dest="per_gpu", type=int, help="trials sharing one GPU")
    run.add_argument(
        "--gpus-per-trial", dest="gpus_per_trial", type=int, help="GPUs each trial gets"
    )
    run.add_argument("--objective", help="Python objective as module:function")
    run.add_argument(
        "--executor",
        choices=("auto", "thread", "process", "ray"),
        help="where Python objectives run (default: threads for -j 1)",
    )
    run.add_argument(
        "--ray-address",
        dest="ray_address",
        help="with --executor ray: the cluster to join (auto, HOST:PORT; default: a local Ray)",
    )
    run.add_argument("--run-dir", dest="run_dir", help="where trial dirs go (hpsweep-runs)")
    run.add_argument(
        "--trial-cwd",
        dest="trial_cwd",
        choices=("start", "trial"),
        help="run command trials where hpsweep started (default) or in their dir",
    )
    run.add_argument(
        "--shell", action="store_true", default=None, help="run the command through /bin/sh"
    )
    run.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    _worker.add_parsers(commands, Parser)
    _hunt.add_hunt_parser(commands)
    _doctor.add_parser(commands, Parser)

    def reader(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--storage", help="store URL or path (default: ./hpsweep.journal)")
        sub.add_argument("--study", help="study name (default: the store's only study)")
        return sub

    commands.add_parser("studies", help="list the studies in a store").add_argument(
        "--storage", help="store URL or path (default: ./hpsweep.journal)"
    )
    info = reader("info", "summarize a study")
    info.add_argument(
        "-n", "--name", help="print Oríon's Stats block for this study (as `orion info --name`)"
    )
    trials = reader("trials", "list a study's trials")
    trials.add_argument("--format", choices=_FORMATS, default="table")
    trials.add_argument(
        "--state", action="append", choices=("complete", "pruned", "fail", "running", "waiting")
    )
    trials.add_argument("--sort", choices=("number", "value", "duration"), default="number")
    trials.add_argument("--limit", type=int)
    trials.add_argument(
        "--history", action="store_true", help="include intermediate values (json, yaml)"
    )
    best = reader("best", "show the best trial (the Pareto front for several objectives)")
    best.add_argument("--format", choices=("yaml", "json", "args", "env"), default="yaml")
    best.add_argument("--top", type=int, default=1, help="the K best trials")
    report = reader("report", "write a self-contained HTML report of a study (needs plotly)")
    report.add_argument("-o", "--output", default="report.html", help="default: report.html")
    dashboard = reader("dashboard", "serve optuna-dashboard on a store (needs optuna-dashboard)")
    dashboard.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    dashboard.add_argument("--port", type=int, default=8080, help="default: 8080")
    space = commands.add_parser("space", help="check a search space without running anything")
    space_commands = space.add_subparsers(
        dest="space_command", metavar="COMMAND", parser_class=Parser, required=True
    )
    check = space_commands.add_parser(
        "check",
        help="validate a config and print its space as -p specs and as YAML",
        description="Validate a config and print its space as -p specs and as YAML.",
    )
    check.add_argument("config", nargs="?", help="sweep YAML")
    check.add_argument("-p", "--param", dest="params", action="append", default=[])
    check.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    check.add_argument("--format", choices=("both", "cli", "yaml"), default="both")
    _add_debug_to_subcommands(parser)
    return parser


def _command_word(args: Sequence[str]) -> str | None:
    """The subcommand as typed: the first argument that is not an option."""
    return next((a for a in args if not a.startswith("-")), None)


def _check_command_name(parser: argparse.ArgumentParser, args: list[str]) -> None:
    """`hpsweep rnu` gets a suggestion instead of argparse's list of every command."""
    first = _command_word(args)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and first is not None:
            if first not in action.choices:
                close = difflib.get_close_matches(first, list(action.choices), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise UsageError(f"unknown command {first!r}; {hint}see `hpsweep --help`")


def _unrecognized(parser: argparse.ArgumentParser, command: str | None, extra: list[str]) -> str:
    prog = f"hpsweep {command}" if command else "hpsweep"
    message = f"{prog}: unrecognized arguments: {' '.join(extra)}"
    options: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            options = [o for a in action.choices[command]._actions for o in a.option_strings]
    close = difflib.get_close_matches(extra[0].split("=")[0], options, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{message}{hint} (see `{prog} --help`)"


def _version() -> str:
    from hpsweep import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 done, 1 failed, 2 bad input, 130 interrupted)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command: list[str] | None = None
    first = next((i for i, a in enumerate(args_list) if a != "--debug"), len(args_list))
    if args_list[first : first + 1] == ["hunt"]:
        # Oríon's syntax: hunt's options, then the user's command, `--` and all.
        options, command = _hunt.split_command(args_list[first + 1 :])
        args_list = [*args_list[: first + 1], *options]
    elif "--" in args_list:
        split = args_list.index("--")
        args_list, command = args_list[:split], args_list[split + 1 :]
    debug = "--debug" in args_list or os.environ.get("HPSWEEP_DEBUG", "") not in ("", "0")
    try:
        parser = _parser()
        _check_command_name(parser, args_list)
        args, extra = parser.parse_known_args(args_list)
        debug = debug or args.debug  # an abbreviation of --debug counts too
        if extra:
            raise UsageError(_unrecognized(parser, args.command, extra))
        if args.command is None:
            parser.print_help()
            return 2
        if command is not None and args.command not in ("run", "hunt"):
            raise UsageError(
                f"`--` and a command only go with `hpsweep run`, not `hpsweep {args.command}`"
            )
        from hpsweep.cli import _commands
        from hpsweep.cli import _inspect

        name = f"cmd_{args.command}"
        handler = (
            getattr(_commands, name, None)
            or getattr(_worker, name, None)
            or getattr(_hunt, name, None)
            or getattr(_doctor, name, None)
            or getattr(_inspect, name)
        )
        if args.command in _doctor.READ_COMMANDS:
            _doctor.warn_newer_format(args)  # a study from a newer hpsweep: read, with a warning
        with_command = args.command in ("run", "hunt")
        code: int = handler(args, command) if with_command else handler(args)
        return code
    except HpsweepError as error:
        if debug:
            traceback.print_exc()
        print(f"hpsweep: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("hpsweep: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0  # `hpsweep trials | head`: the reader left; that is not an error
    except Exception as error:
        if debug:
            raise
        print(
            f"hpsweep: internal error: {type(error).__name__}: {error} (rerun with --debug "
            "for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


def console() -> NoReturn:
    """The ``hpsweep`` program and ``python -m hpsweep``: :func:`main` in a process of its own."""
    if _command_word(sys.argv[1:]) in _ENGINE_COMMANDS:
        _import_engine()
    sys.exit(main())


def _import_engine() -> None:
    """Import what a study needs with the cyclic garbage collector paused, then freeze it.

    These imports (Optuna and numpy, mostly) are most of a run's start-up and make some 10^5
    objects and no garbage, yet each collection they trigger walks every object made so far, and
    the last one, at exit, walks them all again. Frozen, they are left out of every collection:
    ~60 ms less per run, a quarter of a sweep's fixed cost (benchmarks/RESULTS.md, "Parallel").
    Only a process of its own does this, never a caller of :func:`main`: a freeze keeps whatever
    garbage the caller has at that moment.
    """
    gc.disable()
    try:
        import optuna  # noqa: F401

        import hpsweep._session  # noqa: F401
    except ImportError:
        pass  # main() meets it again and says what is wrong, in one line
    finally:
        gc.freeze()
        gc.enable()
