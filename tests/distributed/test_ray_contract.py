"""The Ray executor against the executor contract, on a local Ray."""

from __future__ import annotations

import time

import pytest

from hpsweep.runner import Executor
from hpsweep.testing import BEHAVIOURS
from hpsweep.testing import ExecutorContract
from hpsweep.testing import _open_fds

pytestmark = pytest.mark.usefixtures("ray_local")


def _settled_fds(target: int, timeout: float = 5.0) -> int:
    """The open fd count once it is back at ``target``, or as it is after ``timeout``."""
    deadline = time.monotonic() + timeout
    count = _open_fds()
    while count != target and time.monotonic() < deadline:
        time.sleep(0.05)
        count = _open_fds()
    return count


class TestRayContract(ExecutorContract):
    stop_margin = 3.0  # killing an actor and hearing about it takes a Ray round trip or two

    def make_executor(self, behaviour: str, *, jobs: int = 1) -> Executor:
        from hpsweep.runner._ray import RayExecutor

        return RayExecutor(BEHAVIOURS[behaviour], jobs=jobs, resources={"cpu": 1})

    def test_sequential_trials_leak_nothing(self) -> None:
        # As the contract's, except that the final count is taken once Ray has settled: it
        # closes a killed actor's connections a moment after ray.kill returns (2 fds, < 0.3 s).
        before = _open_fds()
        executor = self.executor("double")
        counts: list[int] = []
        for number in range(self.sequential_trials):
            _, ended = self.run(executor, self.spec(number, x=number))
            assert ended.result == 2 * number, ended
            counts.append(_open_fds())
        executor.close()
        assert counts[-1] == counts[4], f"open fds grew from {counts[4]} to {counts[-1]}"
        # Ray's driver may open one connection for good on its first actor call
        assert _settled_fds(before) <= before + 1
