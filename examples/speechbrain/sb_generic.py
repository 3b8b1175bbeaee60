#!/usr/bin/env python3
"""What a script that keeps ``from speechbrain.utils import hpopt as hp`` prints at the end of
its ``hyperparameter_optimization`` block in generic mode: the last reported result as one JSON
object on stdout, without a final newline (SpeechBrain's generic reporter).

SpeechBrain itself is not needed to run it: ``hpsweep run`` reads that object as the trial's
result, ``objective`` being the key it optimizes::

    hpsweep run -n 8 -p 'lr=float(1e-4,1e-1,log)' -- python sb_generic.py --lr {lr}
"""

import argparse
import json
import math
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
args = parser.parse_args()

result = {}
for epoch in range(1, 4):
    error = 0.1 + abs(math.log10(args.lr / 3e-3)) / 2 + 0.1 / epoch
    print(f"epoch {epoch}: error {error:.4f}")  # SpeechBrain's logs share stdout
    result = {"loss": 2 * error, "error": error}
json.dump(dict(result, objective=result["error"]), sys.stdout)
