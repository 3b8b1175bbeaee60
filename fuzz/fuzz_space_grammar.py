"""Fuzz the CLI space grammar (``-p SPEC``): ``python fuzz/fuzz_space_grammar.py [corpus]``."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["hpsweep"]):
    import oracle


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    oracle.check_cli_spec(fdp.ConsumeUnicodeNoSurrogates(len(data)))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
