"""Property tests: the Python, YAML-mapping and CLI forms of a space agree."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from hpsweep._errors import SpaceError
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import Param
from hpsweep.space import Scalar
from hpsweep.space import SearchSpace
from hpsweep.space import parse_cli
from hpsweep.space import render_cli

# -- strategies ----------------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-/]{0,8}", fullmatch=True)

tricky_strings = st.sampled_from(
    [
        "",
        " ",
        "a,b",
        "gelu, fast",
        "it's",
        'say "hi"',
        "\\",
        "a\\'b",
        "'",
        '"',
        "(x)",
        "a=b",
        "1e-3",
        "007",
        "1_000",
        "-5",
        ".5",
        "1.",
        "true",
        "FALSE",
        "None",
        "null",
        "if",
        "and",
        "in",
        "nan",
        "-inf",
        "Infinity",
        "é",
        "日本語",
        "\u3000",
        "\x1f",
        "tab\there",
        "new\nline",
        "float(0,1)",
        "choice",
        "x if y=1",
    ]
)
strings = st.one_of(st.text(max_size=12), tricky_strings)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
digits = st.none() | st.integers(min_value=1, max_value=17)
scalars: st.SearchStrategy[Scalar] = st.one_of(
    st.none(), st.booleans(), st.integers(), finite_floats, strings
)

conditions = st.lists(
    st.tuples(names, st.lists(scalars, min_size=1, max_size=3)),
    max_size=3,
    unique_by=lambda pair: pair[0],
)


@st.composite
def floats_params(draw: st.DrawFn, when: Any = ()) -> Float:
    low, high = sorted([draw(finite_floats), draw(finite_floats)])
    kind = draw(st.sampled_from(["plain", "log", "step"]))
    if kind == "log":
        low, high = sorted(
            [
                draw(st.floats(min_value=0, exclude_min=True, allow_infinity=False)),
                draw(st.floats(min_value=0, exclude_min=True, allow_infinity=False)),
            ]
        )
        return Float(low, high, log=True, digits=draw(digits), when=when)
    if kind == "step":
        step = draw(st.floats(min_value=0, exclude_min=True, allow_infinity=False))
        return Float(low, high, step=step, when=when)
    return Float(low, high, digits=draw(digits), when=when)


@st.composite
def int_params(draw: st.DrawFn, when: Any = ()) -> Int:
    low, high = sorted([draw(st.integers()), draw(st.integers())])
    kind = draw(st.sampled_from(["plain", "log", "step"]))
    if kind == "log":
        low, high = sorted([draw(st.integers(min_value=1)), draw(st.integers(min_value=1))])
        return Int(low, high, log=True, when=when)
    if kind == "step":
        return Int(low, high, step=draw(st.integers(min_value=1)), when=when)
    return Int(low, high, when=when)


@st.composite
def choice_params(draw: st.DrawFn, when: Any = ()) -> Choice:
    # unique=True drops values that are == (1, 1.0, True), as Choice requires
    return Choice(draw(st.lists(scalars, min_size=1, max_size=6, unique=True)), when=when)


@st.composite
def fixed_params(draw: st.DrawFn, when: Any = ()) -> Fixed:
    return Fixed(draw(scalars), when=when)


@st.composite
def params(draw: st.DrawFn) -> Param:
    when = draw(conditions)
    kind = draw(st.sampled_from([floats_params, int_params, choice_params, fixed_params]))
    param: Param = draw(kind(when=when))
    return param


@st.composite
def possible_value(draw: st.DrawFn, param: Param) -> Scalar:
    if isinstance(param, Choice):
        return draw(st.sampled_from(param.choices))
    if isinstance(param, Fixed):
        return param.value
    if isinstance(param, Int):
        count = (param.high - param.low) // param.step
        return param.low + draw(st.integers(0, min(count, 1000))) * param.step
    return draw(st.floats(min_value=param.low, max_value=param.high))


@st.composite
def spaces(draw: st.DrawFn) -> SearchSpace:
    chosen = draw(st.lists(names, max_size=6, unique=True))
    result: dict[str, Param] = {}
    for name in chosen:
        when: list[tuple[str, list[Scalar]]] = []
        conditional: bool = draw(st.booleans())
        if result and conditional:
            targets = draw(
                st.lists(st.sampled_from(list(result)), min_size=1, max_size=2, unique=True)
            )
            for target in targets:
                values = draw(st.lists(possible_value(result[target]), min_size=1, max_size=3))
                when.append((target, values))
        kind = draw(st.sampled_from([floats_params, int_params, choice_params, fixed_params]))
        param: Param = draw(kind(when=when))
        result[name] = param
    return SearchSpace(result)


# -- round trips ---------------------------------------------------------------------------------


@settings(deadline=None)
@given(names, params())
def test_cli_round_trip(name: str, param: Param) -> None:
    spec = render_cli(name, param)
    assert parse_cli(spec) == (name, param)
    assert render_cli(*parse_cli(spec)) == spec  # canonical


@settings(deadline=None)
@given(names, params())
def test_mapping_round_trip(name: str, param: Param) -> None:
    from hpsweep.space import param_from_mapping
    from hpsweep.space import param_to_mapping

    mapping = param_to_mapping(param)
    assert param_from_mapping(name, mapping) == param
    assert param_to_mapping(param_from_mapping(name, mapping)) == mapping


@settings(max_examples=150, deadline=None)
@given(spaces())
def test_space_round_trips(space: SearchSpace) -> None:
    assert SearchSpace.from_mapping(space.to_mapping()) == space
    assert SearchSpace.from_cli(space.to_cli()) == space
    assert SearchSpace(dict(space.items())) == space
    assert space.merged(space) == space


@settings(max_examples=100, deadline=None)
@given(spaces(), spaces())
def test_merged_keeps_every_name(left: SearchSpace, right: SearchSpace) -> None:
    try:
        merged = left.merged(right)
    except SpaceError:  # e.g. right redefines a parameter so that left's conditions cannot hold
        return
    assert set(merged.names) == set(left.names) | set(right.names)
    for name in merged:
        assert merged[name] == (right[name] if name in right else left[name])


def test_three_forms_are_equal() -> None:
    python = SearchSpace(
        {
            "lr": Float(1e-5, 1e-1, log=True),
            "wd": Float(0.0, 0.1, digits=3),
            "layers": Int(1, 4),
            "units": Int(32, 512, step=32),
            "opt": Choice(["adam", "sgd"]),
            "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
            "seed": Fixed(7),
        }
    )
    yaml_form = SearchSpace.from_mapping(
        {
            "lr": {"type": "float", "low": 1.0e-5, "high": 1.0e-1, "log": True},
            "wd": {"type": "float", "low": 0.0, "high": 0.1, "digits": 3},
            "layers": {"type": "int", "low": 1, "high": 4},
            "units": {"type": "int", "low": 32, "high": 512, "step": 32},
            "opt": {"type": "categorical", "choices": ["adam", "sgd"]},
            "momentum": {"type": "float", "low": 0.0, "high": 0.99, "when": {"opt": "sgd"}},
            "seed": {"type": "fixed", "value": 7},
        }
    )
    cli_form = SearchSpace.from_cli(
        [
            "lr=float(1e-5,1e-1,log)",
            "wd=float(0,0.1,digits=3)",
            "layers=int(1,4)",
            "units=int(32,512,step=32)",
            "opt=choice(adam,sgd)",
            "momentum=float(0.0,0.99) if opt=sgd",
            "seed=7",
        ]
    )
    assert python == yaml_form == cli_form


# -- robustness ----------------------------------------------------------------------------------

grammar_text = st.text(
    alphabet=st.sampled_from(list("floatincehsgpxy_.-/01289eE+()=,'\"\\ \t") + ["é", "日"]),
    max_size=40,
)


def parses_or_space_error(spec: str) -> None:
    try:
        name, param = parse_cli(spec)
    except SpaceError as error:
        assert "\n" not in str(error)
        assert str(error).startswith("-p ")
        return
    # Whatever parses renders to a spec that parses to the same thing.
    assert parse_cli(render_cli(name, param)) == (name, param)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_parses_or_raises_space_error(spec: str) -> None:
    parses_or_space_error(spec)


@settings(max_examples=300, deadline=None)
@given(grammar_text)
def test_grammar_like_text_parses_or_raises_space_error(spec: str) -> None:
    parses_or_space_error(spec)


@settings(max_examples=300, deadline=None)
@given(names, params(), st.data())
def test_mutated_specs_parse_or_raise_space_error(name: str, param: Param, data: Any) -> None:
    spec = render_cli(name, param)
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(spec)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        char = data.draw(st.sampled_from(list("()=,'\" \\x1e.-_") + ["if", "and", "in"]))
        if action == "insert":
            spec = spec[:index] + char + spec[index:]
        elif action == "delete":
            spec = spec[:index] + spec[index + 1 :]
        else:
            spec = spec[:index] + char + spec[index + 1 :]
    parses_or_space_error(spec)


json_like = st.recursive(
    st.one_of(scalars, st.sampled_from(["float", "int", "categorical", "fixed", "1e-3", "true"])),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "type",
                        "low",
                        "high",
                        "min",
                        "max",
                        "step",
                        "log",
                        "when",
                        "choices",
                        "value",
                    ]
                ),
                names,
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(names, json_like, max_size=4))
def test_arbitrary_mappings_load_or_raise_space_error(mapping: dict[str, Any]) -> None:
    try:
        space = SearchSpace.from_mapping(mapping, source="sweep.yaml")
    except SpaceError as error:
        assert "\n" not in str(error)
        assert str(error).startswith("sweep.yaml: space")
        return
    assert SearchSpace.from_mapping(space.to_mapping()) == space
