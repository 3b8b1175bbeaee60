"""A command trial written the way users write them, for the executor contract:
`python behave.py BEHAVIOUR` (see hpsweep.testing.BEHAVIOURS)."""

import json
import sys

from hpsweep import client

behaviour = sys.argv[1]
params = client.params()

if behaviour == "boom":
    raise ValueError("boom")  # a plain traceback: the executor reads it from stderr.log
elif behaviour == "final":
    # SpeechBrain's way: a JSON object on stdout after other text, without a newline
    print("training done;", end=" ")
    json.dump({"objective": params["x"]}, sys.stdout)
elif behaviour == "steps":
    for step in range(5):
        client.report(float(step), step)
        if client.should_prune():
            sys.exit(0)
    client.report_final(10.0)
elif behaviour == "ignore_prune":
    for step in range(5):
        client.report(float(step), step)
    client.report_final(5.0)
elif behaviour == "ask_first":
    client.report_final(0.0 if client.should_prune() else 1.0)
elif behaviour == "pruned":
    client.report(1.0, 0)
    raise client.TrialPruned()
else:
    sys.exit(f"unknown behaviour {behaviour!r}")
