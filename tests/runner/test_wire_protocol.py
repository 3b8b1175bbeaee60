"""Wire v1 messages added for process trials, and the trial-side client over a real socket."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from hpsweep import _wire
from hpsweep.client import TrialPruned
from hpsweep.client import _claim_channel
from hpsweep.client import _Subprocess


class Scalar:
    """Stands in for a numpy or torch scalar."""

    def item(self) -> float:
        return 0.5


class Array:
    def tolist(self) -> list[float]:
        return [1.0, 2.0]


@pytest.mark.parametrize(
    "message",
    [
        _wire.Report(0.5, 3),
        _wire.Final({"objective": 1.0}),
        _wire.PruneQuery(),
        _wire.Pruned(),
        _wire.Failed("ValueError: boom"),
    ],
)
def test_round_trip(message: _wire.Message) -> None:
    assert _wire.decode(_wire.encode(message)) == message


def test_exact_lines() -> None:
    assert _wire.encode(_wire.Pruned()) == b'{"v":1,"op":"pruned"}\n'
    assert _wire.encode(_wire.Failed("KeyError: 'b'")) == (
        b'{"v":1,"op":"error","message":"KeyError: \'b\'"}\n'
    )


def test_array_like_values_are_sent_as_plain_values() -> None:
    line = _wire.encode(_wire.Final({"loss": Scalar(), "curve": Array()}))
    assert json.loads(line)["result"] == {"loss": 0.5, "curve": [1.0, 2.0]}
    with pytest.raises(TypeError, match="object cannot be sent to hpsweep"):
        _wire.encode(_wire.Final(object()))


def test_markers() -> None:
    assert _wire.parse_marker('hpsweep: {"pruned": true}') == _wire.Pruned()
    assert _wire.marker_line(_wire.Pruned()) == 'hpsweep: {"pruned": true}'
    assert _wire.parse_marker('  hpsweep:{"step": 3, "value": 0.41}  ') == _wire.Report(0.41, 3)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b'{"op": "error"}', "needs a string 'message'"),
        (b'{"op": "dance"}', "unknown op 'dance'"),
    ],
)
def test_bad_lines(line: bytes, error: str) -> None:
    with pytest.raises(_wire.WireError, match=error):
        _wire.decode(line)


def environ(fd: int | None) -> dict[str, str]:
    env = {_wire.ENV_TRIAL_ID: "1", _wire.ENV_PARAMS: '{"x": 1}', _wire.ENV_TRIAL_NUMBER: "4"}
    if fd is not None:
        env[_wire.ENV_CHANNEL_FD] = str(fd)
    return env


def test_client_over_a_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_wire.ENV_CHANNEL_FD, "stale")
    ours, theirs = socket.socketpair()
    with ours:
        channel = _Subprocess(environ(theirs.detach()))
        assert (channel.params, channel.number) == ({"x": 1}, 4)
        assert _wire.ENV_CHANNEL_FD not in os.environ  # not handed on to the trial's children
        ours.sendall(b'{"v":1,"prune":false}\n{"v":1,"prune":true}\n')
        channel.report(0.5, None)
        assert channel.should_prune() is False
        channel.report(0.25, 7)
        assert channel.should_prune() is True
        channel.report_exception(TrialPruned())
        channel.report_exception(KeyError("b"))
        channel.report_final(1.0)
        lines = ours.recv(4096).decode().splitlines()
        ours.shutdown(socket.SHUT_RDWR)
        assert channel.should_prune() is True  # and the client closes its end
    assert [json.loads(line) for line in lines] == [
        {"v": 1, "op": "report", "value": 0.5, "step": 0},
        {"v": 1, "op": "should_prune"},
        {"v": 1, "op": "report", "value": 0.25, "step": 7},
        {"v": 1, "op": "should_prune"},
        {"v": 1, "op": "pruned"},
        {"v": 1, "op": "error", "message": "KeyError: 'b'"},
        {"v": 1, "op": "final", "result": 1.0},
    ]


def test_client_stops_for_good_when_the_controller_is_gone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ours, theirs = socket.socketpair()
    channel = _Subprocess(environ(theirs.detach()))
    ours.close()
    channel.report(0.5, 0)
    assert channel.should_prune() is True
    assert channel.should_prune() is True
    channel.report(0.4, 1)
    channel.report_final(1.0)
    assert capsys.readouterr().out == ""  # no marker lines into a broken stdout either


def test_client_without_a_channel_prints_markers(capsys: pytest.CaptureFixture[str]) -> None:
    channel = _Subprocess(environ(None))
    channel.report(0.5, 2)
    assert channel.should_prune() is False
    channel.report_final({"objective": 0.1})
    channel.report_exception(TrialPruned())
    channel.report_exception(ValueError("boom"))  # the traceback on stderr says it
    assert capsys.readouterr().out.splitlines() == [
        'hpsweep: {"step": 2, "value": 0.5}',
        'hpsweep: {"result": {"objective": 0.1}}',
        'hpsweep: {"pruned": true}',
    ]


def test_claim_leaves_foreign_fds_alone(tmp_path: Path) -> None:
    assert _claim_channel("nonsense") is None
    with (tmp_path / "file").open("w") as stream:
        assert _claim_channel(str(stream.fileno())) is None
        os.fstat(stream.fileno())  # still open
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        assert _claim_channel(str(udp.fileno())) is None
        assert udp.fileno() >= 0 and os.fstat(udp.fileno())
