from __future__ import annotations

from hpsweep.runner import Executor
from hpsweep.runner import InProcessExecutor
from hpsweep.testing import BEHAVIOURS
from hpsweep.testing import ExecutorContract


class TestInProcessContract(ExecutorContract):
    def make_executor(self, behaviour: str, *, jobs: int = 1) -> Executor:
        return InProcessExecutor(BEHAVIOURS[behaviour], jobs=jobs)
