"""What every hpsweep parser promises, as checks shared by the atheris targets in this directory
and the hypothesis tests in tests/hardening/test_parsers.py.

Any input gives either a valid result or an ``HpsweepError`` (``WireError`` on the wire) whose
message is one non-empty line; never another exception, never a hang, never an ``eval``.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from hpsweep import _wire
from hpsweep._config import SweepConfig
from hpsweep._config import apply_set
from hpsweep._config import from_mapping
from hpsweep._config import load_config
from hpsweep._errors import ConfigError
from hpsweep._errors import HpsweepError
from hpsweep._errors import SpaceError
from hpsweep.space import Param
from hpsweep.space import parse_cli
from hpsweep.space import render_cli


class EvalCalled(AssertionError):
    """A parser called eval or exec."""


def assert_one_line(error: BaseException) -> None:
    message = str(error)
    assert message.strip(), f"{type(error).__name__} with an empty message"
    lines = message.splitlines()
    assert len(lines) == 1, f"{type(error).__name__} message is {len(lines)} lines: {message!r}"


@contextlib.contextmanager
def no_eval() -> Iterator[None]:
    """Make ``eval`` and ``exec`` raise while the block runs."""

    saved = builtins.eval, builtins.exec

    def refuse(*args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_code.co_filename
        if caller.startswith("<frozen importlib"):  # importing a module runs its code: fine
            return saved[1](*args, **kwargs)
        raise EvalCalled("a parser called eval/exec on user text")

    builtins.eval = refuse
    builtins.exec = refuse
    try:
        yield
    finally:
        builtins.eval, builtins.exec = saved


def check_cli_spec(spec: str) -> tuple[str, Param] | None:
    """``-p SPEC``: a parameter that renders back to itself, or a one-line SpaceError."""
    try:
        with no_eval():
            name, param = parse_cli(spec)
    except SpaceError as error:
        assert_one_line(error)
        assert str(error).startswith("-p "), str(error)
        return None
    assert parse_cli(render_cli(name, param)) == (name, param)
    return name, param


def check_mapping(document: Any) -> SweepConfig | None:
    """A config mapping (the YAML form, as a Python value)."""
    try:
        with no_eval():
            return from_mapping(document)
    except HpsweepError as error:
        assert_one_line(error)
        return None


def check_set(document: dict[str, Any], item: str) -> SweepConfig | None:
    """``--set KEY=VALUE`` applied to a config mapping, then the config validated."""
    try:
        with no_eval():
            apply_set(document, item)
            return from_mapping(document)
    except HpsweepError as error:
        assert_one_line(error)
        return None


def check_config_text(data: bytes, directory: str | None = None) -> SweepConfig | None:
    """A sweep YAML file holding ``data``, read by ``load_config``."""
    handle, path = tempfile.mkstemp(suffix=".yaml", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        try:
            with no_eval():
                return load_config(path, environ={})
        except HpsweepError as error:
            assert isinstance(error, ConfigError), type(error)
            assert_one_line(error)
            return None
    finally:
        os.unlink(path)


def check_channel_line(line: bytes | str) -> _wire.Message | None:
    """One line of the trial channel."""
    try:
        with no_eval():
            message = _wire.decode(line)
    except _wire.WireError as error:
        assert_one_line(error)
        return None
    if isinstance(message, _wire.Report):
        assert message.step is None or 0 <= message.step < 2**63
    return message


def check_marker_line(line: str) -> _wire.Report | _wire.Final | _wire.Pruned | None:
    """One stdout line of a trial, which may be a marker line."""
    try:
        with no_eval():
            return _wire.parse_marker(line)
    except _wire.WireError as error:
        assert line.strip().startswith(_wire.MARKER)
        assert_one_line(error)
        return None


def orion_parser() -> Any:
    """The Oríon prior parser when the dialect exists in this tree, else None."""
    try:
        from hpsweep.dialects import _orion
    except ImportError:
        return None
    return getattr(_orion, "parse_prior", None)


def check_orion_prior(text: str) -> object:
    """An Oríon prior such as ``loguniform(1e-5, 1)``, parsed and then mapped to a param."""
    parse = orion_parser()
    if parse is None:
        return None
    from hpsweep.dialects import _orion

    try:
        with no_eval():
            prior = parse(text)
            return _orion.prior_to_param("x", prior)
    except HpsweepError as error:
        assert_one_line(error)
        return None
