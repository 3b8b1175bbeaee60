"""Constraints over a trial's reported metrics: ``"acc >= 0.9"``, ``"latency_ms + load_ms <= 20"``.

A small hand-written parser, never ``eval``: a sum of metric names (``+``/``-``) compared with a
number, on either side. Each constraint becomes Optuna's convention, a value that is ``<= 0``
when the constraint holds: ``acc >= 0.9`` gives ``0.9 - acc``; ``latency_ms <= 20`` gives
``latency_ms - 20``. ``<`` and ``>`` mean the same as ``<=`` and ``>=`` (a float boundary has no
width). Pure standard library, so the config layer validates constraints when it reads them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from hpsweep._errors import ConfigError

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<op><=|>=|==|!=|=<|=>|<|>|=)"
    r"|(?P<sign>[+-]))"
)
_EXAMPLE = "write e.g. 'acc >= 0.9' or 'latency_ms + load_ms <= 20'"


@dataclass(frozen=True)
class Constraint:
    """``sum(sign * metric) <= bound`` after normalizing the comparison."""

    text: str
    terms: tuple[tuple[float, str], ...]
    bound: float
    """The constraint holds when ``sum(sign * metric) - bound <= 0``."""

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.terms)

    def value(self, metrics: Mapping[str, float]) -> float:
        """Optuna's constraint value: ``<= 0`` when it holds."""
        return math.fsum(sign * metrics[name] for sign, name in self.terms) - self.bound


def parse_constraint(text: object) -> Constraint:
    """Parse one constraint; a bad one raises :class:`ConfigError` with one line."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"constraint {text!r} must be a non-empty string; {_EXAMPLE}")
    tokens: list[tuple[str, str]] = []
    position = 0
    source = text.strip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            bad = source[position:].strip()[:20]
            raise ConfigError(
                f"constraint {text!r}: unexpected {bad!r}; only metric names, + and -, one "
                f"comparison and a number are allowed; {_EXAMPLE}"
            )
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    ops = [i for i, (kind, _) in enumerate(tokens) if kind == "op"]
    if len(ops) != 1:
        raise ConfigError(
            f"constraint {text!r} needs exactly one comparison (<= or >=), found {len(ops)}; "
            f"{_EXAMPLE}"
        )
    op = {"=<": "<=", "=>": ">="}.get(tokens[ops[0]][1], tokens[ops[0]][1])
    if op in ("==", "=", "!="):
        raise ConfigError(
            f"constraint {text!r}: {op} is not supported, only <= and >= (an equality on "
            "floats is never met exactly); use two inequalities around a tolerance"
        )
    left, right = tokens[: ops[0]], tokens[ops[0] + 1 :]
    left_number = _number(left)
    right_number = _number(right)
    if right_number is not None and left_number is None:
        terms, bound, less = _terms(left, text), right_number, op in ("<=", "<")
    elif left_number is not None and right_number is None:
        terms, bound, less = _terms(right, text), left_number, op in (">=", ">")
    else:
        raise ConfigError(
            f"constraint {text!r} must compare metric names with one number; {_EXAMPLE}"
        )
    if not less:  # sum >= bound  <=>  -sum <= -bound
        terms = tuple((-sign, name) for sign, name in terms)
        bound = -bound
    return Constraint(_render(left) + f" {op} " + _render(right), terms, bound)


def _render(tokens: Sequence[tuple[str, str]]) -> str:
    """One side, spaced the one way (``a + b``, ``-0.5``), so a constraint's name is stable."""
    words: list[str] = []
    unary = True
    for kind, token in tokens:
        if kind == "sign" and unary:
            words.append(token)
            continue
        if kind == "sign":
            words.append(f" {token} ")
            unary = True
            continue
        words.append(token)
        unary = False
    return "".join(words)


def _number(tokens: Sequence[tuple[str, str]]) -> float | None:
    """The side as a number (``0.9``, ``-3``, ``1e-3``), or None if it is not one."""
    kinds = [kind for kind, _ in tokens]
    if kinds == ["number"]:
        return float(tokens[0][1])
    if kinds == ["sign", "number"]:
        value = float(tokens[1][1])
        return -value if tokens[0][1] == "-" else value
    return None


def _terms(tokens: Sequence[tuple[str, str]], text: object) -> tuple[tuple[float, str], ...]:
    terms: list[tuple[float, str]] = []
    sign = 1.0
    expect_name = True
    for kind, token in tokens:
        if expect_name and kind == "sign":
            sign = -sign if token == "-" else sign
        elif expect_name and kind == "name":
            terms.append((sign, token))
            sign, expect_name = 1.0, False
        elif not expect_name and kind == "sign":
            sign, expect_name = (-1.0 if token == "-" else 1.0), True
        else:
            raise ConfigError(
                f"constraint {text!r}: unexpected {token!r}; a side is metric names joined "
                f"by + or - (no numbers or products there); {_EXAMPLE}"
            )
    if expect_name or not terms:
        raise ConfigError(f"constraint {text!r}: a metric name is missing; {_EXAMPLE}")
    return tuple(terms)


def parse_constraints(items: object) -> tuple[Constraint, ...]:
    """A list of constraint strings (a single string is one constraint)."""
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise ConfigError(
            f"constraints must be a list of strings like ['acc >= 0.9'], got {items!r}"
        )
    parsed = tuple(parse_constraint(item) for item in items)
    seen: set[str] = set()
    for constraint in parsed:
        if constraint.text in seen:
            raise ConfigError(f"constraint {constraint.text!r} is given twice; remove one")
        seen.add(constraint.text)
    return parsed


def constraint_values(
    constraints: Sequence[Constraint], metrics: Mapping[str, object]
) -> dict[str, float]:
    """``{constraint text: value}`` for one trial's metrics; a missing or non-numeric metric
    raises ``KeyError``/``ValueError`` with a message naming it."""
    numbers: dict[str, float] = {}
    for constraint in constraints:
        for name in constraint.metrics:
            if name in numbers:
                continue
            if name not in metrics:
                raise KeyError(
                    f"constraint {constraint.text!r} needs metric {name!r}, but the result "
                    f"has {sorted(map(str, metrics))}; return a dict that includes it"
                )
            raw = metrics[name]
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise ValueError(
                    f"constraint {constraint.text!r}: metric {name!r} is {raw!r}, not a number"
                )
            if math.isnan(raw):
                raise ValueError(f"constraint {constraint.text!r}: metric {name!r} is nan")
            numbers[name] = float(raw)
    values = {c.text: c.value(numbers) for c in constraints}
    for text, value in values.items():
        if math.isnan(value):
            raise ValueError(f"constraint {text!r} evaluates to nan (inf - inf)")
    return values
