"""The YAML mapping form: SearchSpace.from_mapping / to_mapping."""

from __future__ import annotations

import datetime
import math

import pytest

from hpsweep._errors import SpaceError
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import SearchSpace
from hpsweep.space import param_from_mapping
from hpsweep.space import param_to_mapping

EXAMPLE = {
    "lr": {"type": "float", "low": 1.0e-5, "high": 1.0e-1, "log": True},
    "layers": {"type": "int", "low": 1, "high": 4},
    "units": {"type": "int", "low": 32, "high": 512, "step": 32},
    "opt": {"type": "categorical", "choices": ["adam", "sgd"]},
    "momentum": {"type": "float", "low": 0.0, "high": 0.99, "when": {"opt": "sgd"}},
    "seed": {"type": "fixed", "value": 7},
}


def error(mapping: object, source: str | None = None) -> str:
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace.from_mapping(mapping, source=source)
    text = str(excinfo.value)
    assert "\n" not in text
    return text


def one(definition: object) -> object:
    return SearchSpace.from_mapping({"x": definition})["x"]


def test_example() -> None:
    space = SearchSpace.from_mapping(EXAMPLE)
    assert space == SearchSpace(
        {
            "lr": Float(1e-5, 1e-1, log=True),
            "layers": Int(1, 4),
            "units": Int(32, 512, step=32),
            "opt": Choice(["adam", "sgd"]),
            "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
            "seed": Fixed(7),
        }
    )
    assert space.to_mapping() == EXAMPLE
    assert SearchSpace.from_mapping(space.to_mapping()) == space


def test_to_mapping_is_canonical() -> None:
    space = SearchSpace(
        {
            "a": Float(0, 1, step=0.25),
            "b": Int(1, 1024, log=True),
            "c": Int(0, 9, step=3),
            "d": Choice([None, True, 1.5, "x"]),
            "e": Fixed(None),
            "f": Fixed("s", when={"d": [True, "x"], "c": 3}),
        }
    )
    assert space.to_mapping() == {
        "a": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
        "b": {"type": "int", "low": 1, "high": 1024, "log": True},
        "c": {"type": "int", "low": 0, "high": 9, "step": 3},
        "d": {"type": "categorical", "choices": [None, True, 1.5, "x"]},
        "e": {"type": "fixed", "value": None},
        "f": {"type": "fixed", "value": "s", "when": {"d": [True, "x"], "c": 3}},
    }
    assert list(space.to_mapping()["a"]) == ["type", "low", "high", "step"]
    assert type(space.to_mapping()["a"]["low"]) is float


def test_yaml_text_round_trip() -> None:
    yaml = pytest.importorskip("yaml")
    text = """
lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}
layers: {type: int, low: 1, high: 4}
units: {type: int, low: 32, high: 512, step: 32}
opt: {type: categorical, choices: [adam, sgd]}
momentum: {type: float, low: 0.0, high: 0.99, when: {opt: sgd}}
seed: {type: fixed, value: 7}
"""
    space = SearchSpace.from_mapping(yaml.safe_load(text))
    assert space == SearchSpace.from_mapping(EXAMPLE)
    dumped = yaml.safe_dump(space.to_mapping(), sort_keys=False)
    assert "1.0e-05" in dumped
    assert SearchSpace.from_mapping(yaml.safe_load(dumped)) == space
    # PyYAML reads 1e-3 (no dot) as a string: numeric fields accept it.
    loaded = yaml.safe_load("lr: {type: float, low: 1e-5, high: 1e-1, log: true}")
    assert loaded["lr"]["low"] == "1e-5"
    assert SearchSpace.from_mapping(loaded)["lr"] == Float(1e-5, 1e-1, log=True)


def test_shorthands() -> None:
    assert one(7) == Fixed(7)
    assert one("adam") == Fixed("adam")
    assert one(None) == Fixed(None)
    assert one(False) == Fixed(False)
    assert one(["adam", "sgd"]) == Choice(["adam", "sgd"])
    assert one((1, 2)) == Choice([1, 2])


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1e-3", 1e-3),
        ("-2", -2),
        ("+3", 3),
        ("1_000", 1000),
        (" 5 ", 5),
        (".5", 0.5),
        ("1.", 1.0),
        ("1.5E+2", 150.0),
        ("007", 7),
    ],
)
def test_numeric_strings(text: str, number: float) -> None:
    param = one({"type": "float", "low": text, "high": 1000})
    assert isinstance(param, Float) and param.low == number
    assert one({"type": "int", "low": -5, "high": "1_000"}) == Int(-5, 1000)


@pytest.mark.parametrize(
    "text", ["abc", "nan", "inf", "-Infinity", "1e", "", " ", "0x10", "1__0", "1_", "١", "1,5"]
)
def test_non_numeric_strings(text: str) -> None:
    assert error({"lr": {"type": "float", "low": text, "high": 1}}) == (
        f"space.lr.low: expected a number, got {text!r}"
    )


def test_number_errors() -> None:
    assert error({"lr": {"type": "float", "low": "abc", "high": 1}}) == (
        "space.lr.low: expected a number, got 'abc'"
    )
    assert error({"lr": {"type": "float", "low": 0, "high": True}}) == (
        "space.lr.high: expected a number, got true"
    )
    assert error({"lr": {"type": "float", "low": 0, "high": None}}) == (
        "space.lr.high: expected a number, got null"
    )
    assert error({"lr": {"type": "float", "low": math.nan, "high": 1}}) == (
        "space.lr.low: expected a finite number, got nan"
    )
    assert error({"lr": {"type": "float", "low": 0, "high": [1]}}) == (
        "space.lr.high: expected a number, got a list"
    )
    assert error({"lr": {"type": "float", "low": 0, "high": "1e999"}}) == (
        "space.lr.high: the number '1e999' is out of range for a float"
    )
    assert error({"n": {"type": "int", "low": 1, "high": "9" * 5000}}).startswith(
        "space.n.high: the number '9999"
    )
    assert error({"n": {"type": "int", "low": 1, "high": 8, "step": "two"}}) == (
        "space.n.step: expected a number, got 'two'"
    )
    assert error({"n": {"type": "int", "low": 1.5, "high": 8}}) == (
        "space.n: `low` must be an integer for 'n', but got low=1.5; use a whole number"
    )


def test_validation_errors_name_the_param() -> None:
    assert error({"lr": {"type": "float", "low": 0.1, "high": 0.01}}, source="sweep.yaml") == (
        "sweep.yaml: space.lr: `low <= high` must hold for 'lr', but got low=0.1, high=0.01;"
        " swap the bounds."
    )
    assert error({"x": [1, 1]}) == (
        "space.x: `choices` must be distinct for 'x', but 1 appears twice; remove one."
    )


def test_log_values() -> None:
    base = {"type": "float", "low": 0.1, "high": 1}
    assert one({**base, "log": "TRUE"}) == Float(0.1, 1, log=True)
    assert one({**base, "log": "false"}) == Float(0.1, 1)
    assert one({**base, "log": None}) == Float(0.1, 1)
    assert error({"x": {**base, "log": "yes"}}) == "space.x.log: expected true or false, got 'yes'"
    assert error({"x": {**base, "log": 1}}) == "space.x.log: expected true or false, got 1"
    assert error({"x": {**base, "log": [True]}}) == (
        "space.x.log: expected true or false, got a list"
    )


def test_min_max_synonyms() -> None:
    assert one({"type": "float", "min": 0, "max": 1}) == Float(0, 1)
    assert one({"type": "int", "low": 1, "max": 4}) == Int(1, 4)
    assert error({"x": {"type": "float", "low": 0, "min": 0, "high": 1}}) == (
        "space.x: give either 'low' or 'min', not both"
    )
    assert error({"x": {"type": "float", "low": 0, "high": 1, "max": 1}}) == (
        "space.x: give either 'high' or 'max', not both"
    )
    assert error({"x": {"type": "float", "min": "a", "max": 1}}) == (
        "space.x.min: expected a number, got 'a'"
    )


def test_missing_fields() -> None:
    assert error({"x": {"type": "float", "low": 0}}) == (
        "space.x: missing key 'high' (the upper bound); e.g. {type: float, low: 0.0, high: 1.0}"
    )
    assert error({"x": {"type": "int", "high": 3}}) == (
        "space.x: missing key 'low' (the lower bound); e.g. {type: int, low: 1, high: 8}"
    )
    assert error({"x": {"type": "categorical"}}) == (
        "space.x: missing key 'choices'; e.g. {type: categorical, choices: [adam, sgd]}"
    )
    assert error({"x": {"type": "fixed"}}) == (
        "space.x: missing key 'value'; e.g. {type: fixed, value: 7}"
    )
    assert one({"type": "fixed", "value": None}) == Fixed(None)


def test_type_inference() -> None:
    assert one({"low": 0, "high": 1}) == Int(0, 1)
    assert one({"low": 0, "high": 1.0}) == Float(0, 1)
    assert one({"low": "1e-3", "high": 1}) == Float(1e-3, 1)
    assert one({"low": "1", "high": "4"}) == Int(1, 4)
    assert one({"min": 0, "max": 1, "step": 0.1}) == Float(0, 1, step=0.1)
    assert one({"low": 1, "high": 64, "log": True}) == Int(1, 64, log=True)
    assert (
        error({"x": {"choices": [1, 2]}}) == "space.x: missing key 'type'; add type: categorical"
    )
    assert error({"x": {"value": 1}}) == "space.x: missing key 'type'; add type: fixed"
    assert error({"x": {}}) == (
        "space.x: missing key 'type'; add type: float, int, categorical or fixed"
    )
    assert error({"x": {"typ": "float", "low": 0}}) == (
        "space.x: unknown key 'typ'; did you mean 'type'?"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("float", Float(0, 1)),
        ("FLOAT", Float(0, 1)),
        (" int ", Int(0, 1)),
        ("categorical", Choice([0, 1])),
        ("choice", Choice([0, 1])),
        ("choices", Choice([0, 1])),
        ("fixed", Fixed(0)),
    ],
)
def test_type_names(given: str, expected: object) -> None:
    kind = given.strip().lower()
    if kind in ("float", "int"):
        definition: dict[str, object] = {"type": given, "low": 0, "high": 1}
    elif kind == "fixed":
        definition = {"type": given, "value": 0}
    else:
        definition = {"type": given, "choices": [0, 1]}
    assert one(definition) == expected


def test_unknown_types() -> None:
    assert (
        error({"x": {"type": "flaot"}}) == "space.x: unknown type 'flaot'; did you mean 'float'?"
    )
    assert error({"x": {"type": "uniform"}}) == "space.x: unknown type 'uniform'; use type: float"
    assert error({"x": {"type": "loguniform"}}) == (
        "space.x: unknown type 'loguniform'; use type: float with log: true"
    )
    assert error({"x": {"type": "zzz"}}) == (
        "space.x: unknown type 'zzz'; use float, int, categorical or fixed"
    )
    assert error({"x": {"type": 3}}) == (
        "space.x.type: expected one of float, int, categorical, fixed, but got 3"
    )


def test_unknown_keys() -> None:
    base = {"type": "float", "low": 0.1, "high": 1}
    assert (
        error({"lr": {**base, "lgo": True}}) == "space.lr: unknown key 'lgo'; did you mean 'log'?"
    )
    assert error({"lr": {**base, "stpe": 0.1}}) == (
        "space.lr: unknown key 'stpe'; did you mean 'step'?"
    )
    assert error({"lr": {**base, "zzz": 1}}) == (
        "space.lr: unknown key 'zzz' for type float; valid keys are type, low, high, min, max,"
        " step, log, digits, when"
    )
    assert error({"n": {"type": "int", "low": 1, "high": 4, "digits": 2}}) == (
        "space.n: unknown key 'digits' for type int; valid keys are type, low, high, min, max,"
        " step, log, when"
    )
    assert error({"lr": {**base, "digits": "three"}}) == (
        "space.lr.digits: expected a number, got 'three'"
    )
    assert error({"lr": {**base, "digits": 18}}) == (
        "space.lr: `digits` must be between 1 and 17 for 'lr', but got digits=18; a float has at"
        " most 17 significant digits."
    )
    assert error({"o": {"type": "categorical", "choices": [1], "choice": [2]}}) == (
        "space.o: unknown key 'choice'; did you mean 'choices'?"
    )
    assert error({"o": {"type": "fixed", "value": 1, "low": 0}}) == (
        "space.o: unknown key 'low' for type fixed; valid keys are type, value, when"
    )
    assert error({"o": {"type": "fixed", "value": 1, 3: 0}}) == (
        "space.o: keys must be strings, but got 3"
    )


def test_choices_must_be_a_list() -> None:
    assert error({"o": {"type": "categorical", "choices": "adam"}}) == (
        "space.o.choices: expected a list of values, e.g. [adam, sgd], but got a str"
    )
    assert error({"o": {"type": "categorical", "choices": []}}) == (
        "space.o: `choices` for 'o' must not be empty; give at least one value."
    )
    assert error({"o": [[1, 2]]}) == (
        "space.o: `choices` for 'o' must be str, int, float, bool or None, but item 1 is a list;"
        " use a string and convert it in your objective."
    )


def test_conditions() -> None:
    space = SearchSpace.from_mapping(
        {
            "opt": ["adam", "adamw", "sgd"],
            "layers": {"low": 1, "high": 4},
            "beta": {"low": 0.0, "high": 1.0, "when": {"opt": ["adam", "adamw"], "layers": 2}},
            "m": {"type": "float", "low": 0, "high": 1, "when": None},
        }
    )
    assert space["beta"].when == (("opt", ("adam", "adamw")), ("layers", (2,)))
    assert space["m"].when == ()
    assert error(
        {"opt": ["adam", "rmsprop"], "m": {"low": 0.0, "high": 1.0, "when": {"opt": "sgd"}}},
        source="sweep.yaml",
    ) == (
        "sweep.yaml: space.m: the condition opt='sgd' of 'm' can never hold: 'opt' takes one of"
        " 'adam', 'rmsprop'; change the condition or the definition of 'opt'"
    )
    assert error({"m": {"low": 0.0, "high": 1.0, "when": "opt=sgd"}}) == (
        "space.m.when: expected a mapping of parameter names to required values, e.g."
        " {opt: sgd} or {opt: [adam, adamw]}, but got a str"
    )
    assert error({"m": {"low": 0.0, "high": 1.0, "when": {"opt": []}}}) == (
        "space.m: the condition on 'opt' for 'm' must require a value or a non-empty list of"
        " values, but got an empty list"
    )
    assert error({"m": {"low": 0.0, "high": 1.0, "when": {"opt": "a"}}, "opt": ["a"]}) == (
        "space.m: 'm' has a condition on 'opt', which is defined after it; define 'opt' before"
        " 'm' (conditions may only name earlier parameters)"
    )


def test_space_level_errors() -> None:
    assert error([1, 2], source="sweep.yaml") == (
        "sweep.yaml: space: expected a mapping of parameter names to definitions, but got a list"
    )
    assert error({True: 1}) == (
        "space: parameter names must be strings, but got True (YAML reads yes/no/on/off as"
        " booleans); quote the name"
    )
    assert error({1: 1}) == "space: parameter names must be strings, but got 1; quote the name"
    assert error({"a b": 1}) == (
        "space['a b']: invalid parameter name 'a b'; a name starts with a letter or '_' and"
        " contains only letters, digits, '_', '.', '-' and '/'"
    )
    assert error({"d": datetime.date(2020, 1, 1)}) == (
        "space.d: expected a definition such as {type: float, low: 0.0, high: 1.0}, a list of"
        " choices or a single value, but got a date"
    )
    assert SearchSpace.from_mapping(None) == SearchSpace()
    assert SearchSpace.from_mapping({}) == SearchSpace()


def test_source_prefix() -> None:
    assert error({"lr": {"type": "float", "low": "abc", "high": 1}}, source="sweep.yaml") == (
        "sweep.yaml: space.lr.low: expected a number, got 'abc'"
    )
    assert error({"lr": {"type": "floot"}}, source="CLI").startswith("CLI: space.lr: ")


def test_param_helpers() -> None:
    assert param_from_mapping("lr", {"type": "float", "low": 0, "high": 1}) == Float(0, 1)
    assert param_to_mapping(Int(1, 4)) == {"type": "int", "low": 1, "high": 4}
    with pytest.raises(SpaceError, match=r"^x\.yaml: space\.lr\.low: expected a number"):
        param_from_mapping("lr", {"type": "float", "low": "a", "high": 1}, source="x.yaml")
    with pytest.raises(SpaceError, match="expected a Float, Int, Choice or Fixed"):
        param_to_mapping("nope")  # type: ignore[arg-type]
