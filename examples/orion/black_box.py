#!/usr/bin/env python3
"""Oríon's tutorial black box: a function of ``-x`` to minimize, reported the way Oríon's client
does (``orion.client.report_objective`` writes this file; Oríon need not be installed)::

    hpsweep hunt -n black-box -c orion.yaml python black_box.py -x~'uniform(-50, 50)'
"""

import argparse
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("-x", type=float, required=True)
args = parser.parse_args()

y = (args.x - 34.56789) ** 2 + 23.4
with open(os.environ["ORION_RESULTS_PATH"], "w") as results:
    json.dump([{"name": "objective", "type": "objective", "value": y}], results)
