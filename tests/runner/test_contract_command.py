from __future__ import annotations

import pytest

from hpsweep.runner import CommandExecutor
from hpsweep.runner import Executor
from hpsweep.runner import PythonProcessExecutor
from hpsweep.testing import ExecutorContract

from .helpers import PYTHON
from .helpers import SCRIPTS
from .helpers import child_env

# Cheap trials where the behaviour allows, in the forms users write: marker lines from a shell,
# a plain `sleep`; the rest are Python scripts using hpsweep.client (or none of it, for "boom").
COMMANDS = {
    "double": ["/bin/sh", "-c", 'echo "hpsweep: {{\\"result\\": $(({x} * 2))}}"'],
    "hang": ["sleep", "300"],
}


class TestCommandContract(ExecutorContract):
    processes = True

    def make_executor(self, behaviour: str, *, jobs: int = 1) -> Executor:
        command = COMMANDS.get(behaviour, [PYTHON, str(SCRIPTS / "behave.py"), behaviour])
        return CommandExecutor(command, jobs=jobs, base_env=child_env())


class TestPythonProcessContract(ExecutorContract):
    processes = True

    def make_executor(self, behaviour: str, *, jobs: int = 1) -> Executor:
        return PythonProcessExecutor(
            f"hpsweep.testing:{behaviour}", jobs=jobs, base_env=child_env()
        )

    @pytest.mark.slow
    def test_sequential_trials_leak_nothing(self) -> None:
        super().test_sequential_trials_leak_nothing()  # 50 Python start-ups: ~3 s
