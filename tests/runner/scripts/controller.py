"""A controller that starts one long trial and never closes its executor (the test kills it)."""

import pathlib
import sys

from hpsweep.runner import CommandExecutor
from hpsweep.runner import TrialSpec

trial_dir = pathlib.Path(sys.argv[1])
executor = CommandExecutor(["sh", "-c", "echo $$ > pid; sleep 300 & sleep 300"], cwd_mode="trial")
executor.start(TrialSpec(0, 0, "orphans", {}, trial_dir=trial_dir))
print("started", flush=True)
while True:
    executor.poll(1.0)
