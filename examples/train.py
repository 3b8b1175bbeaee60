"""A training script that knows nothing of hpsweep but its two calls: run it as a trial with

    hpsweep run -n 20 -j 2 -p 'lr=float(1e-5,1e-1,log)' -- python examples/train.py --lr {lr}

or on its own (`python examples/train.py --lr 0.01`), where the calls do nothing.
"""

from __future__ import annotations

import argparse
import json
import math

import hpsweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    floor = 0.1 * (math.log10(args.lr) + 2.0) ** 2  # best near lr = 1e-2
    loss = 1.0 + floor
    for epoch in range(args.epochs):
        loss = floor + (loss - floor) * 0.6
        hpsweep.report(loss, step=epoch)  # the pruner sees the curve
        if hpsweep.should_prune():
            break
    print(json.dumps({"loss": loss}))  # the last JSON line is the result


if __name__ == "__main__":
    main()
