"""Reports the way Oríon's client does: a results file named by $ORION_RESULTS_PATH."""

import json
import os
import sys

with open(os.environ["ORION_RESULTS_PATH"], "w") as stream:
    stream.write(
        sys.argv[1]
        if len(sys.argv) > 1
        else json.dumps(
            [
                {"name": "loss", "type": "objective", "value": 0.3},
                {"name": "acc", "type": "statistic", "value": 0.9},
            ]
        )
    )
