"""How long `hpsweep trials` takes to list a 10 000-trial study from the default store.

Creates the study as ``hpsweep.journal`` in a temporary directory (or ``--dir``) with, for each
trial, the storage operations the controller makes (create, run attribute, four params, ten
intermediate values, why, state; 30 % pruned, 5 % failed), then times ``hpsweep trials`` in
each format (the default table, csv, json) as subprocesses: the best wall time of ``--repeat``
runs, and that run's CPU time (a fairer figure on a busy machine). Exit code 1 if a listing's
wall time reaches ``--budget`` seconds.

    .venv/bin/python benchmarks/listing.py            # 10 000 trials, budget 1 s
    .venv/bin/python benchmarks/listing.py -n 2000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from optuna.storages.journal import BaseJournalBackend

from hpsweep._config import load_config

SPACE = {
    "lr": {"type": "float", "low": 1.0e-5, "high": 1.0, "log": True},
    "layers": {"type": "int", "low": 1, "high": 6},
    "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
}
STEPS = 10


class _Recorder(BaseJournalBackend):
    """A journal backend that keeps the log in memory, so writing the study is quick."""

    def __init__(self) -> None:
        self.logs: list[dict[str, Any]] = []

    def read_logs(self, log_number_from: int) -> list[dict[str, Any]]:
        return self.logs[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self.logs.extend(logs)


def make_study(path: Path, n_trials: int, *, seed: int = 0) -> float:
    """Write an ``n_trials`` study to the journal file ``path``; returns the seconds taken.

    Each trial gets the storage operations the controller makes (create, run attribute, params,
    intermediate values, why, state); Optuna's journal storage turns them into records, which
    are written the way hpsweep's store writes them.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.distributions import FloatDistribution
    from optuna.distributions import IntDistribution
    from optuna.storages import JournalStorage
    from optuna.trial import TrialState

    from hpsweep.engine._study import CONFIG_ATTR

    began = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = load_config(flags={"study": "listing", "n_trials": n_trials, "space": SPACE})
    distributions = {
        "lr": FloatDistribution(1.0e-5, 1.0, log=True),
        "layers": IntDistribution(1, 6),
        "optimizer": CategoricalDistribution(["adam", "sgd"]),
        "dropout": FloatDistribution(0.0, 0.5),
    }
    rng = random.Random(seed)
    recorder = _Recorder()
    storage = JournalStorage(recorder)
    study = optuna.create_study(study_name=config.study, storage=storage)
    study.set_user_attr(CONFIG_ATTR, config.to_mapping())
    study_id = study._study_id
    for number in range(n_trials):
        trial_id = storage.create_new_trial(study_id)
        storage.set_trial_system_attr(
            trial_id, "hpsweep:run", {"owner": "bench", "finished_before": number}
        )
        lr, dropout = 10 ** rng.uniform(-5, 0), rng.uniform(0.0, 0.5)
        params = {
            "lr": lr,
            "layers": rng.randint(1, 6),
            "optimizer": rng.choice(["adam", "sgd"]),
            "dropout": dropout,
        }
        for name, value in params.items():
            dist = distributions[name]
            storage.set_trial_param(trial_id, name, dist.to_internal_repr(value), dist)
        floor = abs(lr - 0.01) + dropout / 10
        loss = 1.0 + floor
        why = rng.choices(["complete", "pruned", "failed"], weights=[65, 30, 5])[0]
        for step in range(STEPS // 3 if why == "pruned" else STEPS):
            loss = floor + (loss - floor) * 0.6
            storage.set_trial_intermediate_value(trial_id, step, loss)
        storage.set_trial_user_attr(trial_id, "why", why)
        if why == "failed":
            storage.set_trial_user_attr(trial_id, "error", "exit code 1")
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
        elif why == "pruned":
            storage.set_trial_state_values(trial_id, TrialState.PRUNED, [loss])
        else:
            storage.set_trial_state_values(trial_id, TrialState.COMPLETE, [loss])
    with open(path, "w") as out:
        out.writelines(json.dumps(log, separators=(",", ":")) + "\n" for log in recorder.logs)
    return time.perf_counter() - began


FORMATS = ("table", "csv", "json")


def time_listing(directory: Path, fmt: str, repeat: int) -> tuple[float, float, int]:
    """Best wall time of ``hpsweep trials --format fmt``, the CPU time (user + system) of that
    run, and the size of its output."""
    exe = Path(sys.executable).with_name("hpsweep")
    command = [str(exe), "trials", "--format", fmt]
    best, cpu, size = float("inf"), 0.0, 0
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(command, cwd=directory, capture_output=True, check=True)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if wall < best:
            best = wall
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        size = len(done.stdout)
    return best, cpu, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--n-trials", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per listing")
    parser.add_argument("--dir", help="where to create the store (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(args.dir or scratch)
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / "hpsweep.journal").exists():
            raise SystemExit(f"{directory / 'hpsweep.journal'} exists; pick an empty --dir")
        created = make_study(directory / "hpsweep.journal", args.n_trials)
        size_mb = os.path.getsize(directory / "hpsweep.journal") / 1e6
        results = {
            "n_trials": args.n_trials,
            "store_mb": round(size_mb, 1),
            "create_s": round(created, 2),
        }
        for fmt in FORMATS:
            seconds, cpu, out = time_listing(directory, fmt, args.repeat)
            results[f"{fmt}_s"] = round(seconds, 3)
            results[f"{fmt}_cpu_s"] = round(cpu, 3)
            results[f"{fmt}_output_kb"] = out // 1000
    if args.json:
        print(json.dumps(results))
    else:
        print(
            f"{results['n_trials']} trials, store {results['store_mb']} MB "
            f"(created in {results['create_s']}s)"
        )
        for fmt in FORMATS:
            print(
                f"hpsweep trials --format {fmt}: {results[f'{fmt}_s']:.3f}s "
                f"(cpu {results[f'{fmt}_cpu_s']:.3f}s, {results[f'{fmt}_output_kb']} kB)"
            )
    slowest = max(float(results[f"{fmt}_s"]) for fmt in FORMATS)
    return 0 if slowest < args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
