"""Fuzz the dialects' readers: Axect's optimize config and its ``--set``, the ``@hparam_search``
YAML and its ``--set``, Oríon's ``hunt -c`` config, SpeechBrain's hpopt file and ``--key value``
overrides, and AutoGluon's search spaces: ``python fuzz/fuzz_dialects.py [corpus]``.

The first byte picks the reader. For the file readers the rest is the file, then, after a NUL
(which YAML never holds), the command-line items separated by NULs: ``--set`` items, the
arguments after the hunt's script, or the overrides after ``--hpopt FILE``. SpeechBrain is read
with its PyYAML fallback: HyperPyYAML's tags import and call whatever they name, so fuzzing them
would run random code (tests/hardening/test_dialect_parsers.py covers HyperPyYAML with harmless
tags)."""

from __future__ import annotations

import logging
import sys
import tempfile
from typing import Any

import atheris

with atheris.instrument_imports(include=["hpsweep", "yaml"]):
    import _values
    import oracle

    from hpsweep import tune
    from hpsweep._errors import SpaceError
    from hpsweep.dialects import _autogluon
    from hpsweep.dialects import _orion  # noqa: F401  (instrumented before first use)

DIRECTORY = tempfile.mkdtemp(prefix="hpsweep-fuzz-")
MAX_ITEMS = 8

# A scheduler argument at the wrong level besides the keys.
TUNE_KEYS = [*_autogluon.TUNE_KEYS, "max_t"]
METRICS = ("accuracy", "acc", "roc_auc", "rmse", "log_loss", "f1", "my_metric")


def file_and_items(body: bytes) -> tuple[bytes, list[str]]:
    data, _, rest = body.partition(b"\0")
    # Command-line arguments that are not UTF-8 reach Python as surrogate escapes.
    items = [item.decode("utf-8", "surrogateescape") for item in rest.split(b"\0")]
    return data, items[:MAX_ITEMS] if rest else []


def number(fdp: Any) -> int | float:
    return fdp.ConsumeFloat() if fdp.ConsumeBool() else fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 9))


def space(fdp: Any) -> object:
    """One ``hyperparameters`` value: a constant, an hpsweep.tune space, or an AutoGluon space
    holding any values."""
    kind = fdp.ConsumeIntInRange(0, 6)
    if kind == 0:
        return _values.value(fdp)
    if kind == 1:
        numbers = [number(fdp) for _ in range(3)]
        return oracle.tune_space(fdp.PickValueInList(list(oracle.TUNE_ARITY)), numbers)
    if kind == 2:
        try:
            return tune.choice([_values.value(fdp) for _ in range(fdp.ConsumeIntInRange(0, 4))])
        except SpaceError:  # tune's own checks fail at the caller's line, before any plan
            return None
    if kind == 3:
        data = [_values.value(fdp) for _ in range(fdp.ConsumeIntInRange(0, 4))]
        return oracle.autogluon_space("Categorical", data=data, default=_values.value(fdp))
    attributes = {
        "lower": number(fdp) if fdp.ConsumeBool() else _values.value(fdp),
        "upper": number(fdp) if fdp.ConsumeBool() else _values.value(fdp),
        "default": number(fdp) if fdp.ConsumeBool() else _values.value(fdp),
        "log": fdp.ConsumeBool() if fdp.ConsumeBool() else _values.value(fdp),
    }
    return oracle.autogluon_space(("Real", "Int", "Bool")[kind - 4], **attributes)


def autogluon(fdp: Any) -> None:
    keys = ("optim.lr", "model.hidden", "optim", "optim.lr.x", "env.batch_size", "a b", "")
    hyperparameters = {
        fdp.PickValueInList(list(keys)) if fdp.ConsumeBool() else _values.key(fdp): space(fdp)
        for _ in range(fdp.ConsumeIntInRange(0, 5))
    }
    tune_kwargs: object = {
        fdp.PickValueInList(TUNE_KEYS): _values.value(fdp)
        for _ in range(fdp.ConsumeIntInRange(0, 4))
    }
    if fdp.ConsumeBool():
        tune_kwargs = fdp.PickValueInList([None, "auto", "random", "bayes", "Bayes", 3])
    oracle.check_autogluon(
        hyperparameters,
        tune_kwargs,
        eval_metric=fdp.PickValueInList(list(METRICS)),
        mode=fdp.PickValueInList([None, "min", "max", "maximize"]),
        time_limit=_values.value(fdp) if fdp.ConsumeBool() else None,
    )


def test_one_input(data: bytes) -> None:
    if not data:
        return
    reader, body = data[0] % 5, data[1:]
    if reader == 4:
        autogluon(atheris.FuzzedDataProvider(body))
        return
    text, items = file_and_items(body)
    if reader == 0:
        oracle.check_axect_file(text, items, DIRECTORY)
    elif reader == 1:
        oracle.check_hparam_search_file(text, items, DIRECTORY)
        for item in items:
            oracle.check_hparam_search_value(item.partition("=")[2])
    elif reader == 2:
        oracle.check_orion_config(text, items, DIRECTORY)
    else:
        oracle.check_speechbrain(text, items, hyperpyyaml=False, directory=DIRECTORY)


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # SpeechBrain's warnings about odd overrides, per input
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
