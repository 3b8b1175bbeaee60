"""The template's training loop in miniature: for each seed of the run config, train a small
model epoch by epoch, report the validation loss, stop when the pruner says so, and return the
mean final-epoch validation loss over the seeds (what the template's ``util.run`` returns).

The "network" is a random-feature regressor in NumPy (``nodes`` features per layer, ``layers``
bands of frequencies) fitted by gradient descent with the run config's learning rate, decayed
towards ``min_lr``, so a trial takes milliseconds. ``train`` is the objective hpsweep runs::

    hpsweep run optimize_template.yaml --set run_config=run_template.yaml --objective train:train

and ``main.py`` drives the same loop the template's way (Optuna, ``OptimizeConfig``,
``PFLPruner``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

import hpsweep

STEPS_PER_EPOCH = 20


def data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noisy samples of sin(3x): 160 to train on, 80 to validate on."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, 240)
    y = np.sin(3.0 * x) + 0.1 * rng.standard_normal(240)
    return x[:160], y[:160], x[160:], y[160:]


def val_losses(config: dict[str, Any], seed: int) -> Iterator[float]:
    """The validation loss after each epoch of one seed's training."""
    net, sched = config["net_config"], config["scheduler_config"]
    x_train, y_train, x_val, y_val = data(seed)
    rng = np.random.default_rng(seed + 1)
    width = net["nodes"] * net["layers"]
    bands = np.repeat(np.arange(1, net["layers"] + 1), net["nodes"])  # layer l: frequencies ~ l
    frequencies = rng.standard_normal(width) * bands
    phases = rng.uniform(0.0, 2.0 * np.pi, width)

    def features(x: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.cos(np.outer(x, frequencies) + phases) * np.sqrt(2.0 / width)
        return result

    train_features, val_features = features(x_train), features(x_val)
    weights = np.zeros(width)
    lr, min_lr = config["optimizer_config"]["lr"], sched["min_lr"]
    for epoch in range(config["epochs"]):
        # Exponential decay from lr towards min_lr over upper_bound epochs.
        rate = lr * (min_lr / lr) ** (epoch / sched["upper_bound"])
        for _ in range(STEPS_PER_EPOCH):
            residual = train_features @ weights - y_train
            weights -= 10.0 * rate * train_features.T @ residual / len(y_train)
        yield float(np.mean((val_features @ weights - y_val) ** 2))


def train(config: dict[str, Any]) -> float:
    """hpsweep's objective: the run config with this trial's params merged in. Seed ``k``'s
    epoch ``e`` is reported as step ``k * 1000 + e``, so the PFL pruner sees each seed."""
    finals = []
    for k, seed in enumerate(config["seeds"]):
        loss = float("nan")
        for epoch, loss in enumerate(val_losses(config, seed)):
            hpsweep.report(loss, step=k * 1000 + epoch)
            if hpsweep.should_prune():
                raise hpsweep.TrialPruned()
        finals.append(loss)
    return float(np.mean(finals))
