"""Ray Tune's search-space functions returning hpsweep params: Ray Tune spaces without Ray.

``from hpsweep import tune`` stands in for ``from ray import tune`` where a search space is
written::

    hyperparameters = {
        "optim.lr": tune.loguniform(1e-5, 1e-2),       # Float(1e-05, 0.01, log=True)
        "optim.max_epochs": tune.randint(5, 31),       # Int(5, 30): Ray's upper bound is exclusive
        "model.name": tune.choice(["mlp", "cnn"]),     # Choice(['mlp', 'cnn'])
    }

Each function samples exactly the values Ray's does (bounds included or excluded as Ray documents
them), as an ordinary :class:`~hpsweep.space.Float`, :class:`~hpsweep.space.Int` or
:class:`~hpsweep.space.Choice`, usable in any hpsweep space. Optuna cannot sample a log scale on
a grid, so ``qloguniform`` and ``qlograndint`` with ``q > 1`` raise :class:`SpaceError` with the
nearest alternatives. Standard library and :mod:`hpsweep.space` only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Sequence
from typing import TypeVar

from hpsweep._errors import SpaceError
from hpsweep.space import Choice
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import Scalar

_P = TypeVar("_P", Float, Int, Choice)

__all__ = [
    "choice",
    "lograndint",
    "loguniform",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "quniform",
    "randint",
    "uniform",
]


def uniform(lower: float, upper: float) -> Float:
    """A float drawn uniformly from ``[lower, upper]``."""
    return _built(f"uniform({lower!r}, {upper!r})", lambda: Float(lower, upper))


def loguniform(lower: float, upper: float) -> Float:
    """A float drawn log-uniformly from ``[lower, upper]`` (``lower > 0``)."""
    return _built(f"loguniform({lower!r}, {upper!r})", lambda: Float(lower, upper, log=True))


def quniform(lower: float, upper: float, q: float) -> Float:
    """A multiple of ``q`` in ``[lower, upper]``, both bounds included; as in Ray, each bound must
    itself be a multiple of ``q``."""
    call = f"quniform({lower!r}, {upper!r}, {q!r})"
    _check_q(call, q)
    for name, bound in (("lower", lower), ("upper", upper)):
        if not _divisible(bound, q):
            raise SpaceError(
                f"tune.{call}: {name}={bound!r} is not a multiple of q={q!r}; "
                f"use a bound that is (as Ray requires)"
            )
    return _built(call, lambda: Float(lower, upper, step=q))


def qloguniform(lower: float, upper: float, q: float) -> Float:
    """Not available: Optuna samples a log scale only without a step. Raises SpaceError."""
    raise SpaceError(
        f"tune.qloguniform({lower!r}, {upper!r}, {q!r}): Optuna cannot sample a log scale on a "
        f"grid; use tune.loguniform({lower!r}, {upper!r}) and round in the trial, or "
        "tune.choice([...]) of the values to try"
    )


def choice(categories: Sequence[Scalar]) -> Choice:
    """One of ``categories``, each equally likely."""
    return _built(f"choice({categories!r})", lambda: Choice(categories))


def randint(lower: int, upper: int) -> Int:
    """An integer in ``[lower, upper)``: as in Ray (and NumPy), ``upper`` is excluded."""
    call = f"randint({lower!r}, {upper!r})"
    return _built(call, lambda: Int(lower, _exclusive(call, lower, upper)))


def lograndint(lower: int, upper: int) -> Int:
    """An integer in ``[lower, upper)`` drawn on a log scale (``lower >= 1``)."""
    call = f"lograndint({lower!r}, {upper!r})"
    return _built(call, lambda: Int(lower, _exclusive(call, lower, upper), log=True))


def qrandint(lower: int, upper: int, q: int = 1) -> Int:
    """A multiple of ``q`` in ``[lower, upper]``; with ``q == 1`` Ray excludes ``upper``, so
    ``qrandint(a, b)`` is ``randint(a, b)``."""
    call = f"qrandint({lower!r}, {upper!r}, {q!r})"
    _check_q(call, q)
    if q == 1:
        return randint(lower, upper)
    return _built(call, lambda: Int(*_multiples(call, lower, upper, q), step=q))


def qlograndint(lower: int, upper: int, q: int) -> Int:
    """``lograndint(lower, upper)`` when ``q == 1``; any other ``q`` raises SpaceError, since
    Optuna samples a log scale only without a step."""
    call = f"qlograndint({lower!r}, {upper!r}, {q!r})"
    _check_q(call, q)
    if q != 1:
        raise SpaceError(
            f"tune.{call}: Optuna cannot sample a log scale on a grid; use "
            f"tune.lograndint({lower!r}, {upper!r}) or tune.qrandint({lower!r}, {upper!r}, {q!r})"
        )
    return lograndint(lower, upper)


# ----------------------------------------------------------------------------- helpers


def _built(call: str, build: Callable[[], _P]) -> _P:
    """``build()``, with a constructor's message prefixed by the call that made it."""
    try:
        return build()
    except SpaceError as error:
        text = str(error)
        raise SpaceError(text if text.startswith("tune.") else f"tune.{call}: {text}") from None


def _check_q(call: str, q: float) -> None:
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not q > 0:
        raise SpaceError(f"tune.{call}: q must be a number > 0, got {q!r}")


def _exclusive(call: str, lower: int, upper: int) -> int:
    """The inclusive upper bound of ``[lower, upper)``."""
    if isinstance(upper, bool) or not isinstance(upper, int):
        raise SpaceError(f"tune.{call}: upper must be an integer, got {upper!r}")
    if isinstance(lower, int) and not isinstance(lower, bool) and upper <= lower:
        raise SpaceError(
            f"tune.{call}: upper is excluded, so `upper > lower` must hold, but got "
            f"lower={lower}, upper={upper}; use upper={lower + 1} to sample only {lower}"
        )
    return upper - 1


def _multiples(call: str, lower: int, upper: int, q: int) -> tuple[int, int]:
    """The smallest and largest multiples of ``q`` in ``[lower, upper]``, as Ray draws them."""
    for name, value in (("lower", lower), ("upper", upper), ("q", q)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpaceError(f"tune.{call}: {name} must be an integer, got {value!r}")
    first, last = -(-lower // q) * q, (upper // q) * q
    if first > last:
        raise SpaceError(
            f"tune.{call}: no multiple of q={q} lies in [{lower}, {upper}]; widen the bounds"
        )
    return first, last


def _divisible(value: float, q: float) -> bool:
    try:
        ratio = value / q
    except OverflowError:  # an int bound past the largest float
        return False
    # inf and nan are multiples of nothing (and round() of them raises)
    return math.isfinite(ratio) and math.isclose(ratio, round(ratio), rel_tol=1e-9, abs_tol=1e-9)
