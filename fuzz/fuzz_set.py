"""Fuzz ``--set KEY=VALUE`` applied to config-shaped mappings: ``python fuzz/fuzz_set.py``."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["hpsweep", "yaml"]):
    import _values
    import oracle


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    document = _values.mapping(fdp)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        item = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 64))
        if oracle.check_set(document, item) is None:
            return


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
