"""Multi-fidelity pruning on a real task: FIFO vs median vs ASHA vs Hyperband vs PFL.

An MLP (scikit-learn's ``MLPClassifier``, one ``partial_fit`` pass over the training set per
epoch) learns sklearn's bundled 8x8 digits (1797 images, no download); each trial trains up to
``--epochs`` epochs (default 27) and after every epoch reports its validation log-loss with
``report(val_loss, step=epoch)`` (epochs counted from 1, like Ray Tune's ``training_iteration``)
and stops when ``should_prune()`` says so. Every pruner gets the same trial budget and the same
random-sampler seed, so all of them see the same hyperparameters in the same order and differ
only in what they stop: this isolates the pruner (``--sampler tpe`` lets it steer the search).

It runs through ``hpsweep.run`` (function trials, in-process, one at a time, on a store in a
temporary directory; ``--jobs`` studies at once in worker processes) and prints, per pruner, the
median over ``--seeds`` of the best validation loss of a complete trial, the total epochs
trained, and the ratios to FIFO, then PASS/FAIL for the target: ASHA within 3% of FIFO's best at
<= 1/3 of its epochs.

    .venv/bin/python benchmarks/multifidelity.py            # 40 trials x 3 seeds, ~3 min
    .venv/bin/python benchmarks/multifidelity.py --quick    # 16 trials x 1 seed
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any

if __package__:
    from ._common import format_kv
    from ._common import format_table
    from ._common import load_note
    from ._common import machine_info
    from ._common import median
else:  # run as a script: benchmarks/ is on sys.path
    from _common import format_kv
    from _common import format_table
    from _common import load_note
    from _common import machine_info
    from _common import median


def pruners(epochs: int) -> dict[str, dict[str, Any]]:
    """The contenders, as the config would name them."""
    return {
        "fifo": {"scheduler": "fifo"},
        "median": {"pruner": {"name": "median", "kwargs": {"n_startup_trials": 5}}},
        "asha": {
            "scheduler": {
                "name": "asha",
                "max_t": epochs,
                "grace_period": 1,
                "reduction_factor": 3,
            }
        },
        "hyperband": {
            "scheduler": {
                "name": "hyperband",
                "max_t": epochs,
                "grace_period": 1,
                "reduction_factor": 3,
            }
        },
        "pfl": {
            "pruner": {
                "name": "pfl",
                "kwargs": {
                    "n_startup_trials": 5,
                    "n_warmup_epochs": 5,
                    "top_k": 5,
                    "target_epoch": epochs,
                },
            }
        },
    }


_DATA: dict[str, Any] = {}


def data() -> dict[str, Any]:
    """Digits, split 2/3 train, 1/3 validation (fixed), standardized on the training part."""
    if not _DATA:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        x, y = load_digits(return_X_y=True)
        x_train, x_val, y_train, y_val = train_test_split(
            x, y, test_size=1 / 3, random_state=0, stratify=y
        )
        scaler = StandardScaler().fit(x_train)
        _DATA.update(
            x_train=scaler.transform(x_train),
            x_val=scaler.transform(x_val),
            y_train=y_train,
            y_val=y_val,
            classes=sorted(set(y)),
        )
    return _DATA


def space() -> dict[str, Any]:
    from hpsweep.space import Choice
    from hpsweep.space import Float
    from hpsweep.space import Int

    return {
        "lr": Float(1e-4, 3e-1, log=True),
        "width": Int(8, 256, log=True),
        "alpha": Float(1e-6, 1e-1, log=True),
        "batch": Choice([32, 128, 512]),
    }


def make_objective(epochs: int, counter: list[int]) -> Any:
    def train(p: dict[str, Any]) -> float:
        # client.report is hpsweep.report; the attribute name is shadowed once the
        # hpsweep.report subpackage is imported, so the benchmark calls the client directly.
        from sklearn.metrics import log_loss
        from sklearn.neural_network import MLPClassifier

        from hpsweep import client

        d = data()
        model = MLPClassifier(
            hidden_layer_sizes=(p["width"],),
            learning_rate_init=p["lr"],
            alpha=p["alpha"],
            batch_size=p["batch"],
            random_state=0,
        )
        loss = float("nan")
        for epoch in range(1, epochs + 1):
            model.partial_fit(d["x_train"], d["y_train"], classes=d["classes"])
            counter[0] += 1
            loss = float(
                log_loss(d["y_val"], model.predict_proba(d["x_val"]), labels=d["classes"])
            )
            client.report(loss, step=epoch)
            if client.should_prune():
                raise client.TrialPruned()
        return loss

    return train


@dataclass
class Outcome:
    pruner: str
    seed: int
    best: float
    epochs: int
    complete: int
    pruned: int
    seconds: float


def run_one(job: tuple[str, dict[str, Any], int, argparse.Namespace]) -> Outcome:
    import dataclasses

    from hpsweep._api import run_config
    from hpsweep._config import from_mapping
    from hpsweep._progress import PlainProgress
    from hpsweep.space import SearchSpace

    name, settings, seed, options = job
    warnings.simplefilter("ignore")  # sklearn's convergence notes are not results
    counter = [0]
    with tempfile.TemporaryDirectory() as directory:
        document = {
            "study": f"{name}-{seed}",
            "storage": os.path.join(directory, "store.journal"),
            "n_trials": options.trials,
            "seed": seed,
            "sampler": options.sampler,
            **settings,
        }
        config = dataclasses.replace(from_mapping(document), space=SearchSpace(space()))
        start = time.perf_counter()
        result = run_config(
            config,
            objective=make_objective(options.epochs, counter),
            progress=PlainProgress(quiet=True),
            handle_signals=False,
        )
        seconds = time.perf_counter() - start
    states = [t.state for t in result.trials]
    return Outcome(
        name,
        seed,
        result.best_value,
        counter[0],
        states.count("complete"),
        states.count("pruned"),
        seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sampler", default="random")
    parser.add_argument("--pruners", default="fifo,median,asha,hyperband,pfl")
    parser.add_argument("--quick", action="store_true", help="16 trials x 1 seed")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--json", help="write the raw outcomes to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target fails")
    options = parser.parse_args(argv)
    if options.quick:
        options.trials, options.seeds = 16, 1
    try:
        import sklearn  # noqa: F401
    except ImportError:
        parser.error("needs scikit-learn: .venv/bin/pip install scikit-learn")
    table = pruners(options.epochs)
    names = [n for n in options.pruners.split(",") if n]
    for name in names:
        if name not in table:
            parser.error(f"unknown pruner {name!r}; use {', '.join(table)}")
    print(format_kv(machine_info(("optuna", "scikit-learn"))))
    print(
        f"{options.trials} trials x {options.seeds} seeds, up to {options.epochs} epochs each, "
        f"sampler {options.sampler}"
    )
    outcomes: list[Outcome] = []
    jobs = [(name, table[name], seed, options) for seed in range(options.seeds) for name in names]
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if (
            options.jobs == 1
        ):  # in this process: no pool forked from a host that may not survive it
            ran: Iterable[Outcome] = map(run_one, jobs)
        else:
            ran = stack.enter_context(ProcessPoolExecutor(options.jobs)).map(run_one, jobs)
        for outcome in ran:
            outcomes.append(outcome)
            print(
                f"  {outcome.pruner:<9} seed {outcome.seed}: best {outcome.best:.4f}, "
                f"{outcome.epochs} epochs, {outcome.pruned} pruned, {outcome.seconds:.1f} s",
                file=sys.stderr,
            )
    medians: dict[str, dict[str, float]] = {}
    for name in names:
        mine = [o for o in outcomes if o.pruner == name]
        medians[name] = {
            "best": median([o.best for o in mine]),
            "epochs": median([o.epochs for o in mine]),
            "pruned": median([o.pruned for o in mine]),
            "seconds": median([o.seconds for o in mine]),
        }
    fifo = medians.get("fifo")
    rows = []
    for name in names:
        m = medians[name]
        rows.append(
            [
                name,
                f"{m['best']:.4f}",
                f"{m['best'] / fifo['best']:.3f}" if fifo else "-",
                f"{m['epochs']:.0f}",
                f"{m['epochs'] / fifo['epochs']:.2f}" if fifo else "-",
                f"{m['pruned']:.0f}",
                f"{m['seconds']:.1f}",
            ]
        )
    print()
    print(
        format_table(
            [
                "pruner",
                "best val loss",
                "vs FIFO",
                "epochs",
                "vs FIFO",
                "pruned trials",
                "s/study",
            ],
            rows,
        )
    )
    print(f"total {time.perf_counter() - started:.0f} s on {options.jobs} worker processes")
    print(load_note())
    ok = True
    if fifo and "asha" in medians:
        asha = medians["asha"]
        quality = asha["best"] <= 1.03 * fifo["best"]
        cost = asha["epochs"] <= fifo["epochs"] / 3
        ok = quality and cost
        print(
            ("PASS " if quality else "FAIL ")
            + f"ASHA best {asha['best']:.4f} within 3% of FIFO's {fifo['best']:.4f}"
        )
        print(
            ("PASS " if cost else "FAIL ")
            + f"ASHA epochs {asha['epochs']:.0f} <= 1/3 of FIFO's {fifo['epochs']:.0f}"
        )
    if options.json:
        with open(options.json, "w") as handle:
            json.dump({"outcomes": [asdict(o) for o in outcomes], "medians": medians}, handle)
    return 1 if options.strict and not ok else 0


if __name__ == "__main__":
    # One BLAS thread per worker process: the workers share the cores, side by side.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    sys.exit(main())
