"""Fuzz the report wire: channel lines (``_wire.decode``) and stdout marker lines
(``_wire.parse_marker``): ``python fuzz/fuzz_wire.py [corpus]``."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["hpsweep"]):
    import oracle

    from hpsweep._wire import MARKER


def test_one_input(data: bytes) -> None:
    oracle.check_channel_line(data)
    text = data.decode("utf-8", "replace")
    oracle.check_marker_line(text)
    oracle.check_marker_line(MARKER + " " + text)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
