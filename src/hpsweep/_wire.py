"""The trial wire, version 1: how a trial talks to the controller (see docs/protocol.md).

Standard library only: the trial side imports this module.
"""

from __future__ import annotations

import json
import math

PROTOCOL_VERSION = 1
MARKER = "hpsweep:"

ENV_CHANNEL_FD = "HPSWEEP_CHANNEL_FD"
ENV_PROTOCOL = "HPSWEEP_PROTOCOL"
ENV_TRIAL_ID = "HPSWEEP_TRIAL_ID"
ENV_TRIAL_NUMBER = "HPSWEEP_TRIAL_NUMBER"
ENV_TRIAL_DIR = "HPSWEEP_TRIAL_DIR"
ENV_PARAMS = "HPSWEEP_PARAMS"
ENV_STUDY = "HPSWEEP_STUDY"


class WireError(ValueError):
    """A line on the wire that does not follow the protocol."""


class _Message:
    """A frozen value, equal to another of its type with equal fields: what
    ``@dataclass(frozen=True)`` gives, without importing :mod:`dataclasses` (with the
    :mod:`inspect` it pulls in, ~10 ms of every trial's start)."""

    __slots__: tuple[str, ...] = ()

    def __init__(self, *values: object) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            object.__setattr__(self, name, value)

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Message):
            return NotImplemented
        return type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._fields()))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type[_Message], tuple[object, ...]]:
        return type(self), self._fields()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Report(_Message):
    """An intermediate value; ``step`` is None when the trial let the channel number the steps."""

    __slots__ = ("value", "step")
    value: float
    step: int | None

    def __init__(self, value: float, step: int | None) -> None:
        super().__init__(value, step)


class Final(_Message):
    """The trial's result: a number, a mapping of metrics, or a sequence for multi-objective."""

    __slots__ = ("result",)
    result: object

    def __init__(self, result: object) -> None:
        super().__init__(result)


class PruneQuery(_Message):
    """The trial asks whether it should stop after the step it last reported."""

    __slots__ = ()


class Pruned(_Message):
    """The trial ended itself as pruned (it raised ``TrialPruned``)."""

    __slots__ = ()


class Failed(_Message):
    """The trial is failing with an exception; ``message`` is its ``Type: message`` line."""

    __slots__ = ("message",)
    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)


Message = Report | Final | PruneQuery | Pruned | Failed


def encode(message: Message) -> bytes:
    """One JSON line for ``message`` (the trial → controller direction)."""
    body: dict[str, object] = {"v": PROTOCOL_VERSION}
    if isinstance(message, Report):
        body.update(op="report", value=message.value, step=message.step)
    elif isinstance(message, Final):
        body.update(op="final", result=message.result)
    elif isinstance(message, Pruned):
        body.update(op="pruned")
    elif isinstance(message, Failed):
        body.update(op="error", message=message.message)
    else:
        body.update(op="should_prune")
    return (json.dumps(body, separators=(",", ":"), default=_plain) + "\n").encode()


def _plain(value: object) -> object:
    """numpy and torch scalars and arrays as plain Python values, without importing either."""
    for method in ("tolist", "item"):
        convert = getattr(value, method, None)
        if callable(convert):
            return convert()
    raise TypeError(
        f"{type(value).__name__} cannot be sent to hpsweep; report numbers, or lists and dicts "
        "of numbers"
    )


def encode_decision(prune: bool) -> bytes:
    """The controller's answer to a :class:`PruneQuery`."""
    return b'{"v":1,"prune":true}\n' if prune else b'{"v":1,"prune":false}\n'


def decode_decision(line: bytes) -> bool:
    try:
        body = json.loads(line)
        return bool(body["prune"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise WireError(f"invalid decision line {line[:80]!r}") from None


def decode(line: bytes | str) -> Message:
    """Parse one channel line; raise :class:`WireError` naming what is wrong."""
    try:
        body = json.loads(line)
    except ValueError:
        raise WireError(f"not JSON: {_excerpt(line)}") from None
    except RecursionError:
        raise WireError(f"JSON nested too deeply: {_excerpt(line)}") from None
    if not isinstance(body, dict):
        raise WireError(f"expected a JSON object, got {_excerpt(line)}")
    version = body.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise WireError(f"protocol version {version!r} is not supported (this hpsweep speaks 1)")
    op = body.get("op")
    if op == "report":
        return _report(body)
    if op == "final":
        if "result" not in body:
            raise WireError("a 'final' message needs a 'result' key")
        return Final(body["result"])
    if op == "should_prune":
        return PruneQuery()
    if op == "pruned":
        return Pruned()
    if op == "error":
        message = body.get("message")
        if not isinstance(message, str):
            raise WireError(f"an 'error' message needs a string 'message', got {message!r}")
        return Failed(message)
    raise WireError(
        f"unknown op {op!r}; expected 'report', 'final', 'should_prune', 'pruned' or 'error'"
    )


def parse_marker(line: str) -> Report | Final | Pruned | None:
    """Read a stdout marker line: ``hpsweep: {"step": 3, "value": 0.41}``,
    ``hpsweep: {"result": 0.12}`` or ``hpsweep: {"pruned": true}``. Lines without the marker
    give None."""
    stripped = line.strip()
    if not stripped.startswith(MARKER):
        return None
    text = stripped[len(MARKER) :].strip()
    try:
        body = json.loads(text)
    except ValueError:
        raise WireError(f"marker line is not JSON: {_excerpt(text)}") from None
    except RecursionError:
        raise WireError(f"marker line nests JSON too deeply: {_excerpt(text)}") from None
    if not isinstance(body, dict):
        raise WireError(f"marker line must hold a JSON object, got {_excerpt(text)}")
    if "result" in body:
        return Final(body["result"])
    if body.get("pruned") is True:
        return Pruned()
    return _report(body)


def marker_line(message: Report | Final | Pruned) -> str:
    """The stdout form of ``message``, for trials that have no channel."""
    if isinstance(message, Final):
        return f"{MARKER} " + json.dumps({"result": message.result}, default=_plain)
    if isinstance(message, Pruned):
        return f"{MARKER} " + json.dumps({"pruned": True})
    return f"{MARKER} " + json.dumps({"step": message.step, "value": message.value})


def _report(body: dict[str, object]) -> Report:
    value = body.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WireError(f"'value' must be a number, got {value!r}")
    step = body.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        if isinstance(step, float) and step.is_integer() and step >= 0:
            step = int(step)
        else:
            raise WireError(f"'step' must be a non-negative integer, got {step!r}")
    if step is not None and step >= _MAX_STEP:
        raise WireError(f"'step' must be below 2**63 (what a database can store), got {step!r}")
    return Report(float(value), step)


_MAX_STEP = 2**63


def _excerpt(line: bytes | str) -> str:
    text = line.decode(errors="replace") if isinstance(line, bytes) else line
    text = text.strip()
    return repr(text if len(text) <= 80 else text[:77] + "...")


def is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
