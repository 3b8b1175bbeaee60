"""Turn fuzzer bytes into config-shaped Python values (mappings, lists, scalars)."""

from __future__ import annotations

from typing import Any

from hpsweep._config import KEYS

WORDS = (
    "float",
    "int",
    "categorical",
    "fixed",
    "low",
    "high",
    "min",
    "max",
    "step",
    "log",
    "choices",
    "value",
    "when",
    "type",
    "name",
    "kwargs",
    "tpe",
    "median",
    "asha",
    "minimize",
    "maximize",
    "1e-3",
    "m:f",
    "auto",
)


def value(fdp: Any, depth: int = 0) -> Any:
    """One value: a scalar, or (not too deep) a list or a mapping of values."""
    kind = fdp.ConsumeIntInRange(0, 9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 12))
    if kind == 3:
        return fdp.ConsumeFloat()
    if kind == 4:
        return fdp.PickValueInList(list(WORDS))
    if kind in (5, 6):
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 16))
    if kind == 7:
        return [value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    return mapping(fdp, depth + 1)


def key(fdp: Any) -> str:
    if fdp.ConsumeBool():
        return str(fdp.PickValueInList(list(KEYS)))
    if fdp.ConsumeBool():
        return str(fdp.PickValueInList(list(WORDS)))
    return str(fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 8)))


def mapping(fdp: Any, depth: int = 0) -> dict[str, Any]:
    return {key(fdp): value(fdp, depth) for _ in range(fdp.ConsumeIntInRange(0, 6))}
