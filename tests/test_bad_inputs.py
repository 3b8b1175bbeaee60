"""The catalogue of bad inputs in tests/bad_inputs/: each gives exactly its recorded error."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from hpsweep import _wire
from hpsweep.cli import main

HERE = Path(__file__).parent / "bad_inputs"


def load(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load((HERE / name).read_text())
    return cases


@pytest.mark.parametrize("case", load("cli.yaml"), ids=lambda c: c["name"])
def test_command_line(case: dict[str, Any], workdir: Path) -> None:
    for name, text in (case.get("files") or {}).items():
        (workdir / name).write_text(text)
    before = {p: p.read_bytes() for p in workdir.iterdir()}
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(case["argv"])
    lines = stderr.getvalue().splitlines()
    assert lines and lines[0] == case["error"]
    assert len(lines) == 1  # one line, no traceback
    assert code == case["code"]
    # bad input never damages or creates stored data
    assert {p: p.read_bytes() for p in workdir.iterdir() if p in before} == before
    assert not (workdir / "hpsweep.journal").exists()


@pytest.mark.parametrize("case", load("wire.yaml"), ids=lambda c: c["line"])
def test_report_lines(case: dict[str, Any]) -> None:
    parse = _wire.decode if case["kind"] == "channel" else _wire.parse_marker
    with pytest.raises(_wire.WireError) as info:
        parse(case["line"])
    assert str(info.value) == case["error"]


def test_the_catalogue_is_large_enough() -> None:
    assert len(load("cli.yaml")) + len(load("wire.yaml")) >= 60
