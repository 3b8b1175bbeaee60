"""Oríon's ``hunt``: its prior grammar, its command rewriting and its config file, as a
:class:`~hpsweep._config.SweepConfig`.

``orion hunt -n NAME -c orion.yaml python train.py --lr~'loguniform(1e-5, 1)'`` becomes a study
``NAME`` whose command is ``python /abs/train.py --lr {lr}`` and whose space holds ``lr``. Priors
are parsed by a small hand-written grammar (Oríon ``eval``s them). What maps how, and what differs
from Oríon, is in docs/coming-from-orion.md. No optuna here.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import shutil
import string
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from hpsweep import _yaml
from hpsweep._config import SweepConfig
from hpsweep._config import _check_size
from hpsweep._config import _shown
from hpsweep._config import from_mapping
from hpsweep._errors import ConfigError
from hpsweep._errors import SpaceError
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import Param
from hpsweep.space import SearchSpace
from hpsweep.space._params import MAX_DIGITS
from hpsweep.space._params import NAME_RE
from hpsweep.space._params import is_possible

__all__ = ["Hunt", "HuntOptions", "Prior", "hunt_config", "parse_prior", "prior_to_param"]

PRIORS = ("uniform", "loguniform", "normal", "gaussian", "choices", "fidelity")
"""The priors hpsweep maps; Oríon also takes any ``scipy.stats`` distribution."""
PRECISION = 4
"""Significant digits of a real prior's values without ``precision=`` (Oríon's default)."""
NORMAL_WIDTH = 3.0
"""``normal(m, s)`` is searched uniformly over ``m ± 3s``, where 99.7 % of its mass lies."""
DEFAULT_MAX_BROKEN = 3
_MAX_DEPTH = 32

# ----------------------------------------------------------------------------- the grammar


@dataclass(frozen=True)
class Prior:
    """A parsed prior: ``uniform(0, 1, discrete=True)`` is
    ``Prior("uniform", (0, 1), {"discrete": True})``."""

    name: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<punct>[()\[\]{},:=+-])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}
_CONSTANTS = {"True": True, "False": False, "None": None}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None:
                where = len(text) - len(text[position:].lstrip())
                raise SpaceError(
                    f"unexpected {text[where]!r} at position {where + 1} of {text!r}; a prior "
                    "looks like uniform(0, 1) or choices(['a', 'b'])"
                )
            kind = match.lastgroup or ""
            self.items.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.index] if self.index < len(self.items) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise SpaceError(f"{self.text!r} ends too early; close every bracket")
        self.index += 1
        return token

    def expect(self, punct: str) -> None:
        kind, text, at = self.take()
        if kind != "punct" or text != punct:
            raise SpaceError(
                f"expected {punct!r} at position {at + 1} of {self.text!r}, found {text!r}"
            )

    def at(self, punct: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "punct" and token[1] == punct


def parse_prior(text: str) -> Prior:
    """Parse ``name(arg, ..., key=value, ...)`` where values are Python literals: numbers,
    quoted strings, True/False/None, lists, tuples and dicts. Never evaluates the text.

    Raises :class:`~hpsweep._errors.SpaceError` with a one-line message for anything else."""
    tokens = _Tokens(text)
    kind, name, _ = tokens.take()
    if kind != "name" or not tokens.at("("):
        raise SpaceError(
            f"{text!r} is not a prior; write it as a call, e.g. uniform(0, 1) or "
            "choices([128, 256])"
        )
    tokens.take()
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    while not tokens.at(")"):
        token = tokens.peek()
        following = (
            tokens.items[tokens.index + 1] if tokens.index + 1 < len(tokens.items) else None
        )
        if token and token[0] == "name" and following and following[1] == "=":
            tokens.index += 2
            if token[1] in kwargs:
                raise SpaceError(f"{text!r} gives {token[1]}= twice; give it once")
            kwargs[token[1]] = _value(tokens, 0)
        else:
            if kwargs:
                raise SpaceError(
                    f"{text!r} has a positional argument after a keyword argument; put the "
                    "positional ones first"
                )
            args.append(_value(tokens, 0))
        if not tokens.at(")"):
            tokens.expect(",")
    tokens.take()
    extra = tokens.peek()
    if extra is not None:
        raise SpaceError(
            f"{text!r} has {extra[1]!r} after the closing parenthesis; write one prior per "
            "argument"
        )
    return Prior(name, tuple(args), kwargs)


def _value(tokens: _Tokens, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise SpaceError(f"{tokens.text!r} nests brackets too deeply")
    kind, text, at = tokens.take()
    if kind == "number":
        return _number(text, tokens.text)
    if kind == "string":
        return _unquote(text)
    if kind == "name":
        if text in _CONSTANTS:
            return _CONSTANTS[text]
        raise SpaceError(
            f"{text!r} in {tokens.text!r} is not a value; quote strings (['{text}']) and quote "
            f"the whole prior for the shell: --x~\"choices(['{text}'])\""
        )
    if text in ("+", "-"):
        sign_kind, number, _ = tokens.take()
        if sign_kind != "number":
            raise SpaceError(f"{text!r} at position {at + 1} of {tokens.text!r} needs a number")
        value = _number(number, tokens.text)
        return -value if text == "-" else value
    if text in _CLOSERS:
        return _collection(tokens, text, depth)
    raise SpaceError(f"unexpected {text!r} at position {at + 1} of {tokens.text!r}")


def _collection(tokens: _Tokens, opener: str, depth: int) -> Any:
    closer = _CLOSERS[opener]
    items: list[Any] = []
    pairs: dict[Any, Any] = {}
    while not tokens.at(closer):
        item = _value(tokens, depth + 1)
        if opener == "{":
            tokens.expect(":")
            if isinstance(item, (list, dict)):
                raise SpaceError(f"{tokens.text!r} uses a list or dict as a dict key")
            pairs[item] = _value(tokens, depth + 1)
        else:
            items.append(item)
        if not tokens.at(closer):
            tokens.expect(",")
    tokens.take()
    return pairs if opener == "{" else items


def _number(text: str, whole: str) -> int | float:
    try:
        value: int | float = int(text) if re.fullmatch(r"\d(?:_?\d)*", text) else float(text)
    except ValueError:
        raise SpaceError(f"the number {text[:40]!r} in {whole[:80]!r} is too long") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise SpaceError(f"the number {text[:40]!r} in {whole[:80]!r} is out of range")
    return value


def _unquote(text: str) -> str:
    body = text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            # Python keeps unknown escapes (\d) as they are; so does this.
            out.append(_ESCAPES.get(following, "\\" + following))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


# ----------------------------------------------------------------------- priors → params


@dataclass(frozen=True)
class _Fidelity:
    name: str
    low: float
    high: float
    base: float


@dataclass(frozen=True)
class _Dimension:
    param: Param
    default: Any = None
    fidelity: _Fidelity | None = None
    notes: tuple[str, ...] = ()


_REAL_KWARGS = ("discrete", "default_value", "precision", "shape")
_KWARGS = {
    "uniform": _REAL_KWARGS,
    "loguniform": _REAL_KWARGS,
    "normal": _REAL_KWARGS,
    "gaussian": _REAL_KWARGS,
    "choices": ("default_value", "shape"),
    "fidelity": ("base",),
}


def prior_to_param(name: str, prior: Prior) -> tuple[Param, Any]:
    """The hpsweep param for ``prior`` and its ``default_value`` (None when not given).

    Raises :class:`~hpsweep._errors.SpaceError` for priors that have no Optuna counterpart."""
    dimension = _dimension(name, prior)
    return dimension.param, dimension.default


def _dimension(name: str, prior: Prior) -> _Dimension:
    if prior.name == "randint":
        raise SpaceError("`randint` is not supported. Use uniform(discrete=True) instead.")
    if prior.name not in _KWARGS:
        close = difflib.get_close_matches(prior.name, PRIORS, n=1)
        hint = f"did you mean {close[0]}()? " if close else ""
        raise SpaceError(
            f"unknown prior {prior.name}(); {hint}hpsweep supports {', '.join(PRIORS)} (Oríon's "
            "other scipy.stats priors have no Optuna counterpart)"
        )
    allowed = _KWARGS[prior.name]
    for key in prior.kwargs:
        if key not in allowed:
            raise SpaceError(
                f"{prior.name}() takes no {key}=; it takes {', '.join(allowed)}"
                f"{_suggestion(key, allowed)}"
            )
    shape = prior.kwargs.get("shape")
    if shape is not None:
        raise SpaceError(
            f"shape={shape!r} (a vector of values) is not supported; define one param per "
            "component, e.g. --w0~'uniform(0, 1)' --w1~'uniform(0, 1)'"
        )
    if prior.name == "fidelity":
        return _fidelity(name, prior)
    if prior.name == "choices":
        param, notes = _choices(prior)
    else:
        param, notes = _numeric(name, prior)
    default = prior.kwargs.get("default_value")
    if default is not None:
        if not is_possible(param, default):
            raise SpaceError(
                f"default_value={default!r} is not a value {prior.name}() can take; give one "
                "inside its range (or one of its choices)"
            )
        if isinstance(param, Float) and isinstance(default, int) and not isinstance(default, bool):
            default = float(default)  # only now: an int past a float's range is refused above
    return _Dimension(param, default, None, notes)


def _arguments(prior: Prior, count: int, names: str) -> list[float]:
    if len(prior.args) != count:
        raise SpaceError(
            f"{prior.name}() takes {count} numbers ({names}), but got {len(prior.args)} "
            f"argument(s): {_call(prior)}"
        )
    numbers = []
    for value in prior.args:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpaceError(f"{prior.name}() takes numbers ({names}), but got {value!r}")
        numbers.append(value)
    return numbers


def _numeric(name: str, prior: Prior) -> tuple[Param, tuple[str, ...]]:
    discrete = prior.kwargs.get("discrete", False)
    if not isinstance(discrete, bool):
        raise SpaceError(f"discrete= must be True or False, but got {discrete!r}")
    precision = prior.kwargs.get("precision", PRECISION)
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 1:
        raise SpaceError(f"precision= must be a whole number >= 1, but got {precision!r}")
    notes: list[str] = []
    if prior.name in ("normal", "gaussian"):
        loc, scale = _arguments(prior, 2, "loc, scale")
        if scale <= 0:
            raise SpaceError(f"{prior.name}() needs scale > 0, but got scale={scale!r}")
        low, high = loc - NORMAL_WIDTH * scale, loc + NORMAL_WIDTH * scale
        notes.append(
            f"/{name}: {_call(prior)} is searched uniformly over [{low:g}, {high:g}] (mean ± 3 "
            "scales): Optuna has no normal prior"
        )
        log = False
    else:
        low, high = _arguments(prior, 2, "low, high")
        log = prior.name == "loguniform"
        if not low < high:
            fix = "swap the bounds" if low > high else "widen the range (or fix the value)"
            raise SpaceError(
                f"{prior.name}() needs low < high, but got low={low!r}, high={high!r}; {fix}"
            )
        if log and low <= 0:
            fix = (
                f"start it above 0, e.g. loguniform({high * 1e-6:g}, {high!r}), or use uniform()"
                if high > 0
                else "use uniform(): a log scale needs bounds above 0"
            )
            raise SpaceError(f"loguniform() needs low > 0, but got low={low!r}; {fix}")
    try:
        if discrete:
            int_low, int_high = math.ceil(low), math.floor(high)
            if int_low > int_high:
                raise SpaceError(f"{_call(prior)} holds no whole number")
            return Int(int_low, int_high, log=log), tuple(notes)
        # beyond MAX_DIGITS every double is already told apart: nothing more to keep
        digits = min(precision, MAX_DIGITS)
        return Float(float(low), float(high), log=log, digits=digits), tuple(notes)
    except SpaceError as error:
        raise SpaceError(f"{_call(prior)}: {error}") from None


def _choices(prior: Prior) -> tuple[Param, tuple[str, ...]]:
    if not prior.args:
        raise SpaceError("choices() needs the categories, e.g. choices(['adam', 'sgd'])")
    # As in Oríon: choices([a, b]) or choices({a: p, b: q}), else every argument is a category.
    first = prior.args[0]
    values: Any = (
        first if len(prior.args) == 1 and isinstance(first, (list, dict)) else [*prior.args]
    )
    notes: tuple[str, ...] = ()
    if isinstance(values, dict):
        weights = list(values.values())
        if any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in weights):
            raise SpaceError(
                f"choices({{value: probability}}) needs probabilities >= 0, but got {weights!r}"
            )
        if not math.isclose(sum(weights), 1.0, rel_tol=1e-5, abs_tol=1e-8):
            raise SpaceError(
                f"the probabilities of choices() must sum to 1, but they sum to {sum(weights):g}"
            )
        values = [value for value, weight in zip(values, weights) if weight > 0]
        notes = (
            "the probabilities of choices() are ignored: Optuna samples categories "
            "without weights (categories with probability 0 are left out)",
        )
    try:
        return Choice(values), notes
    except SpaceError as error:
        raise SpaceError(f"{_call(prior)}: {error}") from None


def _fidelity(name: str, prior: Prior) -> _Dimension:
    if not 2 <= len(prior.args) <= 3 or (len(prior.args) == 3 and "base" in prior.kwargs):
        raise SpaceError(f"fidelity() takes (low, high, base=2), but got {_call(prior)}")
    numbers = list(prior.args) + [prior.kwargs.get("base", 2)] * (3 - len(prior.args))
    for value in numbers:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpaceError(f"fidelity() takes numbers (low, high, base), but got {value!r}")
    low, high, base = numbers
    if low <= 0 or low > high:
        raise SpaceError(f"fidelity() needs 0 < low <= high, but got low={low!r}, high={high!r}")
    if base < 1:
        raise SpaceError(f"fidelity() needs base >= 1, but got base={base!r}")
    return _Dimension(Fixed(high), None, _Fidelity(name, low, high, base))


def _call(prior: Prior) -> str:
    parts = [repr(a) for a in prior.args] + [f"{k}={v!r}" for k, v in prior.kwargs.items()]
    return f"{prior.name}({', '.join(parts)})"


def _suggestion(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {close[0]}?" if close else ""


# --------------------------------------------------------------------- the hunt command


@dataclass(frozen=True)
class HuntOptions:
    """``hpsweep hunt``'s own options (Oríon's names)."""

    name: str | None = None
    config: str | None = None
    n_workers: int | None = None
    exp_max_trials: int | None = None
    exp_max_broken: int | None = None
    max_trials: int | None = None
    """Oríon's deprecated spelling of ``exp_max_trials``."""
    worker_max_trials: int | None = None
    worker_max_broken: int | None = None
    working_dir: str | None = None
    storage: str | None = None


@dataclass(frozen=True)
class Hunt:
    """The study ``hunt`` runs, and notes on what was mapped loosely or ignored."""

    config: SweepConfig
    notes: tuple[str, ...] = ()


# Oríon's user-script rewriting: `--x~prior` and the like.
_PRIOR_VALUE = re.compile(r"(.+?)~([+\->]?.+)", re.DOTALL)
_NEGATIVE_NUMBER = re.compile(r"-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
ORION_TEMPLATES = (
    "trial.id",
    "trial.working_dir",
    "trial.hash_params",
    "exp.name",
    "exp.version",
    "exp.id",
    "exp.working_dir",
)


@dataclass
class _Argument:
    """One argument of the user's command: an option (``--lr``) with its values, or a
    positional value."""

    option: str | None
    values: list[tuple[str, str]]
    """Each value with the argv item it came from (``--lr~P`` gives ``orion~P``)."""
    source: str


@dataclass
class _Command:
    template: list[str]
    priors: dict[str, tuple[Prior, str]]
    """Param name → (prior, where it was given, for messages)."""


def _is_option(item: str) -> bool:
    return item.startswith("-") and not _NEGATIVE_NUMBER.fullmatch(item)


def _split_prior(text: str) -> tuple[str, str] | None:
    """``("lr", "loguniform(1e-5, 1)")`` for ``lr~loguniform(1e-5, 1)``; None when the text
    holds no prior (no ``~``, or ``~`` followed by a path or by nothing, as in Oríon)."""
    match = _PRIOR_VALUE.fullmatch(text)
    if match is None or match.group(2).startswith("/"):
        return None
    return match.group(1), match.group(2)


def _arguments_of(command: Sequence[str]) -> list[_Argument]:
    """Oríon's ``CmdlineParser``: positional values up to the first option, then options each
    with the values that follow it."""
    arguments: list[_Argument] = []
    for item in command:
        if _is_option(item):
            head, tilde, prior = item.partition("~")
            if tilde and (prior == "" or prior.startswith("/")):
                head, tilde, prior = item, "", ""  # `--home~/x`: a path, not a prior
            option, equals, value = head.partition("=")
            if tilde and equals and value not in ("", "orion"):
                raise ConfigError(
                    f"argument {item!r}: a prior goes right after the option name; write "
                    f"{_shown(option)}~'{_shown(prior)}'"
                )
            # Oríon passes a one-letter long option as a short one: `--x~...` gives `-x 0.5`.
            if option.startswith("--") and len(option) == 3 and not equals:
                option = option[1:]
            values = [f"orion~{prior}"] if tilde else ([value] if equals else [])
            arguments.append(_Argument(option, [(v, item) for v in values], item))
        elif arguments and arguments[-1].option is not None:
            arguments[-1].values.append((item, item))
        else:
            arguments.append(_Argument(None, [(item, item)], item))
    return arguments


def _parse_command(
    command: Sequence[str], *, cwd: Path, templates: Mapping[str, str], config_params: set[str]
) -> _Command:
    arguments = _arguments_of(command)
    seen: dict[str, str] = {}
    template: list[str] = []
    priors: dict[str, tuple[Prior, str]] = {}
    for position, argument in enumerate(arguments):
        if argument.option is not None:
            key = argument.option.lstrip("-")
            if key in seen:
                raise ConfigError(
                    f"Conflict: two arguments have the same name: {_shown(key)} "
                    f"({seen[key]!r} and {argument.source!r}); give each argument once"
                )
            seen[key] = argument.source
            template.append(_translate(argument.option, templates, config_params, argument))
        else:
            key = f"_pos_{position}"
        for value, item in argument.values:
            where = "argument " + (
                repr(item) if item == argument.source else f"{_shown(argument.source)} {item!r}"
            )
            split = _split_prior(value)
            if split is None:
                path = _absolute(value, cwd)
                if path != value:  # a path is literal text, whatever braces it holds
                    template.append(path.replace("{", "{{").replace("}", "}}"))
                else:
                    template.append(_translate(value, templates, config_params, argument))
                continue
            prefix, text = split
            if len(argument.values) > 1:
                raise ConfigError(
                    f"{where}: a prior must be the only value of its option; give the other "
                    "values in another option"
                )
            name = key
            if argument.option is None and prefix != "orion":
                name = prefix  # `lr~uniform(0, 1)` as a positional value is the param `lr`
            if not NAME_RE.fullmatch(name):
                raise ConfigError(
                    f"{where}: {name!r} cannot name a param; names start with a letter or _ and "
                    "hold letters, digits, _ . - /"
                )
            if name in priors:
                raise ConfigError(f"{where}: Conflict: two priors have the same name: {name}")
            priors[name] = (_parse_marked(text, where), where)
            template.append("{" + name + "}")
    return _Command(template, priors)


def _parse_marked(text: str, where: str) -> Prior:
    if text[:1] in ("-", ">"):
        raise ConfigError(
            f"{where}: {text!r} uses Oríon's experiment-branching marker {text[0]!r}, which "
            "hpsweep does not support; start a new study instead (another -n)"
        )
    try:
        return parse_prior(text[1:] if text.startswith("+") else text)
    except SpaceError as error:
        raise ConfigError(f"{where}: {error}") from None


def _absolute(value: str, cwd: Path) -> str:
    """Oríon makes every argument value that names an existing path absolute."""
    # os.path, not Path.exists, which raises for text too long to name a file (ENAMETOOLONG).
    if value and os.path.exists(cwd / value):
        return os.path.abspath(cwd / value)
    return value


def _translate(
    item: str, templates: Mapping[str, str], config_params: set[str], argument: _Argument
) -> str:
    """An argv item with Oríon's ``str.format`` templates (``{trial.id}``, ``{exp.name}``) as
    hpsweep placeholders, and its literal braces escaped for hpsweep's templating."""
    try:
        parts = list(string.Formatter().parse(item))
    except ValueError as error:
        raise ConfigError(
            f"argument {argument.source!r}: {error}; write {{{{ and }}}} for literal braces"
        ) from None
    out: list[str] = []
    for literal, field_name, spec, conversion in parts:
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if field_name is None:
            continue
        if field_name in templates and not spec and not conversion:
            out.append(templates[field_name])
        elif field_name in config_params and not spec and not conversion:
            out.append("{" + field_name + "}")
        else:
            known = ", ".join("{" + t + "}" for t in ORION_TEMPLATES)
            raise ConfigError(
                f"argument {argument.source!r}: unknown template {{{_shown(field_name)}}}; "
                f"Oríon's templates are {known} (write {{{{ and }}}} for literal braces)"
            )
    return "".join(out)


def _check_script(command: Sequence[str], cwd: Path) -> None:
    """Oríon checks the script exists before it starts anything; so does hunt."""
    script = command[1] if command[0] == "python" and len(command) > 1 else command[0]
    if script.startswith("-"):
        return  # `python -m module`: no script file to check
    if not os.path.exists(cwd / script) and shutil.which(script) is None:  # as in _absolute
        raise ConfigError(
            f"the script {script!r} does not exist and is not a command on PATH; check the "
            "command after the hunt options"
        )


def _check_script_config(arguments: list[_Argument], option: str, cwd: Path) -> None:
    """Oríon also samples priors written inside the script's ``--config`` file and writes that
    file per trial; hpsweep does not, so such a file is refused rather than passed on with
    ``orion~`` strings in it."""
    for argument in arguments:
        if argument.option is None or argument.option.lstrip("-") != option:
            continue
        for value, _ in argument.values:
            path = cwd / value
            if not os.path.isfile(path):  # os.path, as in _absolute
                continue
            if "orion~" in path.read_text(encoding="utf-8", errors="replace"):
                raise ConfigError(
                    f"{_shown(value)}: priors inside the script's --{_shown(option)} file are "
                    "not supported (hpsweep writes no config file per trial); put them on the "
                    "command line, e.g. --lr~'loguniform(1e-5, 1)', or under space: in the hunt "
                    "config (-c)"
                )


# ---------------------------------------------------------------------- the config file

_EXPERIMENT_KEYS = (
    "name",
    "version",
    "user",
    "max_trials",
    "max_broken",
    "working_dir",
    "algorithms",
    "algorithm",
    "strategy",
    "worker_trials",
    "space",
)
_WORKER_KEYS = (
    "n_workers",
    "pool_size",
    "executor",
    "executor_configuration",
    "heartbeat",
    "max_trials",
    "max_broken",
    "max_idle_time",
    "idle_timeout",
    "interrupt_signal_code",
    "user_script_config",
    "reservation_timeout",
)
_IGNORED_EXPERIMENT = ("version", "user", "strategy", "worker_trials")
_IGNORED_WORKER = tuple(k for k in _WORKER_KEYS if k not in ("n_workers", "user_script_config"))
_IGNORED_SECTIONS = ("database", "storage", "evc", "debug", "frontends_uri", "producer")
_SECTIONS = ("experiment", "worker", "space", *_IGNORED_SECTIONS)

_ALGORITHMS: dict[str, tuple[str, ...]] = {
    "random": ("seed",),
    "tpe": (
        "seed",
        "n_initial_points",
        "n_ei_candidates",
        "prior_weight",
        "gamma",
        "equal_weight",
        "full_weight_num",
        "max_retry",
        "parallel_strategy",
    ),
    "asha": ("seed", "num_rungs", "num_brackets", "repetitions"),
    "hyperband": ("seed", "repetitions"),
}
_IGNORED_ALGORITHM_KWARGS = (
    "gamma",
    "equal_weight",
    "full_weight_num",
    "max_retry",
    "parallel_strategy",
    "num_rungs",
    "num_brackets",
    "repetitions",
)
_TPE_INITIAL_POINTS = 20  # Oríon's default; Optuna's is 10


@dataclass
class _File:
    experiment: dict[str, Any] = field(default_factory=dict)
    worker: dict[str, Any] = field(default_factory=dict)
    space: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _read_config(path: str) -> _File:
    loaded = _yaml.load_file(path)
    _check_size(loaded, path)  # error messages quote values: refuse a YAML alias bomb first
    result = _File()
    if loaded is None:
        return result
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping such as experiment: {{max_trials: 10}}, "
            f"got {type(loaded).__name__}"
        )
    document = {_underscored(k): v for k, v in loaded.items()}
    for section, example in (("experiment", "{max_trials: 10}"), ("worker", "{n_workers: 2}")):
        value = document.get(section)
        if value is None:
            document[section] = {}
        elif not isinstance(value, dict):
            raise ConfigError(
                f"{path}: {section} must be a mapping of settings, e.g. {section}: {example}, "
                f"got {value!r}"
            )
        else:
            document[section] = {_underscored(k): v for k, v in value.items()}
    experiment, worker = document["experiment"], document["worker"]
    # Oríon still reads the settings of its 0.1 files at the top level (with a deprecation
    # warning); experiment settings are placed first, as Oríon does for max_trials/max_broken.
    for key in list(document):
        if key in _SECTIONS:
            continue
        section, values = (
            ("experiment", experiment) if key in _EXPERIMENT_KEYS else ("worker", worker)
        )
        if key in _EXPERIMENT_KEYS or key in _WORKER_KEYS:
            value = document.pop(key)
            if key in values:
                result.notes.append(f"{path}: top-level {key} is ignored; {section}.{key} is set")
            else:
                values[key] = value
                result.notes.append(f"{path}: top-level {key} is read as {section}.{key}")
        else:
            known = [*_SECTIONS, *_EXPERIMENT_KEYS, *_WORKER_KEYS]
            raise ConfigError(
                f"{path}: unknown key {key!r}{_suggestion(str(key), known)} (sections: "
                "experiment, worker, space)"
            )
    for section, keys, values in (
        ("experiment", _EXPERIMENT_KEYS, experiment),
        ("worker", _WORKER_KEYS, worker),
    ):
        for key in values:
            if key not in keys:
                raise ConfigError(
                    f"{path}: unknown key {section}.{_shown(str(key))}"
                    f"{_suggestion(str(key), keys)}; {section} takes {', '.join(keys)}"
                )
    result.ignored.extend(f"experiment.{k}" for k in _IGNORED_EXPERIMENT if k in experiment)
    result.ignored.extend(f"worker.{k}" for k in _IGNORED_WORKER if k in worker)
    result.ignored.extend(k for k in _IGNORED_SECTIONS if k in document)
    space = experiment.get("space", document.get("space"))
    if "space" in experiment and "space" in document:
        raise ConfigError(f"{path}: give space at the top level or under experiment, not both")
    if space is not None and not isinstance(space, dict):
        raise ConfigError(
            f"{path}: space must map names to priors, e.g. space: {{lr: 'loguniform(1e-5, "
            f"1)'}}, got {space!r}"
        )
    result.experiment, result.worker, result.space = experiment, worker, dict(space or {})
    return result


def _underscored(key: Any) -> Any:
    return key.replace("-", "_") if isinstance(key, str) else key


def _whole(value: Any, where: str, minimum: int) -> int:
    """A YAML count: an int, or a float/numeric string holding a whole number (PyYAML reads
    ``1e9`` as a string)."""
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if (
        isinstance(number, bool)
        or not isinstance(number, (int, float))
        # not integral, inf or nan; an int is exact however large (math.isfinite would overflow)
        or (isinstance(number, float) and not number.is_integer())
        or number < minimum
    ):
        raise ConfigError(f"{where} must be a whole number >= {minimum}, got {value!r}")
    return int(number)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or value == "":
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    return str(value)


def _algorithm(
    value: Any, where: str, fidelity: _Fidelity | None
) -> tuple[dict[str, Any], dict[str, Any], int | None, list[str]]:
    """Oríon's ``algorithm`` as (sampler, pruner, seed, notes)."""
    kwargs: dict[str, Any]
    if isinstance(value, str):
        name, kwargs = value, {}
    elif isinstance(value, dict) and len(value) == 1:
        name, kwargs = next(iter(value.items()))
        if kwargs is None:
            kwargs = {}
        if not isinstance(name, str) or not isinstance(kwargs, dict):
            raise ConfigError(
                f"{where} must be {{name: {{settings}}}}, e.g. {{tpe: {{seed: 1}}}}, got {value!r}"
            )
    else:
        raise ConfigError(
            f"{where} must name one algorithm, e.g. tpe or {{tpe: {{seed: 1, n_initial_points: "
            f"5}}}}, got {value!r}"
        )
    key = name.lower()
    if key not in _ALGORITHMS:
        raise ConfigError(
            f"{where}: {name!r} has no hpsweep counterpart; use one of "
            f"{', '.join(_ALGORITHMS)}{_suggestion(key, list(_ALGORITHMS))}"
        )
    allowed = _ALGORITHMS[key]
    for option in kwargs:
        if option not in allowed:
            raise ConfigError(
                f"{where}.{name}: unknown setting {option!r}{_suggestion(str(option), allowed)};"
                f" {name} takes {', '.join(allowed)}"
            )
    notes = [
        f"{where}.{name}.{option} is ignored (no Optuna counterpart)"
        for option in kwargs
        if option in _IGNORED_ALGORITHM_KWARGS
    ]
    raw_seed = kwargs.get("seed")
    seed = None if raw_seed in (None, "None") else _whole(raw_seed, f"{where}.{name}.seed", 0)
    sampler: dict[str, Any] = {"name": "random"}
    pruner: dict[str, Any] = {"name": "none"}  # Oríon never stops a trial early
    if key == "tpe":
        initial = kwargs.get("n_initial_points", _TPE_INITIAL_POINTS)
        options: dict[str, Any] = {
            # Oríon bumps fewer than 2 initial points to 2
            "n_startup_trials": max(2, _whole(initial, f"{where}.tpe.n_initial_points", 0))
        }
        if "n_ei_candidates" in kwargs:
            options["n_ei_candidates"] = _whole(
                kwargs["n_ei_candidates"], f"{where}.tpe.n_ei_candidates", 1
            )
        if "prior_weight" in kwargs:
            weight = kwargs["prior_weight"]
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
                raise ConfigError(f"{where}.tpe.prior_weight must be a number > 0, got {weight!r}")
            options["prior_weight"] = float(weight)
        sampler = {"name": "tpe", "kwargs": options}
    elif key in ("asha", "hyperband"):
        if fidelity is None:
            raise ConfigError(
                f"{where}: {name} needs a fidelity prior (the budget, such as epochs), e.g. "
                "--epochs~'fidelity(1, 16, base=4)'"
            )
        low, high, base = (
            _whole(v, f"fidelity() of /{fidelity.name}", 1)
            for v in (fidelity.low, fidelity.high, fidelity.base)
        )
        if base < 2:
            raise ConfigError(f"{name} needs fidelity() with base >= 2, but got base={base}")
        if key == "asha":
            pruner = {
                "name": "asha",
                "kwargs": {"min_resource": low, "reduction_factor": base, "max_t": high},
            }
        else:
            pruner = {
                "name": "hyperband",
                "kwargs": {"min_resource": low, "max_resource": high, "reduction_factor": base},
            }
        notes.append(
            f"{name}: every trial gets /{fidelity.name} = {fidelity.high!r}, and hpsweep's {name} "
            "pruner stops poor trials early from the values they report each epoch (Oríon "
            "instead re-runs promising params at higher fidelity)"
        )
    return sampler, pruner, seed, notes


def hunt_config(command: Sequence[str], options: HuntOptions, *, cwd: Path | None = None) -> Hunt:
    """The study that ``hpsweep hunt`` (Oríon's ``orion hunt``) runs for ``command``.

    Raises :class:`~hpsweep._errors.ConfigError` with a one-line message naming the file or
    argument, the key and the fix for anything malformed."""
    cwd = Path.cwd() if cwd is None else cwd
    for flag, value in (
        ("--n-workers", options.n_workers),
        ("--exp-max-trials", options.exp_max_trials),
        ("--exp-max-broken", options.exp_max_broken),
        ("--max-trials", options.max_trials),
    ):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be >= 1, got {value}")
    if not command:
        raise ConfigError(
            "hunt needs the command to run after its options, e.g. hpsweep hunt -n exp python "
            "train.py --lr~'loguniform(1e-5, 1.0)'"
        )
    source = options.config
    loaded = _read_config(source) if source is not None else _File()
    where = source or "hunt"
    experiment, worker = loaded.experiment, loaded.worker
    notes = list(loaded.notes)
    file_name = (
        _text(experiment["name"], f"{where}: experiment.name") if "name" in experiment else None
    )
    name = options.name or file_name
    if not name:
        raise ConfigError(
            "hunt needs the experiment's name: -n NAME (or experiment.name in the -c config)"
        )
    if options.max_trials is not None:
        notes.append("--max-trials is deprecated in Oríon; read as --exp-max-trials")
    n_trials = options.exp_max_trials or options.max_trials
    if n_trials is None and "max_trials" in experiment:
        n_trials = _whole(experiment["max_trials"], f"{where}: experiment.max_trials", 1)
    max_broken = options.exp_max_broken
    if max_broken is None:
        raw = experiment.get("max_broken", DEFAULT_MAX_BROKEN)
        max_broken = _whole(raw, f"{where}: experiment.max_broken", 1)
    jobs = options.n_workers
    if jobs is None and "n_workers" in worker:
        jobs = _whole(worker["n_workers"], f"{where}: worker.n_workers", 1)
    run_dir = options.working_dir
    if run_dir is None and experiment.get("working_dir"):
        run_dir = _text(experiment["working_dir"], f"{where}: experiment.working_dir")
    ignored = list(loaded.ignored)
    ignored += [
        flag
        for flag, value in (
            ("--worker-max-trials", options.worker_max_trials),
            ("--worker-max-broken", options.worker_max_broken),
        )
        if value is not None
    ]
    if ignored:
        notes.append(f"ignored (no hpsweep counterpart): {', '.join(ignored)}")

    config_priors: dict[str, tuple[Prior, str]] = {}
    for key, value in loaded.space.items():
        param_name = str(key).lstrip("/")
        at = f"{where}: space.{_shown(str(key))}"
        if not isinstance(value, str):
            raise ConfigError(f"{at} must be a prior such as 'uniform(0, 1)', got {value!r}")
        if not NAME_RE.fullmatch(param_name):
            raise ConfigError(f"{at}: {param_name!r} cannot name a param")
        text = value[len("orion~") :] if value.startswith("orion~") else value
        config_priors[param_name] = (_parse_marked(text, at), at)

    run_root = Path(run_dir or SweepConfig.run_dir) / name
    templates = {
        "trial.id": "{trial.id}",
        "trial.hash_params": "{trial.params_hash}",
        "trial.working_dir": "{trial.dir}",
        "exp.name": "{study.name}",
        "exp.id": "{study.name}",
        "exp.version": "1",
        "exp.working_dir": str((cwd / run_root).absolute()).replace("{", "{{").replace("}", "}}"),
    }
    _check_script(command, cwd)
    script_config = worker.get("user_script_config", "config")
    _check_script_config(_arguments_of(command), str(script_config), cwd)
    parsed = _parse_command(
        command, cwd=cwd, templates=templates, config_params=set(config_priors)
    )
    both = sorted(parsed.priors.keys() & config_priors.keys())
    if both:
        raise ConfigError(
            f"Conflict: definition of same prior in commandline and config: /{both[0]}; "
            "define it in one place"
        )
    all_priors = {**config_priors, **parsed.priors}
    if not all_priors:
        raise ConfigError(
            "the command holds no prior; mark the arguments to search with ~, e.g. "
            "--lr~'loguniform(1e-5, 1.0)'"
        )

    params: dict[str, Param] = {}
    default_point: dict[str, Any] = {}
    fidelities: list[_Fidelity] = []
    for param_name, (prior, at) in all_priors.items():
        try:
            dimension = _dimension(param_name, prior)
        except SpaceError as error:
            raise ConfigError(f"{at}: {error}") from None
        params[param_name] = dimension.param
        notes.extend(dimension.notes)
        if dimension.default is not None:
            default_point[param_name] = dimension.default
        if dimension.fidelity is not None:
            fidelities.append(dimension.fidelity)
    if len(fidelities) > 1:
        names = ", ".join("/" + f.name for f in fidelities)
        raise ConfigError(f"only one fidelity() prior is allowed, but {names} are fidelities")

    algorithm_keys = [k for k in ("algorithms", "algorithm") if k in experiment]
    if len(algorithm_keys) == 2:
        raise ConfigError(f"{where}: give experiment.algorithm or algorithms, not both")
    sampler: dict[str, Any] = {"name": "random"}
    pruner: dict[str, Any] = {"name": "none"}
    seed = None
    if algorithm_keys:
        sampler, pruner, seed, algorithm_notes = _algorithm(
            experiment[algorithm_keys[0]],
            f"{where}: experiment.{algorithm_keys[0]}",
            fidelities[0] if fidelities else None,
        )
        notes.extend(algorithm_notes)

    document: dict[str, Any] = {
        "study": name,
        "direction": "minimize",  # Oríon only minimizes
        "command": list(parsed.template),
        "sampler": sampler,
        "pruner": pruner,
        "max_failures": max_broken,
    }
    for key, setting in (
        ("storage", options.storage),
        ("n_trials", n_trials),
        ("jobs", jobs),
        ("seed", seed),
        ("run_dir", run_dir),
    ):
        if setting is not None:
            document[key] = setting
    if default_point:
        document["initial_points"] = [default_point]
    config = from_mapping(document, source=source)
    return Hunt(dataclasses.replace(config, space=SearchSpace(params)), tuple(notes))
