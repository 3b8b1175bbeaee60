"""The command-line layer of a study's config: the flags that say what a study is and how it
runs, defined once for ``hpsweep run`` and for scripts decorated with ``@hpsweep.search``, and
the parser whose errors are one line. Standard library only (the CLI imports it for --help)."""

from __future__ import annotations

import argparse
from typing import Any

from hpsweep._errors import UsageError

__all__ = ["Parser", "add_sweep_options"]


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one-line usage errors (the CLI's and those of
    ``@hpsweep.search`` scripts)."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``hpsweep run`` that say what a study is and how it runs, which
    ``@hpsweep.search`` scripts take too."""
    parser.add_argument(
        "--study",
        help="study name (default: the config's `study`, else its file name, else 'default')",
    )
    parser.add_argument("--storage", help="store URL or path (default: ./hpsweep.journal)")
    parser.add_argument(
        "-n",
        "--n-trials",
        dest="n_trials",
        type=int,
        help="study total of trials, counting earlier runs",
    )
    parser.add_argument("-j", "--jobs", type=int, help="trials at a time")
    parser.add_argument(
        "-p",
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="SPEC",
        help="search-space param, e.g. 'lr=float(1e-5,1e-1,log)'",
    )
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (YAML-typed), e.g. params.epochs=3",
    )
    parser.add_argument("--direction", choices=("minimize", "maximize"))
    parser.add_argument("--metric", help="result key to optimize when a trial returns a dict")
    parser.add_argument(
        "--sampler",
        help="auto, tpe, random, gp, cmaes, qmc, grid, nsga2, ... or a dotted class path",
    )
    parser.add_argument("--pruner", help="none, median, percentile, asha, hyperband, ...")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--timeout", type=float, help="study wall time of this run, in seconds")
    parser.add_argument(
        "--trial-timeout",
        dest="trial_timeout",
        type=float,
        help="hard wall-clock limit per trial, in seconds",
    )
    parser.add_argument(
        "--max-failures",
        dest="max_failures",
        type=int,
        help="stop the study after this many failed trials",
    )
    parser.add_argument("--retries", type=int, help="re-run a failed trial this many times")
    parser.add_argument("--target", type=float, help="stop once a trial reaches this value")
    parser.add_argument(
        "--grace", type=float, help="seconds a stopped trial gets before it is killed (default 10)"
    )
