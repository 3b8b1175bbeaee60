"""A Python trainer using hpsweep.client: report + should_prune + final result."""

import argparse
import pathlib

from hpsweep import client

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--out", required=True)
args = parser.parse_args()

loss = 1.0
for epoch in range(args.epochs):
    loss *= 1.0 - args.lr
    client.report(loss, step=epoch)
    if client.should_prune():
        raise client.TrialPruned()
pathlib.Path(args.out).write_text(f"lr={args.lr!r}\n")
client.report_final({"objective": loss, "epochs": args.epochs})
