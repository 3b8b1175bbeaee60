"""Fuzz the Oríon prior grammar (``--lr~'loguniform(1e-5, 1)'``) and its mapping to params:
``python fuzz/fuzz_orion.py [corpus]``."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["hpsweep"]):
    import oracle

    try:
        from hpsweep.dialects import _orion  # noqa: F401  (instrumented before first use)
    except ImportError:
        pass


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    oracle.check_orion_prior(fdp.ConsumeUnicodeNoSurrogates(len(data)))


if __name__ == "__main__":
    if oracle.orion_parser() is None:
        sys.exit("the Oríon dialect (hpsweep.dialects._orion) is not in this tree")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
