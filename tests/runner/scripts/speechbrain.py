"""Reports the way SpeechBrain's generic hpopt reporter does: a JSON object on stdout, after
other text and without a newline."""

import json
import sys

print("Epoch 1: loss 0.5")
print('{"not": "the last one"}')
print("Hyperparameter fit:", end=" ")
json.dump({"error": 0.125, "objective": 0.125}, sys.stdout)
if len(sys.argv) > 1:
    print("\n" + json.dumps({"unrelated": 1}))  # a later object without the metric key
