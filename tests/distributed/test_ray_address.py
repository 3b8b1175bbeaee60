"""A Ray address that does not answer is one line at once, not minutes of Ray's retries."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hpsweep._errors import ConfigError
from hpsweep.runner._ray import check_reachable
from support import hpsweep


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1: Connection refused;"),
        ("ray://127.0.0.1:1", "cannot reach the Ray cluster at ray://127.0.0.1:1:"),
        ("headnode", "ray_address 'headnode' is not host:port"),
        ("10.0.0.1:port", "ray_address '10.0.0.1:port' is not host:port"),
    ],
)
def test_an_address_that_does_not_answer_fails_fast(address: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError) as error:
        check_reachable(address, timeout=2.0)
    assert str(error.value).startswith(message)
    assert time.monotonic() - started < 3.0


def test_auto_and_local_are_left_to_ray() -> None:
    check_reachable("auto")
    check_reachable("local")


def test_run_with_an_unreachable_ray_address_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    (tmp_path / "o.py").write_text("def f(p):\n    return p['x']\n")
    args = ("run", "-n", "2", "-p", "x=float(0,1)", "--objective", "o:f", "--executor", "ray")
    result = hpsweep(tmp_path, *args, "--ray-address", "127.0.0.1:1", check=False, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hpsweep: error: cannot reach the Ray cluster at 127.0.0.1:1: Connection refused; check "
        "the address (the head node's host:port) and that the cluster is running"
    ]
    assert not (tmp_path / "hpsweep.journal").exists()
