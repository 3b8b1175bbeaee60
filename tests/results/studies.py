"""Stores with studies to report on, written through hpsweep's store the way its controller
writes them (the ``why`` of every finished trial, intermediate values, a stored config)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from hpsweep.engine import open_store

NASTY = "<script>alert(1)</script>"
NASTY_IMG = "<img src=x onerror=alert(2)>"
NASTY_STUDY = '<script>alert("study")</script>'


def write_study(
    path: Path,
    name: str,
    *,
    n_trials: int = 16,
    directions: tuple[str, ...] = ("minimize",),
    seed: int = 0,
) -> None:
    """A study with a log float, an int, a categorical whose choices are HTML, a conditional
    param, learning curves, pruned trials and a failed one."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(seed)
    store = open_store(str(path))
    try:
        study = optuna.create_study(
            study_name=name, storage=store.storage, directions=list(directions)
        )
        study.set_user_attr(
            "hpsweep.config",
            {
                "study": name,
                "direction": directions[0],
                "metric": "<i>loss</i>",
                "objective": "models:train",
                "n_trials": n_trials,
                "sampler": {"name": "tpe", "kwargs": {}},
                "pruner": {"name": "median", "kwargs": {}},
                "space": {
                    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
                    "layers": {"type": "int", "low": 1, "high": 4},
                    "act": {"type": "categorical", "choices": ["relu", NASTY, NASTY_IMG]},
                    "momentum": {
                        "type": "float",
                        "low": 0.0,
                        "high": 0.99,
                        "when": {"act": "relu"},
                    },
                },
            }
            if len(directions) == 1
            else {"study": name, "directions": list(directions)},
        )
        for number in range(n_trials):
            act = ["relu", NASTY, NASTY_IMG][number % 3]
            fixed = {
                "lr": FloatDistribution(1e-4, 1.0, log=True),
                "layers": IntDistribution(1, 4),
                "act": CategoricalDistribution(["relu", NASTY, NASTY_IMG]),
            }
            if act == "relu":
                fixed["momentum"] = FloatDistribution(0.0, 0.99)
            trial = study.ask(fixed)
            values = {
                "lr": 10 ** rng.uniform(-4, 0),
                "layers": rng.randint(1, 4),
                "act": act,
                "momentum": rng.uniform(0, 0.99),
            }
            for param, distribution in fixed.items():
                store.storage.set_trial_param(
                    trial._trial_id,
                    param,
                    distribution.to_internal_repr(values[param]),
                    distribution,
                )
            loss = 1.0 + abs(values["lr"] - 0.01) * 5 + values["layers"] * 0.1
            pruned = number % 4 == 3
            failed = number == 5
            if len(directions) == 1:
                for step in range(2 if pruned else 5):
                    loss *= 0.8
                    trial.report(loss, step)
            why = "pruned" if pruned else "failed" if failed else "complete"
            trial.set_user_attr("why", why)
            if failed:
                trial.set_user_attr("error", "RuntimeError: <b>boom</b>")
                study.tell(trial, state=TrialState.FAIL)
            elif pruned:
                study.tell(trial, state=TrialState.PRUNED)
            elif len(directions) == 1:
                study.tell(trial, loss)
            else:
                study.tell(trial, [loss, values["layers"] + rng.random()])
    finally:
        store.close()


def need(module: str, extra: str) -> None:
    """Skip when an optional extra is missing, except in CI, which must install every extra."""
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is missing; CI must install hpsweep[{extra}]")
        pytest.skip(f"needs {module}: pip install 'hpsweep[{extra}]' (CI runs this test)")
