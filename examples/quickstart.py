"""A small objective with epochs: a noisy quadratic bowl that a "model" descends epoch by epoch.

It reports its validation loss every epoch, so pruners can stop hopeless trials early.
"""

from __future__ import annotations

import math
import random

import hpsweep


def train(cfg: dict) -> float:
    rng = random.Random(cfg["seed"])
    lr, layers = cfg["lr"], cfg["layers"]
    momentum = cfg.get("momentum", 0.0)
    # The best final loss sits near lr=1e-2, layers=3, momentum≈0.9 with sgd.
    floor = (math.log10(lr) + 2.0) ** 2 * 0.1 + (layers - 3) ** 2 * 0.05
    if cfg["optimizer"] == "sgd":
        floor += (momentum - 0.9) ** 2
    else:
        floor += 0.02
    loss = 1.0 + floor
    for epoch in range(cfg["epochs"]):
        loss = floor + (loss - floor) * 0.6 + rng.gauss(0.0, 0.005)
        hpsweep.report(loss, step=epoch)
        if hpsweep.should_prune():
            return loss
    return loss
