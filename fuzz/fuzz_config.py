"""Fuzz the YAML config loader: whole files through ``load_config`` and config-shaped Python
mappings through ``from_mapping``: ``python fuzz/fuzz_config.py [corpus]``."""

from __future__ import annotations

import sys
import tempfile

import atheris

with atheris.instrument_imports(include=["hpsweep", "yaml"]):
    import _values
    import oracle

DIRECTORY = tempfile.mkdtemp(prefix="hpsweep-fuzz-")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    if data[0] % 2:
        oracle.check_config_text(data[1:], DIRECTORY)
    else:
        oracle.check_mapping(_values.mapping(atheris.FuzzedDataProvider(data[1:])))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
