"""What every hpsweep parser promises, as checks shared by the atheris targets in this directory
and the hypothesis tests in tests/hardening/test_parsers.py.

Any input gives either a valid result or an ``HpsweepError`` (``WireError`` on the wire) whose
message is one non-empty line; never another exception, never a hang, never an ``eval``.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from typing import TypeVar
from unittest import mock

from hpsweep import _wire
from hpsweep import _yaml
from hpsweep import tune
from hpsweep._config import SweepConfig
from hpsweep._config import apply_set
from hpsweep._config import from_mapping
from hpsweep._config import load_config
from hpsweep._errors import ConfigError
from hpsweep._errors import HpsweepError
from hpsweep._errors import SpaceError
from hpsweep.compat import autogluon as autogluon_compat
from hpsweep.compat import speechbrain
from hpsweep.dialects import _autogluon
from hpsweep.dialects._axect import AxectPlan
from hpsweep.dialects._axect import axect_plan
from hpsweep.dialects._axect import is_axect_file
from hpsweep.dialects._axect import read_optimize_file
from hpsweep.dialects._hparam_search import HparamPlan
from hpsweep.dialects._hparam_search import apply_overrides
from hpsweep.dialects._hparam_search import convert_string_to_type
from hpsweep.dialects._hparam_search import hparam_search_plan
from hpsweep.space import Param
from hpsweep.space import parse_cli
from hpsweep.space import render_cli

T = TypeVar("T")


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


@contextlib.contextmanager
def file_holding(data: bytes, directory: str | None = None) -> Iterator[str]:
    """The path of a new YAML file holding ``data``, removed after the block."""
    handle, path = tempfile.mkstemp(suffix=".yaml", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        yield path
    finally:
        os.unlink(path)


def result_or_one_line(call: Callable[[], T]) -> T | None:
    """``call()``'s result, or None when it raised a ConfigError (SpaceError included) of one
    line; any other exception, and an eval, escapes."""
    try:
        with no_eval():
            return call()
    except HpsweepError as error:
        assert isinstance(error, ConfigError), type(error)
        assert_one_line(error)
        return None


def check_config_text(data: bytes, directory: str | None = None) -> SweepConfig | None:
    """A sweep YAML file holding ``data``, read by ``load_config``."""
    with file_holding(data, directory) as path:
        return result_or_one_line(lambda: load_config(path, environ={}))


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


# -- the dialects: other tools' config files, overrides and search spaces ----------------------


def check_axect_file(
    data: bytes, sets: Sequence[str] = (), directory: str | None = None
) -> AxectPlan | None:
    """Axect's optimize config holding ``data``: detected as ``hpsweep run`` detects it, read
    alone as ``OptimizeConfig.from_yaml`` reads it, and planned with ``--set`` ``sets``."""
    with file_holding(data, directory) as path:
        with no_eval():
            detected = is_axect_file(path)  # never an error: a file it cannot read is not one
        result_or_one_line(lambda: read_optimize_file(path))
        plan = result_or_one_line(lambda: axect_plan(path, sets=sets, environ={}))
    if plan is not None:
        assert detected or sets, "planned as an optimize config, but not detected as one"
        assert set(plan.config.space) == {param.name for param in plan.spec.params}
        plan.config.to_mapping()
    return plan


def check_hparam_search_file(
    data: bytes, sets: Sequence[str] = (), directory: str | None = None
) -> HparamPlan | None:
    """The ``@hparam_search`` YAML holding ``data``, with ``--set`` ``sets``, in the steps of
    hpsweep.compat.hparam_search (which then runs the study)."""

    def plan(path: str) -> HparamPlan | None:
        config = _yaml.load_file(path)
        if not isinstance(config, dict):
            return None  # the compat refuses it in one line
        apply_overrides(config, sets, source=path)
        return hparam_search_plan(config, source=path, save_db_directory=os.path.dirname(path))

    with file_holding(data, directory) as path:
        result = result_or_one_line(lambda: plan(path))
    if result is not None:
        result.config.to_mapping()
    return result


def check_hparam_search_value(text: str) -> object:
    """A ``--set`` value typed as the decorator types it: always a value, never an error."""
    with no_eval():
        return convert_string_to_type(text)


def check_orion_config(
    data: bytes, arguments: Sequence[str] = (), directory: str | None = None
) -> object:
    """``hpsweep hunt -n exp -c FILE PYTHON ARGUMENTS`` with FILE holding ``data``: Oríon's
    config file, and the study it describes with the command's priors."""
    from hpsweep.dialects._orion import HuntOptions
    from hpsweep.dialects._orion import hunt_config

    # The interpreter stands for the script: an absolute path that exists, as hunt checks.
    command = [sys.executable, *arguments]
    with file_holding(data, directory) as path:
        options = HuntOptions(name="exp", config=path)
        hunt = result_or_one_line(lambda: hunt_config(command, options, cwd=Path(path).parent))
    if hunt is not None:
        hunt.config.to_mapping()
    return hunt


def check_speechbrain(
    data: bytes,
    overrides: Sequence[str] = (),
    *,
    hyperpyyaml: bool,
    directory: str | None = None,
) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """A SpeechBrain recipe's ``train.yaml --hpopt FILE --key value ...`` (FILE holding ``data``)
    through hpsweep.compat.speechbrain's ``parse_arguments``, read by HyperPyYAML or, with
    ``hyperpyyaml=False``, by its PyYAML fallback. argparse's own usage errors (exit 2; exit 0
    for --help) are SpeechBrain's behaviour and pass.

    HyperPyYAML's tags import and call code by design (docs/reliability.md), so give it text
    from a generator that writes only harmless tags: the fuzz target uses the fallback."""
    context = speechbrain.HyperparameterOptimizationContext(
        reporter_kwargs={"objective_key": "error", "output": io.StringIO()}
    )
    if hyperpyyaml:
        speechbrain._hyperpyyaml()  # imported outside no_eval(): importing runs namedtuple's eval
    loader = (
        contextlib.nullcontext()
        if hyperpyyaml
        else mock.patch.object(speechbrain, "_hyperpyyaml", lambda: None)
    )
    quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
    with file_holding(data, directory) as path, loader, quiet[0], quiet[1]:
        argv = ["train.yaml", "--hpopt", path, *overrides]
        try:
            return result_or_one_line(lambda: context.parse_arguments(argv))
        except SystemExit as exit:
            assert exit.code in (0, 2), f"argparse exited with {exit.code}"
            return None


TUNE_ARITY = {
    "uniform": 2,
    "loguniform": 2,
    "quniform": 3,
    "qloguniform": 3,
    "randint": 2,
    "lograndint": 2,
    "qrandint": 3,
    "qlograndint": 3,
}
"""The hpsweep.tune functions that build a search space from numbers, and how many each takes."""


def tune_space(name: str, numbers: Sequence[float]) -> object:
    """``hpsweep.tune.NAME(*numbers)`` (as many as it takes); None where tune's own checks refuse
    them, which happens at the caller's line, before any plan."""
    try:
        return getattr(tune, name)(*numbers[: TUNE_ARITY[name]])
    except SpaceError:
        return None


def autogluon_space(kind: str, **attributes: Any) -> object:
    """An AutoGluon search space (``Real``, ``Int``, ``Categorical`` or ``Bool``) holding any
    ``attributes``, as AutoGluon's own classes may: hpsweep's stand-in without its checks."""
    space: object = object.__new__(getattr(autogluon_compat, kind))
    vars(space).update(attributes)
    return space


def check_autogluon(
    hyperparameters: Any,
    tune_kwargs: Any,
    *,
    eval_metric: Any = "accuracy",
    mode: Any = None,
    time_limit: Any = None,
) -> _autogluon.AutogluonPlan | None:
    """AutoGluon's HPO arguments through ``autogluon_plan``; AutoGluon's own two ValueErrors (no
    dict, no search space) pass, word for word."""
    try:
        plan = result_or_one_line(
            lambda: _autogluon.autogluon_plan(
                hyperparameters,
                tune_kwargs,
                eval_metric=eval_metric,
                mode=mode,
                time_limit=time_limit,
            )
        )
    except ValueError as error:
        assert str(error) in (_autogluon.NO_DICT, _autogluon.NO_SEARCH_SPACE), repr(error)
        return None
    if plan is not None:
        assert set(plan.config.space) == set(plan.searched)
        plan.config.to_mapping()
    return plan
