"""SpeechBrain's ``speechbrain.utils.hpopt``, without SpeechBrain.

A recipe written for SpeechBrain's hyperparameter optimization changes one import::

    from hpsweep.compat import speechbrain as hp   # was: from speechbrain.utils import hpopt as hp

    with hp.hyperparameter_optimization(objective_key="error") as hp_ctx:
        hparams_file, run_opts, overrides = hp_ctx.parse_arguments(sys.argv[1:])
        ...
        hp.report_result(stats)          # every validation epoch; the last one counts

The API and its behaviour are SpeechBrain's (``hpopt.py`` and ``sb.parse_arguments``), with these
differences, all described in docs/coming-from-speechbrain.md:

- nothing reported (or a result without the objective key) prints one line on stderr instead of
  raising ``KeyError`` at exit (speechbrain#2358), and no placeholder ``{"objective": 0.0}`` is
  ever reported;
- the ``orion`` reporter writes ``$ORION_RESULTS_PATH`` itself, so Oríon need not be installed,
  and it ignores reporter arguments meant for the generic reporter instead of raising
  ``TypeError``;
- ``get_trial_id()`` inside a context that is not in hpopt mode returns ``"hpopt"`` instead of
  raising ``AttributeError``;
- under hpsweep, the generic reporter's trial id is ``<study>-trial-<N>`` (the trial's directory)
  instead of a timestamp, each ``report_result`` is also an intermediate value for hpsweep's
  pruner (a pruned trial ends with :class:`hpsweep.client.TrialPruned`), and the final result also
  travels over hpsweep's channel.

Imports only the standard library and :mod:`hpsweep.client`; PyYAML and HyperPyYAML are imported
by ``parse_arguments``.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import sys
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from hpsweep import client
from hpsweep._errors import ConfigError

if TYPE_CHECKING:
    import argparse

__all__ = [
    "DEFAULT_REPORTER",
    "DEFAULT_TRIAL_ID",
    "FORMAT_TIMESTAMP",
    "GenericHyperparameterOptimizationReporter",
    "HPOPT_KEYS",
    "HyperparameterOptimizationContext",
    "HyperparameterOptimizationReporter",
    "KEY_HPOPT",
    "KEY_HPOPT_MODE",
    "KEY_TRIAL_ID",
    "MODULE_ORION",
    "ORION_TRIAL_ID_ENV",
    "OrionHyperparameterOptimizationReporter",
    "get_reporter",
    "get_trial_id",
    "hpopt_mode",
    "hyperparameter_optimization",
    "report_result",
]

MODULE_ORION = "orion.client"
"""SpeechBrain imports this module to report to Oríon; kept for scripts that read the constant
(this module writes Oríon's results file itself)."""
FORMAT_TIMESTAMP = "%Y%m%d%H%M%S%f"
DEFAULT_TRIAL_ID = "hpopt"
DEFAULT_REPORTER = "generic"
ORION_TRIAL_ID_ENV = ["ORION_EXPERIMENT_NAME", "ORION_EXPERIMENT_VERSION", "ORION_TRIAL_ID"]
KEY_HPOPT = "hpopt"
KEY_HPOPT_MODE = "hpopt_mode"
KEY_TRIAL_ID = "trial_id"
HPOPT_KEYS = [KEY_HPOPT, KEY_HPOPT_MODE]

_INSTALL_HINT = "pip install 'hpsweep[speechbrain]'"
_OVERRIDES = "the command-line overrides"

logger = logging.getLogger(__name__)

_Reporter = TypeVar("_Reporter", bound="type[HyperparameterOptimizationReporter]")
_hpopt_modes: dict[str, type[HyperparameterOptimizationReporter]] = {}


def hpopt_mode(mode: str) -> Callable[[_Reporter], _Reporter]:
    """A class decorator that registers a reporter for ``--hpopt_mode <mode>``."""

    def register(cls: _Reporter) -> _Reporter:
        _hpopt_modes[mode] = cls
        return cls

    return register


class HyperparameterOptimizationReporter:
    """The base class of reporters: ``objective_key`` names the result's objective."""

    def __init__(self, objective_key: str) -> None:
        self.objective_key = objective_key

    def report_objective(self, result: Mapping[str, Any]) -> Any:
        """Report the final ``result`` (a dict of metrics)."""
        return NotImplemented

    @property
    def is_available(self) -> bool:
        """Whether this reporter can report here (else the generic one is used)."""
        return True

    @property
    def trial_id(self) -> str:
        """The trial's id, used to name its output folder."""
        return DEFAULT_TRIAL_ID


@hpopt_mode("generic")
class GenericHyperparameterOptimizationReporter(HyperparameterOptimizationReporter):
    """Prints the result as one JSON object on ``output`` (stdout), without a final newline:
    ``{"loss": 0.9, "error": 0.2, "objective": 0.2}``."""

    def __init__(
        self,
        reference_date: datetime | None = None,
        output: IO[str] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.output = output or sys.stdout
        self.reference_date = reference_date
        self._trial_id: str | None = None

    def report_objective(self, result: Mapping[str, Any]) -> None:
        json.dump(dict(result, objective=result[self.objective_key]), self.output, default=_plain)
        # SpeechBrain leaves flushing to interpreter exit; flushing now keeps the result even if
        # the process ends with os._exit or a signal.
        self.output.flush()

    @property
    def trial_id(self) -> str:
        """A timestamp (``20210103000000000000``), fixed per reporter; under hpsweep the
        trial's directory name prefixed with the study: ``speaker-id-trial-3``."""
        if self._trial_id is None:
            under_hpsweep = _hpsweep_trial_name()
            if self.reference_date is None and under_hpsweep is not None:
                self._trial_id = under_hpsweep
            else:
                self._trial_id = (self.reference_date or datetime.now()).strftime(FORMAT_TIMESTAMP)
        return self._trial_id


@hpopt_mode("orion")
class OrionHyperparameterOptimizationReporter(HyperparameterOptimizationReporter):
    """Reports to Oríon (or ``hpsweep hunt``) through the file ``$ORION_RESULTS_PATH``.

    Arguments other than ``objective_key`` (``output=``, meant for the generic reporter) are
    ignored; SpeechBrain raises ``TypeError`` for them."""

    def __init__(self, objective_key: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(objective_key=objective_key)
        self._trial_id: str | None = None

    def report_objective(self, result: Mapping[str, Any]) -> None:
        message = ", ".join(f"{key} = {value}" for key, value in result.items())
        logger.info(f"Hyperparameter fit: {message}")
        _orion_report_objective(result[self.objective_key])

    @property
    def trial_id(self) -> str:
        """``<experiment>-<version>-<trial>`` from the ``ORION_*`` variables."""
        if self._trial_id is None:
            self._trial_id = "-".join(os.getenv(name) or "" for name in ORION_TRIAL_ID_ENV)
        return self._trial_id

    @property
    def is_available(self) -> bool:
        """Whether the script runs under Oríon or hpsweep: one of the ``ORION_*`` id variables
        is set."""
        return any(os.getenv(name) for name in ORION_TRIAL_ID_ENV)


_orion_reported = False


def _orion_report_objective(value: Any) -> None:
    """What ``orion.client.report_objective`` does: write ``[{"name": "objective", "type":
    "objective", "value": v}]`` to ``$ORION_RESULTS_PATH`` (print it when the variable is
    unset), once per process."""
    global _orion_reported
    if _orion_reported:
        raise RuntimeWarning("Has already reported evaluation results once.")
    data = [{"name": "objective", "type": "objective", "value": _plain_number(value)}]
    path = os.getenv("ORION_RESULTS_PATH")
    if path:
        with open(path, "w", encoding="utf-8") as results:
            json.dump(data, results)
    else:
        print(data)
    _orion_reported = True


def get_reporter(mode: str, *args: Any, **kwargs: Any) -> HyperparameterOptimizationReporter:
    """The reporter registered for ``mode``; the generic one (with a logged warning) when the
    mode is unknown or its reporter is not available here."""
    reporter_cls = _hpopt_modes.get(mode) if isinstance(mode, str) else None
    if reporter_cls is None:
        logger.warning(f"hpopt_mode {mode} is not supported, reverting to generic")
        reporter_cls = _hpopt_modes[DEFAULT_REPORTER]
    reporter = reporter_cls(*args, **kwargs)
    if not reporter.is_available:
        logger.warning("Reverting to a generic reporter")
        reporter = _hpopt_modes[DEFAULT_REPORTER](*args, **kwargs)
    return reporter


_context: dict[str, HyperparameterOptimizationContext | None] = {"current": None}


class HyperparameterOptimizationContext:
    """Enables hpopt mode from the command line and reports the last result at exit.

    ``reporter_args`` and ``reporter_kwargs`` go to the reporter's constructor
    (``objective_key="error"``, ``output=...``)."""

    def __init__(
        self,
        reporter_args: Sequence[Any] | None = None,
        reporter_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.reporter_args = list(reporter_args or [])
        self.reporter_kwargs = dict(reporter_kwargs or {})
        self.reporter: HyperparameterOptimizationReporter | None = None
        self.enabled = False
        # SpeechBrain starts from the placeholder {"objective": 0.0}, which is reported when the
        # script reports nothing (or raises KeyError, speechbrain#2358); None reports nothing.
        self.result: Any = None

    def parse_arguments(
        self,
        arg_list: Sequence[str],
        pass_hpopt_args: Sequence[str] | None = None,
        pass_trial_id: bool = True,
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """``sb.parse_arguments`` with hpopt mode: returns ``(hparams_file, run_opts,
        overrides)``, overrides as a dict.

        hpopt mode is on only when the command line has a truthy ``--hpopt``. When ``--hpopt``
        names an existing file, that file is loaded with ``trial_id`` set to this trial's id,
        merged under the command-line overrides, and ``hpopt``/``hpopt_mode`` (and ``trial_id``
        when ``pass_trial_id`` is False) are removed unless listed in ``pass_hpopt_args``.
        """
        hparams_file, run_opts, overrides_yaml = _parse_run_arguments(list(arg_list))
        overrides = _load_overrides(overrides_yaml) if overrides_yaml else {}
        hpopt = overrides.get(KEY_HPOPT, False)
        mode = overrides.get(KEY_HPOPT_MODE) or DEFAULT_REPORTER
        if hpopt:
            self.enabled = True
            self.reporter = get_reporter(mode, *self.reporter_args, **self.reporter_kwargs)
            if isinstance(hpopt, str) and os.path.exists(hpopt):
                hpopt_overrides = _load_hpopt_file(hpopt, get_trial_id())
                overrides = {**hpopt_overrides, **overrides}
                stripped = [*HPOPT_KEYS, *([] if pass_trial_id else [KEY_TRIAL_ID])]
                for key in stripped:
                    if key in overrides and key not in (pass_hpopt_args or ()):
                        del overrides[key]
        return hparams_file, run_opts, overrides

    def __enter__(self) -> HyperparameterOptimizationContext:
        _context["current"] = self
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._report()
        finally:
            _context["current"] = None

    def _report(self) -> None:
        reporter = self.reporter or get_reporter(
            DEFAULT_REPORTER, *self.reporter_args, **self.reporter_kwargs
        )
        key = reporter.objective_key
        problem = _result_problem(self.result, key)
        if problem is not None:
            print(f"{__name__}: nothing reported: {problem}", file=sys.stderr)
            return
        reporter.report_objective(self.result)
        if client.in_trial():
            client.report_final(dict(self.result, objective=self.result[key]))

    def _objective_key(self) -> Any:
        if self.reporter is not None:
            return self.reporter.objective_key
        return self.reporter_kwargs.get("objective_key")

    def _report_progress(self, result: Any) -> None:
        """Under hpsweep, each reported result is an intermediate value of the objective (step
        0, 1, ...), so hpsweep's pruner can stop a poor trial early."""
        if not client.in_trial() or not isinstance(result, Mapping):
            return
        value = _finite(result.get(self._objective_key()))
        if value is None:
            return
        client.report(value)
        if client.should_prune():
            raise client.TrialPruned(f"hpsweep pruned the trial after it reported {value!r}")


def _result_problem(result: Any, key: Any) -> str | None:
    if result is None:
        return (
            "report_result() was never called inside the hyperparameter_optimization() block "
            "(SpeechBrain would raise KeyError here, speechbrain#2358)"
        )
    if not isinstance(result, Mapping):
        return f"report_result() needs a dict of metrics, but got {result!r}"
    if key not in result:
        keys = ", ".join(map(str, result)) or "none"
        return (
            f"the last reported result has no objective key {key!r} (its keys: {keys}); "
            "report it, or pass another objective_key"
        )
    return None


def hyperparameter_optimization(*args: Any, **kwargs: Any) -> HyperparameterOptimizationContext:
    """The hpopt context; its arguments go to the reporter (``objective_key="error"``)."""
    return HyperparameterOptimizationContext(args, kwargs)


def report_result(result: Mapping[str, Any]) -> None:
    """Report a dict of metrics; at the end of the ``with`` block the last one is reported.
    Outside a context it does nothing."""
    ctx = _context["current"]
    if ctx:
        ctx.result = result
        ctx._report_progress(result)


def get_trial_id() -> str:
    """The current trial's id (for output folders): the reporter's inside a context in hpopt
    mode, else ``"hpopt"``."""
    ctx = _context["current"]
    if ctx is None or ctx.reporter is None:
        return DEFAULT_TRIAL_ID
    return ctx.reporter.trial_id


# ------------------------------------------------------------------------ hpsweep helpers


def _hpsweep_trial_name() -> str | None:
    study = os.getenv("HPSWEEP_STUDY")
    directory = os.getenv("HPSWEEP_TRIAL_DIR")
    if not study or not directory:
        return None
    # The directory, not the trial number: a retry reuses it, so a retried recipe resumes from
    # its own checkpoints, and the folder names the hpsweep trial it belongs to.
    return f"{study}-{Path(directory).name}"


def _plain(value: Any) -> Any:
    """torch and numpy scalars as plain numbers, for json (without importing either)."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _plain_number(value: Any) -> Any:
    return value if isinstance(value, (int, float)) else _plain(value)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# ------------------------------------------------------------- sb.parse_arguments


def _run_options_parser() -> argparse.ArgumentParser:
    """SpeechBrain 1.x's run options (``speechbrain/core.py`` ``parse_arguments``), with the same
    types, defaults and flags; argparse's prefix matching applies to them as in SpeechBrain."""
    import argparse

    parser = argparse.ArgumentParser(description="Run a SpeechBrain experiment")
    parser.add_argument("param_file", type=str, help="a hyperparameters YAML file")
    flags = (
        "--test_only",
        "--debug",
        "--debug_persistently",
        "--data_parallel_backend",
        "--find_unused_parameters",
        "--jit",
        "--compile",
        "--skip_nonfinite_grads",
        "--tqdm_colored_bar",
        "--remove_vector_weight_decay",
        "--profile_training",
    )
    for flag in flags:
        parser.add_argument(flag, default=False, action="store_true")
    for flag in ("--auto_mix_prec", "--bfloat16_mix_prec", "--noprogressbar"):
        parser.add_argument(flag, default=None, action="store_true")
    typed: tuple[tuple[str, Callable[[str], Any], Any], ...] = (
        ("--debug_batches", int, 2),
        ("--debug_epochs", int, 2),
        ("--log_config", str, None),
        ("--device", str, "cuda:0"),
        ("--distributed_backend", str, "nccl"),
        ("--precision", str, None),
        ("--eval_precision", str, None),
        ("--max_grad_norm", float, None),
        ("--nonfinite_patience", int, None),
        ("--ckpt_interval_minutes", float, None),
        ("--ckpt_interval_steps", int, None),
        ("--grad_accumulation_factor", int, None),
        ("--optimizer_step_limit", int, None),
        ("--profile_warmup", int, 5),
        ("--profile_steps", int, 5),
    )
    for flag, kind, default in typed:
        parser.add_argument(flag, type=kind, default=default)
    # SpeechBrain declares these with nargs="*" (and type=bool for two, so any value is True).
    lists: tuple[tuple[str, Callable[[str], Any]], ...] = (
        ("--jit_module_keys", str),
        ("--compile_module_keys", str),
        ("--compile_mode", str),
        ("--compile_using_fullgraph", bool),
        ("--compile_using_dynamic_shape_tracing", bool),
    )
    for flag, kind in lists:
        parser.add_argument(flag, type=kind, nargs="*")
    return parser


def _parse_run_arguments(arg_list: list[str]) -> tuple[str, dict[str, Any], str]:
    """``sb.parse_arguments``: the hparams file, the run options that were given or have a
    default, and the other ``--key value`` arguments as YAML text."""
    parsed, leftovers = _run_options_parser().parse_known_args(arg_list)
    if leftovers and not leftovers[0].startswith("--"):
        # SpeechBrain fails here with a YAML or AttributeError traceback.
        raise ConfigError(
            f"unexpected argument {leftovers[0]!r} after the hparams file; the arguments after "
            "it are --key value overrides, e.g. --lr 0.1"
        )
    run_opts = {k: v for k, v in vars(parsed).items() if v is not None}
    param_file = run_opts.pop("param_file")
    local_rank = os.environ.get("LOCAL_RANK")
    if local_rank is not None and "cuda" in run_opts["device"]:
        run_opts["device"] = run_opts["device"][:-1] + str(local_rank)
    return param_file, run_opts, _convert_to_yaml(leftovers)


def _convert_to_yaml(overrides: list[str]) -> str:
    """SpeechBrain's ``_convert_to_yaml``: ``--k v`` and ``--k=v`` become ``k: v`` lines.

    All arguments are joined with ``=`` and split on ``=``, so an ``=`` inside a value becomes a
    space (``--expr=a=b`` gives ``expr: a b``); that is kept, with a logged warning."""
    for item in overrides:
        if item.count("=") > (1 if item.startswith("--") else 0):
            logger.warning(
                f"{item!r}: SpeechBrain reads '=' inside a command-line value as a space; "
                "pass such a value in a YAML file instead"
            )
    text = ""
    for piece in "=".join(overrides).split("="):
        if piece.startswith("--"):
            text += "\n" + piece[len("--") :] + ":"
        else:
            text += " " + piece
    return text.strip()


def _load_overrides(text: str) -> dict[str, Any]:
    what = _OVERRIDES
    _compose(text, what)
    hyperpyyaml = _hyperpyyaml()
    if hyperpyyaml is not None:
        try:
            loaded = hyperpyyaml.load_hyperpyyaml(text)
        # HyperPyYAML raises ruamel's, PyYAML's and plain Python errors for text it cannot
        # read; every one of them is bad input here.
        except Exception as error:
            raise ConfigError(_yaml_problem(what, text, error)) from None
    else:
        loaded = _load_plain_yaml(text, what)
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{what} {text!r} are not `--key value` pairs; every argument after the hparams "
            "file must be a --key (with its value), e.g. --lr 0.1"
        )
    return loaded


def _load_hpopt_file(path: str, trial_id: str) -> dict[str, Any]:
    """The ``--hpopt`` file, with ``trial_id`` set to this trial's id (``!ref <trial_id>``
    resolves to it)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as error:  # a directory, unreadable, not text
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{path}: cannot read the hpopt file: {reason}") from None
    # The shape first, tags left unresolved: HyperPyYAML's own message for a file that is not a
    # mapping is about "the structure of the overrides".
    node = _compose(text, path)
    if node is None:
        return {KEY_TRIAL_ID: trial_id}
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(
            f"{path}: an hpopt file must be a mapping of overrides (key: value lines), "
            f"like number_of_epochs: 1"
        )
    hyperpyyaml = _hyperpyyaml()
    if hyperpyyaml is None:
        loaded: dict[str, Any] = _load_plain_yaml(text, path)
        loaded[KEY_TRIAL_ID] = trial_id  # overrides_must_match=False adds the key
        return loaded
    try:
        return dict(
            hyperpyyaml.load_hyperpyyaml(
                text, overrides={KEY_TRIAL_ID: trial_id}, overrides_must_match=False
            )
        )
    except Exception as error:  # as above: any failure to read the file is bad input
        raise ConfigError(_yaml_problem(path, text, error)) from None


def _compose(text: str, what: str) -> Any:
    """The YAML node tree of ``text`` (None for no document), tags left unresolved, checked as
    hpsweep's own config reader checks a config before anything reads it further: YAML readers
    recurse on nesting (and PyYAML's scanner is quadratic in brackets), and HyperPyYAML walks a
    value again for each alias of it, so a few aliases that repeat aliases take it hours."""
    import yaml

    from hpsweep._yaml import MAX_DEPTH
    from hpsweep._yaml import too_deep

    if too_deep(text):
        raise ConfigError(f"{what}: brackets nest more than {MAX_DEPTH} levels deep; flatten it")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_problem(what, text, error)) from None
    except RecursionError:  # block nesting, which counting brackets does not see
        raise ConfigError(f"{what}: the YAML nests too deeply; flatten it") from None
    _refuse_alias_bombs(node, what)
    return node


def _refuse_alias_bombs(node: Any, what: str) -> None:
    """Refuse a node tree whose aliases stand for more than MAX_VALUES values: the check of
    ``hpsweep._config._check_size``, on YAML nodes, before anything is constructed."""
    import yaml

    from hpsweep._config import MAX_VALUES

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if not isinstance(current, yaml.CollectionNode) or id(current) in sizes:
            continue
        children = current.value
        if isinstance(current, yaml.MappingNode):
            children = [child for pair in current.value for child in pair]
        if not children_done:
            stack.append((current, True))
            stack.extend((child, False) for child in children)
            continue
        size = 1 + sum(sizes.get(id(child), 1) for child in children)
        if size > MAX_VALUES:
            raise ConfigError(
                f"{what}: the YAML stands for more than {MAX_VALUES} values (aliases that "
                "repeat other aliases); write the values out instead"
            )
        sizes[id(current)] = size


def _hyperpyyaml() -> Any:
    try:
        # Through importlib: HyperPyYAML ships no type information.
        return importlib.import_module("hyperpyyaml")
    except ImportError:
        return None


def _yaml_problem(what: str, text: str, error: Exception) -> str:
    """One line for YAML that cannot be read: the offending line and, for command-line
    overrides, how to quote a value."""
    from hpsweep._config import _shown

    first_lines = str(error).strip().splitlines()[:1]
    # HyperPyYAML raises some errors without a message (a bare ValueError for !applyref), and
    # ruamel's problems quote keys and values, line breaks included: shown escaped.
    problem = _shown(
        getattr(error, "problem", None)
        or "".join(first_lines)
        or "HyperPyYAML gives no reason; check the tags"
    )
    mark = getattr(error, "problem_mark", None)
    lines = text.splitlines()
    if mark is None:  # HyperPyYAML's own checks
        return f"{what}: {type(error).__name__}: {problem}"
    if not 0 <= mark.line < len(lines):  # the text ended early
        return f"{what}: line {mark.line + 1}: {problem}; fix the YAML"
    if what == _OVERRIDES:
        return (
            f"{what}: {lines[mark.line]!r} is not valid YAML ({problem}); quote the value, e.g. "
            "--name \"'a: b'\", and give each --key once"
        )
    return f"{what}: line {mark.line + 1}: {lines[mark.line]!r}: {problem}; fix the YAML"


def _load_plain_yaml(text: str, what: str) -> Any:
    """YAML without HyperPyYAML, typed the way HyperPyYAML types it (YAML 1.2: ``1e-3`` is a
    float, ``yes`` a string); HyperPyYAML tags need HyperPyYAML."""
    import yaml

    from hpsweep._config import _shown  # tags and problems may hold line breaks (%0A in a tag)

    try:
        return yaml.load(text, Loader=_yaml12_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as error:
        tag = _tag_of(error)
        if tag:
            raise ConfigError(
                f"{what} uses the HyperPyYAML tag {_shown(tag)}, which needs HyperPyYAML; "
                f"install it with: {_INSTALL_HINT}"
            ) from None
        raise ConfigError(f"{what}: {_shown(str(error.problem))}") from None
    except _DuplicateKey as error:
        raise ConfigError(f"{what}: {error}; give each key once") from None
    except yaml.YAMLError as error:  # ReaderError's own text is two lines: not str(error)
        raise ConfigError(_yaml_problem(what, text, error)) from None


def _tag_of(error: Any) -> str | None:
    problem = str(error.problem or "")
    start = problem.find("'!")
    return problem[start + 1 : problem.index("'", start + 1)] if start >= 0 else None


class _DuplicateKey(ValueError):
    pass


_LOADER: Any = None


def _yaml12_loader() -> Any:
    """A PyYAML SafeLoader with YAML 1.2 core-schema scalars, as HyperPyYAML (ruamel) reads
    them, that rejects duplicate keys as HyperPyYAML does."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import re

    import yaml

    replaced = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")

    class Loader(yaml.SafeLoader):
        yaml_implicit_resolvers = {
            first: [r for r in resolvers if r[0] not in replaced]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)$"),
        list("-+0123456789"),
    )
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+.0123456789"),
    )

    def construct_int(loader: Any, node: Any) -> int:
        text = str(loader.construct_scalar(node)).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
            if digits.startswith(prefix):
                return sign * int(digits[2:], base)
        try:
            return sign * int(digits)  # YAML 1.2: a leading 0 is still decimal (017 is 17)
        except ValueError:  # more digits than Python converts (4300 by default)
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"the integer {text[:20]}... has {len(digits)} digits, more than Python reads; "
                "quote it to keep it as text",
                node.start_mark,
            ) from None

    def construct_mapping(loader: Any, node: Any) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float)):
                continue  # construct_mapping below rejects unhashable keys
            if key in seen:
                raise _DuplicateKey(f"{key!r} is given twice")
            seen.add(key)
        return dict(loader.construct_mapping(node, deep=True))

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    _LOADER = Loader
    return Loader
