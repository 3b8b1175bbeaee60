"""Parameter types (:class:`Float`, :class:`Int`, :class:`Choice`, :class:`Fixed`) and
:class:`SearchSpace`.

Everything here is pure Python: the space is validated when it is built, so a sweep never starts
with a definition Optuna would reject later. Parameters compare *type-strictly* (``Fixed(1)`` is
not ``Fixed(1.0)`` nor ``Fixed(True)``), which is what makes the YAML and CLI round trips exact.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from hpsweep._errors import SpaceError

__all__ = [
    "Choice",
    "Conditions",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "Scalar",
    "SearchSpace",
    "When",
]

Scalar: TypeAlias = str | int | float | bool | None
"""A value a :class:`Choice` item, a :class:`Fixed` value or a condition may take."""

Conditions: TypeAlias = tuple[tuple[str, tuple[Scalar, ...]], ...]
"""The normalized form of ``when``: ``((name, allowed_values), ...)`` in the order given."""

When: TypeAlias = Mapping[str, object] | Iterable[tuple[str, object]]
"""What ``when=`` accepts: ``{"opt": "sgd"}``, ``{"opt": ["adam", "adamw"]}`` or the
normalized pairs; each value is a scalar or a list/tuple of scalars (checked at runtime)."""

MAX_DIGITS = 17
"""The most significant digits :class:`Float` ``digits`` takes: 17 tell every double apart."""

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
"""What a parameter name looks like (dots for nested keys such as ``optim.lr``)."""

_DIGITS = r"\d(?:_?\d)*"
_INT_RE = re.compile(rf"[+-]?{_DIGITS}", re.ASCII)
_FLOAT_RE = re.compile(
    rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?", re.ASCII
)

# Where a parameter's name goes in a message built before the name is known; see _ParamError.
_FOR = "\x00"

_SCALAR_TYPES = "str, int, float, bool or None"


class _ParamError(SpaceError):
    """A parameter constructor's error; :meth:`named` says which parameter it was about."""

    def __init__(self, template: str) -> None:
        super().__init__(template.replace(_FOR, ""))
        self.template = template

    def named(self, name: str) -> str:
        return self.template.replace(_FOR, f" for {name!r}")


def parse_number(text: str) -> int | float | None:
    """``text`` as an int or a float when it is strictly numeric (``"1e-3"``, ``"-2"``,
    ``"1_000"``, ``".5"``), else None. ``nan``/``inf`` and non-ASCII digits are not numbers.

    Raises :class:`SpaceError` for a numeric text whose value is out of range (``"1e999"``, an
    integer with thousands of digits).
    """
    text = text.strip()
    if _INT_RE.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # more digits than int() allows
            raise SpaceError(f"the number {_short(text)} has too many digits") from None
    if _FLOAT_RE.fullmatch(text):
        value = float(text)
        if not math.isfinite(value):
            raise SpaceError(f"the number {_short(text)} is out of range for a float")
        return value
    return None


def looks_numeric(text: str) -> bool:
    """Whether ``float()`` (or our own number syntax) would read ``text`` as a number."""
    stripped = text.strip()
    if _INT_RE.fullmatch(stripped) or _FLOAT_RE.fullmatch(stripped):
        return True
    try:
        float(stripped)
    except ValueError:
        return False
    return True


def suggest(word: str, options: Sequence[str]) -> str | None:
    """The option closest to a mistyped ``word``, or None: :func:`difflib.get_close_matches`'s
    candidates, ties broken by edit distance counting a swap of neighbours as one edit (so
    ``lgo`` suggests ``log``, not ``low``)."""
    candidates = difflib.get_close_matches(word, options, n=5)
    if not candidates:
        return None
    return min(candidates, key=lambda option: _edit_distance(word, option))


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _short(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut in the middle when long."""
    if len(text) > limit:
        text = text[: limit // 2] + "..." + text[-limit // 2 :]
    return repr(text)


def type_word(value: object) -> str:
    """``'a list'``, ``'a dict'``... for messages."""
    name = type(value).__name__
    return f"an {name}" if name[:1] in "aeiou" else f"a {name}"


def is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float))  # bool is an int


def _as_scalar(value: object) -> Scalar:
    """``value`` as a plain ``str``/``int``/``float``/``bool``/``None`` (subclasses such as
    NumPy's ``float64`` become the builtin); the caller has checked :func:`is_scalar`."""
    if value is None or type(value) in (str, int, float, bool):
        return value  # type: ignore[return-value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def scalar_key(value: Scalar) -> tuple[str, Scalar]:
    """A type-strict comparison key: ``1``, ``1.0`` and ``True`` get different keys."""
    return (type(value).__name__, value)


def matches(value: object, allowed: Scalar) -> bool:
    """Whether a sampled ``value`` satisfies a condition's ``allowed`` value: bools, None and
    strings match only their own kind; numbers compare by value (``2 == 2.0``)."""
    if isinstance(allowed, bool) or isinstance(value, bool):
        return isinstance(allowed, bool) and isinstance(value, bool) and allowed is value
    if allowed is None or value is None:
        return allowed is None and value is None
    if isinstance(allowed, str) or isinstance(value, str):
        return isinstance(allowed, str) and isinstance(value, str) and allowed == value
    if isinstance(value, numbers.Real):
        return bool(value == allowed)
    return False


def _scalar_text(value: object) -> str:
    """How a scalar appears in a message: ``'adam'``, ``7``, ``0.1``, ``True``, ``None``."""
    if isinstance(value, str):
        return _short(value)
    return repr(value)


def _check_scalar(value: object, what: str) -> Scalar:
    if not is_scalar(value):
        raise _ParamError(f"{what}{_FOR} must be {_SCALAR_TYPES}, but got {type_word(value)}")
    scalar = _as_scalar(value)
    if isinstance(scalar, float) and not math.isfinite(scalar):
        raise _ParamError(f"{what}{_FOR} must be finite, but got {scalar!r}")
    return scalar


def _real(value: object, field: str) -> float:
    """``value`` as a finite float; bools and non-numbers are errors."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _ParamError(
            f"`{field}` must be a number{_FOR}, but got {_scalar_text(value)}"
            f" ({type(value).__name__})"
        )
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise _ParamError(f"`{field}` must be finite{_FOR}, but got {field}={number!r}")
    return number


def _integer(value: object, field: str) -> int:
    """``value`` as an int; integral floats (``4.0``) are accepted, ``4.5`` is not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _ParamError(
            f"`{field}` must be an integer{_FOR}, but got {_scalar_text(value)}"
            f" ({type(value).__name__})"
        )
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    if not math.isfinite(number) or not number.is_integer():
        raise _ParamError(
            f"`{field}` must be an integer{_FOR}, but got {field}={number!r}; use a whole number"
        )
    return int(number)


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise _ParamError(f"`{field}` must be True or False{_FOR}, but got {_scalar_text(value)}")
    return value


def _conditions(when: When | None) -> Conditions:
    """Normalize ``when=`` to ``((name, (allowed, ...)), ...)``."""
    if when is None:
        return ()
    pairs: Iterable[object]
    if isinstance(when, Mapping):
        pairs = when.items()
    elif isinstance(when, (str, bytes)) or not isinstance(when, Iterable):
        raise _ParamError(
            f"`when`{_FOR} must map parameter names to required values, e.g. {{'opt': 'sgd'}},"
            f" but got {type_word(when)}"
        )
    else:
        pairs = when
    result: list[tuple[str, tuple[Scalar, ...]]] = []
    seen: set[str] = set()
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise _ParamError(
                f"`when`{_FOR} must map parameter names to required values, but got an item"
                f" that is {type_word(pair)}, not a (name, values) pair"
            )
        name, required = pair
        if not isinstance(name, str):
            raise _ParamError(
                f"`when`{_FOR} must name parameters with strings, but got {_scalar_text(name)}"
            )
        if name in seen:
            raise _ParamError(f"`when`{_FOR} names {name!r} twice; give one condition per name")
        seen.add(name)
        result.append((name, _allowed_values(name, required)))
    return tuple(result)


def _allowed_values(name: str, required: object) -> tuple[Scalar, ...]:
    what = f"the condition on {name!r}"
    if is_scalar(required):
        return (_check_scalar(required, what),)
    if isinstance(required, (list, tuple)):
        if not required:
            raise _ParamError(
                f"{what}{_FOR} must require a value or a non-empty list of values, but got"
                " an empty list"
            )
        values: list[Scalar] = []
        keys: set[tuple[str, Scalar]] = set()
        for item in required:
            value = _check_scalar(item, f"the values of {what}")
            if scalar_key(value) not in keys:  # a repeated value changes nothing: drop it
                keys.add(scalar_key(value))
                values.append(value)
        return tuple(values)
    raise _ParamError(
        f"{what}{_FOR} must require a value or a list of values ({_SCALAR_TYPES}), but got"
        f" {type_word(required)}"
    )


def _when_key(when: Conditions) -> tuple[tuple[str, tuple[tuple[str, Scalar], ...]], ...]:
    return tuple((name, tuple(scalar_key(v) for v in values)) for name, values in when)


class _ParamBase:
    """Type-strict ``==`` and ``hash`` for the parameter dataclasses."""

    __slots__ = ()

    def _key(self) -> tuple[object, ...]:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _ParamBase)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))


@dataclass(frozen=True, init=False, eq=False)
class Float(_ParamBase):
    """A float in ``[low, high]``, optionally log-scaled or on a ``step`` grid. With ``digits``
    every sampled value is rounded to that many significant digits (Oríon's ``precision=``):
    ``0.000123456`` becomes ``0.0001235`` with ``digits=4``.

    >>> Float(1e-5, 1e-1, log=True)
    Float(low=1e-05, high=0.1, log=True, step=None, digits=None, when=())
    >>> Float(1e-5, 1e-1, log=True, digits=3).round(0.0123456)
    0.0123
    """

    low: float
    high: float
    log: bool
    step: float | None
    digits: int | None
    when: Conditions

    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        step: float | None = None,
        digits: int | None = None,
        when: When | None = None,
    ) -> None:
        low_ = _real(low, "low")
        high_ = _real(high, "high")
        log_ = _flag(log, "log")
        step_ = None if step is None else _real(step, "step")
        digits_ = None if digits is None else _integer(digits, "digits")
        if low_ > high_:
            raise _ParamError(
                f"`low <= high` must hold{_FOR}, but got low={low_!r}, high={high_!r};"
                " swap the bounds."
            )
        if log_ and step_ is not None:
            raise _ParamError(
                f"`log` and `step` cannot be used together{_FOR}, but got log=True,"
                f" step={step_!r}; drop one of them."
            )
        if log_ and low_ <= 0:
            raise _ParamError(
                f"`low > 0` must hold{_FOR} when log=True, but got low={low_!r}; use a positive"
                " lower bound or drop log."
            )
        if step_ is not None and step_ <= 0:
            raise _ParamError(
                f"`step > 0` must hold{_FOR}, but got step={step_!r}; use a positive step or"
                " drop it."
            )
        if digits_ is not None and not 1 <= digits_ <= MAX_DIGITS:
            raise _ParamError(
                f"`digits` must be between 1 and {MAX_DIGITS}{_FOR}, but got digits={digits_};"
                f" a float has at most {MAX_DIGITS} significant digits."
            )
        if digits_ is not None and step_ is not None:
            raise _ParamError(
                f"`digits` and `step` cannot be used together{_FOR}, but got digits={digits_},"
                f" step={step_!r}; a step grid already fixes the values, drop one of them."
            )
        object.__setattr__(self, "low", low_)
        object.__setattr__(self, "high", high_)
        object.__setattr__(self, "log", log_)
        object.__setattr__(self, "step", step_)
        object.__setattr__(self, "digits", digits_)
        object.__setattr__(self, "when", _conditions(when))

    def round(self, value: float) -> float:
        """``value`` rounded to :attr:`digits` significant digits (decimal rounding, half to
        even) and kept within ``[low, high]``; ``value`` itself when ``digits`` is None."""
        if self.digits is None or value == 0 or not math.isfinite(value):
            return value
        rounded = float(f"{value:.{self.digits - 1}e}")
        return min(max(rounded, self.low), self.high)

    def _key(self) -> tuple[object, ...]:
        return (self.low, self.high, self.log, self.step, self.digits, _when_key(self.when))


@dataclass(frozen=True, init=False, eq=False)
class Int(_ParamBase):
    """An integer in ``[low, high]`` (both included), on a ``step`` grid or log-scaled.

    >>> Int(32, 512, step=32)
    Int(low=32, high=512, step=32, log=False, when=())
    """

    low: int
    high: int
    step: int
    log: bool
    when: Conditions

    def __init__(
        self,
        low: int,
        high: int,
        *,
        step: int = 1,
        log: bool = False,
        when: When | None = None,
    ) -> None:
        low_ = _integer(low, "low")
        high_ = _integer(high, "high")
        step_ = _integer(step, "step")
        log_ = _flag(log, "log")
        if low_ > high_:
            raise _ParamError(
                f"`low <= high` must hold{_FOR}, but got low={low_!r}, high={high_!r};"
                " swap the bounds."
            )
        if step_ < 1:
            raise _ParamError(
                f"`step >= 1` must hold{_FOR}, but got step={step_!r}; use a positive whole"
                " step or drop it."
            )
        if log_ and step_ != 1:
            raise _ParamError(
                f"`log` and `step` cannot be used together{_FOR}, but got log=True,"
                f" step={step_!r}; drop one of them."
            )
        if log_ and low_ < 1:
            raise _ParamError(
                f"`low >= 1` must hold{_FOR} when log=True, but got low={low_!r}; use a lower"
                " bound of at least 1 or drop log."
            )
        object.__setattr__(self, "low", low_)
        object.__setattr__(self, "high", high_)
        object.__setattr__(self, "step", step_)
        object.__setattr__(self, "log", log_)
        object.__setattr__(self, "when", _conditions(when))

    def _key(self) -> tuple[object, ...]:
        return (self.low, self.high, self.step, self.log, _when_key(self.when))


@dataclass(frozen=True, init=False, eq=False)
class Choice(_ParamBase):
    """One of a non-empty sequence of distinct ``str``/``int``/``float``/``bool``/``None`` values.

    >>> Choice(["adam", "sgd"])
    Choice(choices=('adam', 'sgd'), when=())
    """

    choices: tuple[Scalar, ...]
    when: Conditions

    def __init__(self, choices: Sequence[Scalar], *, when: When | None = None) -> None:
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            shown = _short(choices) if isinstance(choices, str) else type_word(choices)
            raise _ParamError(
                f"`choices`{_FOR} must be a list of values, but got {shown}; write e.g."
                " Choice(['adam', 'sgd'])"
            )
        if not choices:
            raise _ParamError(f"`choices`{_FOR} must not be empty; give at least one value.")
        items: list[Scalar] = []
        for index, item in enumerate(choices):
            if not is_scalar(item):
                raise _ParamError(
                    f"`choices`{_FOR} must be {_SCALAR_TYPES}, but item {index + 1} is"
                    f" {type_word(item)}; use a string and convert it in your objective."
                )
            value = _check_scalar(item, f"item {index + 1} of `choices`")
            for earlier in items:
                if earlier == value:  # Optuna finds choices by ==, so 1 == 1.0 == True clash
                    if scalar_key(earlier) == scalar_key(value):
                        problem = f"{_scalar_text(value)} appears twice"
                    else:
                        problem = (
                            f"{_scalar_text(earlier)} and {_scalar_text(value)} are equal in"
                            " Python (and to Optuna)"
                        )
                    raise _ParamError(
                        f"`choices` must be distinct{_FOR}, but {problem}; remove one."
                    )
            items.append(value)
        object.__setattr__(self, "choices", tuple(items))
        object.__setattr__(self, "when", _conditions(when))

    def _key(self) -> tuple[object, ...]:
        return (tuple(scalar_key(c) for c in self.choices), _when_key(self.when))


@dataclass(frozen=True, init=False, eq=False)
class Fixed(_ParamBase):
    """A constant: always ``value``.

    >>> Fixed(7)
    Fixed(value=7, when=())
    """

    value: Scalar
    when: Conditions

    def __init__(self, value: Scalar, *, when: When | None = None) -> None:
        if not is_scalar(value):
            hint = "; use Choice for a list of options" if isinstance(value, (list, tuple)) else ""
            raise _ParamError(
                f"the value{_FOR} must be {_SCALAR_TYPES}, but got {type_word(value)}{hint}"
            )
        object.__setattr__(self, "value", _check_scalar(value, "the value"))
        object.__setattr__(self, "when", _conditions(when))

    def _key(self) -> tuple[object, ...]:
        return (scalar_key(self.value), _when_key(self.when))


Param: TypeAlias = Float | Int | Choice | Fixed
"""Any parameter definition."""

PARAM_TYPES = (Float, Int, Choice, Fixed)


def describe_values(param: Param) -> str:
    """The values ``param`` can take, for messages: ``one of 'adam', 'sgd'``."""
    if isinstance(param, Choice):
        return "one of " + ", ".join(_scalar_text(c) for c in param.choices)
    if isinstance(param, Fixed):
        return f"only {_scalar_text(param.value)}"
    if isinstance(param, Int):
        grid = f" in steps of {param.step} from {param.low}" if param.step != 1 else ""
        return f"integers in [{param.low}, {param.high}]{grid}"
    return f"numbers in [{param.low!r}, {param.high!r}]"


def is_possible(param: Param, value: Scalar) -> bool:
    """Whether ``param`` can take ``value`` (a condition requiring anything else never holds)."""
    if isinstance(param, Choice):
        return any(matches(value, c) for c in param.choices)
    if isinstance(param, Fixed):
        return matches(value, param.value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(param, Int):
        if not isinstance(value, int):
            return False
        return param.low <= value <= param.high and (value - param.low) % param.step == 0
    return param.low <= value <= param.high


def to_param(name: str, value: object) -> Param:
    """A parameter from a :class:`SearchSpace` constructor value: a parameter, a scalar (a
    :class:`Fixed`) or a list/tuple (a :class:`Choice`)."""
    if isinstance(value, PARAM_TYPES):
        return value
    try:
        if is_scalar(value):
            return Fixed(_as_scalar(value))
        if isinstance(value, (list, tuple)):
            return Choice(value)
    except _ParamError as error:
        raise SpaceError(error.named(name)) from None
    raise SpaceError(
        f"the definition of {name!r} must be a Float, Int, Choice or Fixed (or a scalar for"
        f" Fixed, a list for Choice), but got {type_word(value)}"
    )


def _ordered_by_conditions(items: list[tuple[str, Param]]) -> list[tuple[str, Param]]:
    """``items`` in their order, except that a parameter is moved after the parameters its
    conditions name (a stable topological order); cycles and unknown names are left for
    :class:`SearchSpace` to report."""
    names = {name for name, _ in items}
    pending = list(items)
    placed: set[str] = set()
    result: list[tuple[str, Param]] = []
    while pending:
        for index, (name, param) in enumerate(pending):
            needs = {c for c, _ in param.when if c in names and c != name}
            if needs <= placed:
                result.append(pending.pop(index))
                placed.add(name)
                break
        else:  # a cycle: keep the rest as it is
            result.extend(pending)
            break
    return result


Locate: TypeAlias = Callable[[str], str]
"""Gives the message prefix for a parameter (``"sweep.yaml: space.lr: "``)."""


def _no_prefix(name: str) -> str:
    return ""


class SearchSpace(Mapping[str, Param]):
    """An immutable, ordered mapping of parameter names to parameters.

    Iterating gives the names in order (like a ``dict``); :meth:`items` gives ``(name, param)``
    pairs. Two spaces are equal when they have the same parameters in the same order.

    >>> space = SearchSpace({"opt": ["adam", "sgd"], "momentum": Float(0.0, 0.99,
    ...     when={"opt": "sgd"}), "seed": 7})
    >>> space.names
    ('opt', 'momentum', 'seed')
    >>> space.is_active("momentum", {"opt": "adam"})
    False
    """

    __slots__ = ("_items", "_params")

    _items: tuple[tuple[str, Param], ...]
    _params: dict[str, Param]

    def __init__(self, params: Mapping[str, object] | None = None) -> None:
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise SpaceError(
                "a SearchSpace is built from a mapping of parameter names to parameters, but"
                f" got {type_word(params)}"
            )
        items: list[tuple[str, Param]] = []
        for name, value in params.items():
            if not isinstance(name, str):
                raise SpaceError(
                    f"parameter names must be strings, but got {_scalar_text(name)}"
                    f" ({type(name).__name__})"
                )
            items.append((name, to_param(name, value)))
        self._init(items, _no_prefix)

    @classmethod
    def _build(cls, items: Iterable[tuple[str, Param]], locate: Locate) -> SearchSpace:
        """A space from already-built parameters; ``locate`` prefixes each message."""
        space = cls.__new__(cls)
        space._init(list(items), locate)
        return space

    def _init(self, items: list[tuple[str, Param]], locate: Locate) -> None:
        params: dict[str, Param] = {}
        for name, param in items:
            _check_name(name, locate)
            if name in params:  # only reachable through _build
                raise SpaceError(f"{locate(name)}{name!r} is defined twice; define it once")
            params[name] = param
        for name, param in items:
            _check_conditions(name, param, params, locate)
        object.__setattr__(self, "_items", tuple(items))
        object.__setattr__(self, "_params", params)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"SearchSpace is immutable; cannot set {name!r}")

    def __reduce__(self) -> tuple[type[SearchSpace], tuple[dict[str, Param]]]:
        return (SearchSpace, (dict(self._items),))  # pickle and copy rebuild (and recheck) it

    # -- mapping protocol ----------------------------------------------------------------------

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SearchSpace):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name!r}: {param!r}" for name, param in self._items)
        return f"SearchSpace({{{inner}}})"

    # -- queries -------------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """The parameter names, in order."""
        return tuple(name for name, _ in self._items)

    def is_active(self, name: str, values: Mapping[str, object]) -> bool:
        """Whether ``name`` exists given the ``values`` already chosen for earlier parameters:
        every condition of its ``when`` must hold, and a condition on a parameter that is
        missing from ``values`` or itself inactive does not hold. Raises ``KeyError`` for a name
        not in the space."""
        param = self._params[name]
        for other, allowed in param.when:
            if other not in values or other not in self._params:
                return False
            if not any(matches(values[other], value) for value in allowed):
                return False
            if not self.is_active(other, values):
                return False
        return True

    # -- conversions ---------------------------------------------------------------------------

    def to_mapping(self) -> dict[str, dict[str, object]]:
        """The canonical YAML mapping form (the value of a config's ``space:`` key)."""
        from hpsweep.space._mapping import param_to_mapping

        return {name: param_to_mapping(param) for name, param in self._items}

    def to_cli(self) -> list[str]:
        """One canonical ``-p`` spec per parameter."""
        from hpsweep.space._grammar import render_cli

        return [render_cli(name, param) for name, param in self._items]

    @classmethod
    def from_mapping(cls, mapping: object, *, source: str | None = None) -> SearchSpace:
        """A space from the already-loaded YAML mapping under ``space:``. ``source`` (a file
        path, or ``'CLI'``) prefixes every error message."""
        from hpsweep.space._mapping import space_from_mapping

        return space_from_mapping(mapping, source=source)

    @classmethod
    def from_cli(cls, specs: Sequence[str] | str) -> SearchSpace:
        """A space from ``-p`` specs, one parameter each (a single string is one spec)."""
        from hpsweep.space._grammar import space_from_cli

        return space_from_cli(specs)

    def merged(self, other: SearchSpace) -> SearchSpace:
        """This space updated with ``other``: ``other``'s parameter wins on a name collision and
        keeps this space's position; new names follow in ``other``'s order. If a condition then
        names a parameter placed after it, that parameter is moved just enough (stable order) to
        keep "conditions name earlier parameters" true."""
        if not isinstance(other, SearchSpace):
            raise SpaceError(f"can only merge a SearchSpace, but got {type_word(other)}")
        params = dict(self._items)
        params.update(other._items)
        return SearchSpace._build(_ordered_by_conditions(list(params.items())), _no_prefix)


def _check_name(name: str, locate: Locate) -> None:
    if not NAME_RE.fullmatch(name):
        raise SpaceError(
            f"{locate(name)}invalid parameter name {_short(name)}; a name starts with a letter"
            " or '_' and contains only letters, digits, '_', '.', '-' and '/'"
        )


def _check_conditions(
    name: str, param: Param, params: Mapping[str, Param], locate: Locate
) -> None:
    order = list(params)
    position = order.index(name)
    for other, allowed in param.when:
        if other == name:
            raise SpaceError(
                f"{locate(name)}{name!r} has a condition on itself; conditions may only name"
                " parameters defined before it"
            )
        if other not in params:
            close = suggest(other, order)
            hint = f"did you mean {close!r}?" if close else "define it before"
            raise SpaceError(
                f"{locate(name)}{name!r} has a condition on {_short(other)}, which is not in"
                f" the space; {hint}" + ("" if close else f" {name!r} or remove the condition")
            )
        if order.index(other) > position:
            raise SpaceError(
                f"{locate(name)}{name!r} has a condition on {other!r}, which is defined after"
                f" it; define {other!r} before {name!r} (conditions may only name earlier"
                " parameters)"
            )
        target = params[other]
        for value in allowed:
            if not is_possible(target, value):
                raise SpaceError(
                    f"{locate(name)}the condition {other}={_scalar_text(value)} of {name!r} can"
                    f" never hold: {other!r} takes {describe_values(target)}; change the"
                    f" condition or the definition of {other!r}"
                )
