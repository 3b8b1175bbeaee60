"""Executors: how trials run. No optuna and no storage access in this package."""

from hpsweep.runner._base import Ended
from hpsweep.runner._base import Event
from hpsweep.runner._base import Executor
from hpsweep.runner._base import Reported
from hpsweep.runner._base import TrialSpec
from hpsweep.runner._command import CommandExecutor
from hpsweep.runner._command import PythonProcessExecutor
from hpsweep.runner._fake import FakeClock
from hpsweep.runner._fake import FakeExecutor
from hpsweep.runner._fake import FakeTrial
from hpsweep.runner._inprocess import InProcessExecutor
from hpsweep.runner._template import check_template

__all__ = [
    "CommandExecutor",
    "Ended",
    "Event",
    "Executor",
    "FakeClock",
    "FakeExecutor",
    "FakeTrial",
    "InProcessExecutor",
    "PythonProcessExecutor",
    "Reported",
    "TrialSpec",
    "check_template",
]
