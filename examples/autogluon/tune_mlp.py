"""AutoGluon MultiModal's HPO tutorial, with a tiny NumPy network in place of the predictor.

The two dicts are the tutorial's (a Ray Tune space, AutoGluon spaces whose defaults are tried
first, constants; Bayesian search with the ASHA scheduler). ``train`` plays one trial of
``MultiModalPredictor.fit``: it gets the flat dotted-key config, trains epoch by epoch, saves a
checkpoint and reports ``val_accuracy`` after each validation; ASHA stops poor trials inside
``hpsweep.report``. Runs in about a second::

    python tune_mlp.py [SAVE_PATH]
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

import hpsweep
from hpsweep import tune  # with Ray installed, `from ray import tune` works as well
from hpsweep.compat.autogluon import FitResult
from hpsweep.compat.autogluon import checkpoint_dir
from hpsweep.compat.autogluon import fit
from hpsweep.compat.autogluon import space

HYPERPARAMETERS: dict[str, Any] = {
    "optim.lr": tune.loguniform(1e-3, 1.0),
    "optim.weight_decay": space.Real(1e-6, 1e-2, default=1e-4, log=True),
    "model.hidden": space.Int(4, 32, default=16),
    "model.activation": space.Categorical("tanh", "relu"),
    "optim.max_epochs": 9,
    "env.batch_size": 32,
}
HYPERPARAMETER_TUNE_KWARGS: dict[str, Any] = {
    "searcher": "bayes",
    "scheduler": "ASHA",
    "num_trials": 12,
    "num_to_keep": 2,
    "searcher_init_args": {"n_initial_points": 5, "random_state_seed": 0},
}


def spirals(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Three interleaved spirals: 300 points to train on, 150 to validate on."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, 450)
    radius = rng.uniform(0.1, 1.0, 450)
    angle = 4.0 * radius + label * 2.0 * np.pi / 3 + 0.2 * rng.standard_normal(450)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return x[:300], label[:300], x[300:], label[300:]


def train(config: dict[str, Any]) -> None:
    """One trial: a one-hidden-layer network trained by minibatch gradient descent."""
    x_train, y_train, x_val, y_val = spirals()
    rng = np.random.default_rng(0)
    hidden = config["model.hidden"]
    w1, b1 = rng.standard_normal((2, hidden)), np.zeros(hidden)
    w2, b2 = rng.standard_normal((hidden, 3)) / np.sqrt(hidden), np.zeros(3)

    def forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = x @ w1 + b1
        h = np.tanh(z) if config["model.activation"] == "tanh" else np.maximum(z, 0.0)
        return h, h @ w2 + b2

    lr, decay, batch = config["optim.lr"], config["optim.weight_decay"], config["env.batch_size"]
    for epoch in range(1, config["optim.max_epochs"] + 1):
        order = rng.permutation(len(y_train))
        for start in range(0, len(order), batch):
            index = order[start : start + batch]
            h, logits = forward(x_train[index])
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(index)), y_train[index]] -= 1.0
            grad_h = p @ w2.T * (1.0 - h**2 if config["model.activation"] == "tanh" else h > 0)
            w2 -= lr * (h.T @ p / len(index) + decay * w2)
            b2 -= lr * p.mean(axis=0)
            w1 -= lr * (x_train[index].T @ grad_h / len(index) + decay * w1)
            b1 -= lr * grad_h.mean(axis=0)
        accuracy = float(np.mean(forward(x_val)[1].argmax(axis=1) == y_val))
        np.savez(checkpoint_dir(epoch) / "model.npz", w1=w1, b1=b1, w2=w2, b2=b2)
        hpsweep.report(accuracy, step=epoch)  # AutoGluon reports val_accuracy here


def main(save_path: str | None = None) -> FitResult:
    best = fit(
        train,
        hyperparameters=HYPERPARAMETERS,
        hyperparameter_tune_kwargs=HYPERPARAMETER_TUNE_KWARGS,
        save_path=save_path,
        eval_metric="accuracy",
    )
    print(f"Best trial: {best.number} with {best.metric}={best.value} and params={best.config}")
    print(f"Checkpoints (best first): {[str(path) for path in best.checkpoints]}")
    return best


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
