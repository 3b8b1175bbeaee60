"""The YAML mapping form of a search space (already-loaded Python objects, no YAML here).

::

    lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}
    wd: {type: float, low: 0.0, high: 0.1, digits: 3}   # values rounded to 3 significant digits
    units: {type: int, low: 32, high: 512, step: 32}
    opt: {type: categorical, choices: [adam, sgd]}      # or just: opt: [adam, sgd]
    momentum: {type: float, low: 0.0, high: 0.99, when: {opt: sgd}}
    seed: {type: fixed, value: 7}                       # or just: seed: 7
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from typing import TypeAlias
from typing import cast

from hpsweep._errors import SpaceError
from hpsweep.space._params import NAME_RE
from hpsweep.space._params import Choice
from hpsweep.space._params import Fixed
from hpsweep.space._params import Float
from hpsweep.space._params import Int
from hpsweep.space._params import Param
from hpsweep.space._params import SearchSpace
from hpsweep.space._params import When
from hpsweep.space._params import _ParamError
from hpsweep.space._params import is_scalar
from hpsweep.space._params import parse_number
from hpsweep.space._params import suggest
from hpsweep.space._params import type_word

__all__ = ["param_from_mapping", "param_to_mapping", "space_from_mapping"]

_TYPES = {
    "float": "float",
    "int": "int",
    "categorical": "categorical",
    "choice": "categorical",
    "choices": "categorical",
    "fixed": "fixed",
}
_TYPE_HINTS = {
    "uniform": "type: float",
    "loguniform": "type: float with log: true",
    "log_uniform": "type: float with log: true",
    "discrete_uniform": "type: float with step: Q",
    "quniform": "type: float with step: Q",
    "integer": "type: int",
    "randint": "type: int",
    "bool": "type: categorical with choices: [true, false]",
    "const": "type: fixed",
    "constant": "type: fixed",
}
_NUMERIC_KEYS = ("type", "low", "high", "min", "max", "step", "log", "when")
_KEYS: dict[str, tuple[str, ...]] = {
    "float": (*_NUMERIC_KEYS[:-1], "digits", "when"),
    "int": _NUMERIC_KEYS,
    "categorical": ("type", "choices", "when"),
    "fixed": ("type", "value", "when"),
}
_ALL_KEYS = tuple(dict.fromkeys(k for keys in _KEYS.values() for k in keys))
_EXAMPLES = {
    "float": "{type: float, low: 0.0, high: 1.0}",
    "int": "{type: int, low: 1, high: 8}",
    "categorical": "{type: categorical, choices: [adam, sgd]}",
    "fixed": "{type: fixed, value: 7}",
}


Place: TypeAlias = Callable[[tuple[Hashable, ...]], str]
"""Gives the start of a message about a key under ``space:`` (``("lr", "low")``): its source
and, for a config file, the key's line (``"sweep.yaml: line 3: "``)."""


def _path(name: str) -> str:
    return f"space.{name}" if NAME_RE.fullmatch(name) else f"space[{name!r}]"


@dataclass(frozen=True)
class _Where:
    """What a message is about, written as the message starts: a param or one of its fields
    (``sweep.yaml: line 3: space.lr.low``)."""

    place: Place
    name: str
    fields: tuple[str, ...] = ()
    key: tuple[Hashable, ...] = ()
    """A key that the message names itself (``unknown key 'lgo'``): it only gives the line."""

    def field(self, field: str) -> _Where:
        """One of the fields of what this is about (``space.lr`` → ``space.lr.low``)."""
        return _Where(self.place, self.name, (*self.fields, field))

    def at_key(self, key: Hashable) -> _Where:
        """The same text, on the line of ``key``, a key under it that the message names."""
        return replace(self, key=(key,))

    def __str__(self) -> str:
        text = ".".join((_path(self.name), *self.fields))
        return self.place((self.name, *self.fields, *self.key)) + text


def space_from_mapping(
    mapping: object, *, source: str | None = None, place: Place | None = None
) -> SearchSpace:
    """A :class:`SearchSpace` from the value of a config's ``space:`` key (None is empty).
    Messages start with ``source: ``, or with what ``place`` gives for the key they are about
    (``load_config`` adds the key's line in the file)."""
    lead = f"{source}: " if source else ""
    locate = place or (lambda path: lead)
    if mapping is None:
        return SearchSpace()
    if not isinstance(mapping, Mapping):
        raise SpaceError(
            f"{locate(())}space: expected a mapping of parameter names to definitions, but got"
            f" {type_word(mapping)}"
        )
    items: list[tuple[str, Param]] = []
    for name, definition in mapping.items():
        if not isinstance(name, str):
            hint = " (YAML reads yes/no/on/off as booleans)" if isinstance(name, bool) else ""
            raise SpaceError(
                f"{locate((name,))}space: parameter names must be strings, but got {name!r}"
                f"{hint}; quote the name"
            )
        items.append((name, _param(name, definition, _Where(locate, name))))
    # The space's own checks are mostly about conditions, so their line is the `when:` one.
    return SearchSpace._build(items, lambda name: f"{_Where(locate, name).at_key('when')}: ")


def param_from_mapping(name: str, definition: object, *, source: str | None = None) -> Param:
    """One parameter from its mapping form (or the scalar/list shorthand). Messages start with
    ``[source: ]space.NAME``; the name itself is not validated here (:class:`SearchSpace` does
    that)."""
    lead = f"{source}: " if source else ""
    return _param(name, definition, _Where(lambda path: lead, name))


def _construct(name: str, where: _Where, factory: Callable[[], Param]) -> Param:
    try:
        return factory()
    except _ParamError as error:
        raise SpaceError(f"{where}: {error.named(name)}") from None


def _param(name: str, definition: object, where: _Where) -> Param:
    if isinstance(definition, Mapping):
        return _from_definition(name, definition, where)
    if isinstance(definition, (list, tuple)):
        choices = definition
        return _construct(name, where, lambda: Choice(choices))
    if is_scalar(definition):
        value = definition
        return _construct(name, where, lambda: Fixed(value))  # type: ignore[arg-type]
    raise SpaceError(
        f"{where}: expected a definition such as {_EXAMPLES['float']}, a list of choices or a"
        f" single value, but got {type_word(definition)}"
    )


def _kind(definition: Mapping[str, object], where: _Where) -> str:
    """The canonical type of a definition: given, or inferred from its bounds."""
    if "type" in definition:
        given = definition["type"]
        if not isinstance(given, str):
            shown = repr(given) if is_scalar(given) else type_word(given)
            raise SpaceError(
                f"{where.field('type')}: expected one of float, int, categorical, fixed, but got"
                f" {shown}"
            )
        word = given.strip().lower()
        if word in _TYPES:
            return _TYPES[word]
        if word in _TYPE_HINTS:
            hint = f"use {_TYPE_HINTS[word]}"
        else:
            close = suggest(word, list(_TYPES))
            hint = f"did you mean {close!r}?" if close else "use float, int, categorical or fixed"
        raise SpaceError(f"{where.at_key('type')}: unknown type {given!r}; {hint}")
    _check_keys(definition, _ALL_KEYS, where, None)
    if any(k in definition for k in ("low", "high", "min", "max")):
        keys = [k for k in ("low", "high", "min", "max", "step") if k in definition]
        numbers = [
            _number(definition[k], where.field(k)) for k in keys if definition[k] is not None
        ]
        return "float" if any(isinstance(n, float) for n in numbers) else "int"
    if "choices" in definition:
        suggestion = "type: categorical"
    elif "value" in definition:
        suggestion = "type: fixed"
    else:
        suggestion = "type: float, int, categorical or fixed"
    raise SpaceError(f"{where}: missing key 'type'; add {suggestion}")


def _check_keys(
    definition: Mapping[str, object], valid: tuple[str, ...], where: _Where, kind: str | None
) -> None:
    for key in definition:
        if key in valid:
            continue
        close = suggest(key, valid)
        if close:
            raise SpaceError(f"{where.at_key(key)}: unknown key {key!r}; did you mean {close!r}?")
        of = f" for type {kind}" if kind else ""
        raise SpaceError(
            f"{where.at_key(key)}: unknown key {key!r}{of}; valid keys are {', '.join(valid)}"
        )


def _from_definition(name: str, definition: Mapping[object, object], where: _Where) -> Param:
    for key in definition:
        if not isinstance(key, str):
            raise SpaceError(f"{where.at_key(key)}: keys must be strings, but got {key!r}")
    fields: Mapping[str, object] = definition  # type: ignore[assignment]
    kind = _kind(fields, where)
    _check_keys(fields, _KEYS[kind], where, kind)
    when = _when(fields, where)
    if kind == "categorical":
        if "choices" not in fields:
            raise SpaceError(f"{where}: missing key 'choices'; e.g. {_EXAMPLES[kind]}")
        choices = fields["choices"]
        if not isinstance(choices, (list, tuple)):
            raise SpaceError(
                f"{where.field('choices')}: expected a list of values, e.g. [adam, sgd], but got"
                f" {type_word(choices)}"
            )
        return _construct(name, where, lambda: Choice(choices, when=when))
    if kind == "fixed":
        if "value" not in fields:
            raise SpaceError(f"{where}: missing key 'value'; e.g. {_EXAMPLES[kind]}")
        value = fields["value"]
        return _construct(name, where, lambda: Fixed(value, when=when))  # type: ignore[arg-type]
    low = _bound(fields, "low", "min", "lower", where, kind)
    high = _bound(fields, "high", "max", "upper", where, kind)
    log = _log(fields.get("log"), where.field("log"))
    step_value = fields.get("step")
    step = None if step_value is None else _number(step_value, where.field("step"))
    if kind == "float":
        digits_value = fields.get("digits")
        digits = None if digits_value is None else _number(digits_value, where.field("digits"))
        return _construct(
            name,
            where,
            lambda: Float(low, high, log=log, step=step, digits=digits, when=when),  # type: ignore[arg-type]
        )
    int_step = 1 if step is None else step
    return _construct(
        name,
        where,
        lambda: Int(low, high, step=int_step, log=log, when=when),  # type: ignore[arg-type]
    )


def _bound(
    fields: Mapping[str, object], key: str, synonym: str, which: str, where: _Where, kind: str
) -> int | float:
    if key in fields and synonym in fields:
        raise SpaceError(f"{where.at_key(synonym)}: give either {key!r} or {synonym!r}, not both")
    for given in (key, synonym):
        if given in fields:
            return _number(fields[given], where.field(given))
    raise SpaceError(f"{where}: missing key {key!r} (the {which} bound); e.g. {_EXAMPLES[kind]}")


def _number(value: object, where: _Where) -> int | float:
    """A YAML number, or a strictly numeric string (PyYAML reads ``1e-3`` as a string)."""
    if isinstance(value, bool) or value is None:
        shown = {None: "null", True: "true", False: "false"}[value]
        raise SpaceError(f"{where}: expected a number, got {shown}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise SpaceError(f"{where}: expected a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        try:
            number = parse_number(value)
        except SpaceError as error:
            raise SpaceError(f"{where}: {error}") from None
        if number is None:
            shown = value if len(value) <= 40 else value[:20] + "..." + value[-20:]
            raise SpaceError(f"{where}: expected a number, got {shown!r}")
        return number
    raise SpaceError(f"{where}: expected a number, got {type_word(value)}")


def _log(value: object, where: _Where) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    shown = repr(value) if isinstance(value, (str, int, float)) else type_word(value)
    raise SpaceError(f"{where}: expected true or false, got {shown}")


def _when(fields: Mapping[str, object], where: _Where) -> When | None:
    when = fields.get("when")
    if when is None:
        return None
    if not isinstance(when, Mapping):
        raise SpaceError(
            f"{where.field('when')}: expected a mapping of parameter names to required values,"
            f" e.g. {{opt: sgd}} or {{opt: [adam, adamw]}}, but got {type_word(when)}"
        )
    return cast("When", when)  # the parameter's constructor checks the values


def param_to_mapping(param: Param) -> dict[str, object]:
    """The canonical mapping form of one parameter (see the module docstring)."""
    result: dict[str, object]
    if isinstance(param, Float):
        result = {"type": "float", "low": param.low, "high": param.high}
        if param.step is not None:
            result["step"] = param.step
        if param.log:
            result["log"] = True
        if param.digits is not None:
            result["digits"] = param.digits
    elif isinstance(param, Int):
        result = {"type": "int", "low": param.low, "high": param.high}
        if param.step != 1:
            result["step"] = param.step
        if param.log:
            result["log"] = True
    elif isinstance(param, Choice):
        result = {"type": "categorical", "choices": list(param.choices)}
    elif isinstance(param, Fixed):
        result = {"type": "fixed", "value": param.value}
    else:
        raise SpaceError(f"expected a Float, Int, Choice or Fixed, but got {type_word(param)}")
    if param.when:
        result["when"] = {
            name: values[0] if len(values) == 1 else list(values) for name, values in param.when
        }
    return result
