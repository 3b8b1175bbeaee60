"""Property tests of every parser of user text (the fuzz targets in fuzz/ check the same
properties, coverage-guided): any input gives a valid result or one line of error, never another
exception, never a hang, never an eval."""

from __future__ import annotations

import string
import time
from pathlib import Path
from typing import Any

import oracle
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from hpsweep._config import KEYS
from hpsweep._wire import MARKER

ROOT = Path(__file__).resolve().parents[2]

# Generous per-example deadline: a "hang" is minutes; this only has to catch runaway inputs
# (a few YAML aliases standing for billions of values, a regex that backtracks, ...).
PROPERTY = settings(
    max_examples=150,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# -- strategies ----------------------------------------------------------------------------------

LINE_BREAKERS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028"]
odd_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", "\x00", "é", "日本", "\ufeff", "'", '"', "\\", "$(id)", "__import__('os')"]
        + LINE_BREAKERS
    ),
)

spec_tokens = st.sampled_from(
    [
        "lr",
        "x",
        "_a.b-c/d",
        "=",
        "(",
        ")",
        ",",
        " ",
        "float",
        "int",
        "choice",
        "choices",
        "categorical",
        "fixed",
        "uniform",
        "log",
        "log=true",
        "log=false",
        "step=",
        "step",
        "if",
        "and",
        "in",
        "0",
        "1",
        "-1",
        "1e-5",
        "1e309",
        "-1e309",
        "1_000",
        ".5",
        "1.",
        "nan",
        "inf",
        "true",
        "none",
        "'a b'",
        '"q\\"x"',
        "'",
        '"',
        "\\",
        "9" * 30,
        "9" * 5000,
    ]
)
specs = st.one_of(
    st.lists(st.one_of(spec_tokens, odd_text), max_size=14).map("".join),
    st.text(max_size=60),
)

yaml_values = st.sampled_from(
    [
        "1",
        "-1",
        "0",
        "1e-3",
        "1.0e-3",
        ".inf",
        "-.inf",
        ".nan",
        "1e400",
        "99999999999999999999999999",
        "true",
        "no",
        "null",
        "~",
        "''",
        "abc",
        "[minimize, maximize]",
        "[1, 2]",
        "[]",
        "{}",
        "{name: tpe, kwargs: {n_startup_trials: 3}}",
        "{name: asha, max_t: 10}",
        "{type: float, low: 0, high: 1, log: true}",
        "{x: {type: int, low: 1, high: 4, step: 2}}",
        "{x: {type: categorical, choices: [a, b]},"
        " y: {type: float, low: 0, high: 1, when: {x: a}}}",
        "[python, train.py, --lr, '{lr}']",
        "!!python/object:os.system {}",
        "!!python/object/apply:os.system [id]",
        "!!python/name:builtins.eval",
        "!!binary aGVsbG8=",
        "!!timestamp 2001-12-14",
        "!!set {a, b}",
        "!!omap [{a: 1}]",
        "&anchor [1, 2]",
        "*anchor",
        "*missing",
        "[[[[[[[[[[]]]]]]]]]]",
        "'unterminated",
        "{a: 1, a: 2}",
        "{? [1]: 2}",
        "|\n  text",
        "\t1",
        "@reserved",
        "`tick`",
        "%TAG",
    ]
)
yaml_keys = st.one_of(st.sampled_from(list(KEYS)), st.sampled_from(["<<", "? x", "- a", "a b"]))


@st.composite
def yaml_documents(draw: Any) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        indent = draw(st.sampled_from(["", "", "  ", "    ", "\t"]))
        key = draw(yaml_keys)
        value = draw(st.one_of(yaml_values, odd_text))
        lines.append(f"{indent}{key}: {value}")
    text: str = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    data = text.encode("utf-8", "surrogatepass")
    prefix: bytes = draw(
        st.sampled_from([b"", b"\xef\xbb\xbf", b"---\n", b"\xff\xfe", b"%YAML 1.1\n---\n"])
    )
    return prefix + data


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70),
    st.floats(),
    odd_text,
    st.sampled_from(["1e-3", "min", "max", "auto", "tpe", "median", "asha", "m:f", "a:b:c"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(list(KEYS)), st.text(max_size=6)), children),
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.sampled_from(list(KEYS)), values, max_size=8)

set_items = st.one_of(
    st.builds(
        lambda key, sep, value: key + sep + value,
        st.one_of(
            st.sampled_from(
                list(KEYS)
                + ["params.a", "params.a.b", "sampler.kwargs.x", "space.x", "x", "a.b", ""]
            ),
            odd_text,
        ),
        st.sampled_from(["=", "", "==", " = "]),
        st.one_of(yaml_values, odd_text),
    ),
    st.text(max_size=30),
)

channel_lines = st.one_of(
    st.binary(max_size=60),
    st.builds(
        lambda v, op, extra: ('{"v":' + v + ',"op":' + op + extra + "}").encode(),
        st.sampled_from(["1", "2", "1.0", "true", "null", '"1"', "[]"]),
        st.sampled_from(['"report"', '"final"', '"should_prune"', '"pruned"', '"error"', "1"]),
        st.sampled_from(
            [
                "",
                ',"value":1',
                ',"value":1,"step":3',
                ',"value":NaN,"step":-1',
                ',"value":Infinity,"step":1e300',
                ',"value":true,"step":1.5',
                ',"value":1,"step":99999999999999999999999',
                ',"result":{"a":[1,2]}',
                ',"message":["x"]',
                ',"message":"a\\nb"',
            ]
        ),
    ),
    st.just(b"[" * 100_000),
)
marker_lines = st.one_of(
    st.builds(
        lambda lead, body: lead + MARKER + body,
        st.sampled_from(["", "  ", "\t"]),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [
                    ' {"step": 3, "value": 0.41}',
                    ' {"result": 0.12}',
                    ' {"pruned": true}',
                    ' {"pruned": false}',
                    ' {"step": -1, "value": 1}',
                    ' {"step": 1e400, "value": 1}',
                    ' {"value": "1"}',
                    " [1]",
                    " " + "[" * 50_000,
                ]
            ),
        ),
    ),
    st.text(max_size=40),
)


# -- properties ----------------------------------------------------------------------------------


@PROPERTY
@given(specs)
def test_cli_space_grammar(spec: str) -> None:
    oracle.check_cli_spec(spec)


@PROPERTY
@given(yaml_documents())
def test_yaml_config_files(data: bytes) -> None:
    oracle.check_config_text(data)


@PROPERTY
@given(st.binary(max_size=200))
def test_config_files_of_random_bytes(data: bytes) -> None:
    oracle.check_config_text(data)


@PROPERTY
@given(documents)
def test_config_mappings(document: dict[str, Any]) -> None:
    oracle.check_mapping(document)


@PROPERTY
@given(documents, st.lists(set_items, min_size=1, max_size=3))
def test_set_values(document: dict[str, Any], items: list[str]) -> None:
    for item in items:
        if oracle.check_set(document, item) is None:
            return


@PROPERTY
@given(channel_lines)
def test_channel_lines(line: bytes) -> None:
    oracle.check_channel_line(line)
    oracle.check_channel_line(line.decode("utf-8", "replace"))


@PROPERTY
@given(marker_lines)
def test_marker_lines(line: str) -> None:
    oracle.check_marker_line(line)


@pytest.mark.skipif(oracle.orion_parser() is None, reason="the Oríon dialect is not in this tree")
@PROPERTY
@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(
            st.sampled_from(
                [
                    "uniform",
                    "loguniform",
                    "normal",
                    "choices",
                    "fidelity",
                    "(",
                    ")",
                    ",",
                    "1",
                    "1e-5",
                    "-1",
                    "[",
                    "]",
                    "{",
                    "}",
                    "'a'",
                    ":",
                    "discrete=True",
                    "precision=2",
                    "default_value=1",
                    "shape=2",
                    "__import__('os')",
                    " ",
                ]
            ),
            max_size=12,
        ).map("".join),
    )
)
def test_orion_priors(text: str) -> None:
    oracle.check_orion_prior(text)


# -- known inputs that once escaped --------------------------------------------------------------

BILLION_LAUGHS = "params:\n  a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"  {n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
)


@pytest.mark.parametrize(
    "text",
    [
        BILLION_LAUGHS + "n_trials: *i\n",
        BILLION_LAUGHS + "command: *i\n",
        "study: " + "[" * 1000 + "]" * 1000 + "\n",
        "x: &a [*a]\n",
        "a: !!python/object/apply:os.system [echo pwned]\n",
    ],
    ids=[
        "alias-bomb-in-error",
        "alias-bomb-in-command",
        "deep-nesting",
        "recursive",
        "python-tag",
    ],
)
def test_hostile_config_files_fail_fast_in_one_line(text: str) -> None:
    assert oracle.check_config_text(text.encode()) is None


def test_deep_json_on_the_wire_is_a_wire_error() -> None:
    assert oracle.check_channel_line(b"[" * 100_000) is None
    assert oracle.check_marker_line(MARKER + " " + "[" * 100_000) is None


def test_set_values_nested_too_deeply_stay_text() -> None:
    document: dict[str, Any] = {}
    oracle.check_set(document, "study=" + "[" * 1000)
    assert document["study"] == "[" * 1000


def test_deep_yaml_nesting_fails_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    assert oracle.check_config_text(b"study: " + b"[" * 30_000) is None
    assert time.perf_counter() - started < 1.0


# -- the guard itself ---------------------------------------------------------------------------


def test_the_no_eval_guard_works() -> None:
    with pytest.raises(oracle.EvalCalled), oracle.no_eval():
        eval("1")  # noqa: S307 - proving the guard catches it
    assert string.ascii_letters  # the guard is gone again: builtins work
    assert eval("1") == 1  # noqa: S307
