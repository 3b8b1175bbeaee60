"""The parameter types and SearchSpace in their Python form."""

from __future__ import annotations

import ast
import copy
import dataclasses
import math
import pickle
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpsweep._errors import ConfigError
from hpsweep._errors import SpaceError
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import Param
from hpsweep.space import SearchSpace


def message(excinfo: pytest.ExceptionInfo[SpaceError]) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    return text


# -- Float ---------------------------------------------------------------------------------------


def test_float_stores_floats() -> None:
    param = Float(0, 1)
    assert (param.low, param.high, param.log, param.step, param.when) == (
        0.0,
        1.0,
        False,
        None,
        (),
    )
    assert type(param.low) is float and type(param.high) is float
    assert Float(0, 1) == Float(0.0, 1.0)
    assert Float(0.5, 0.5).low == 0.5  # low == high is allowed
    assert Float(0, 1, step=1).step == 1.0 and type(Float(0, 1, step=1).step) is float
    assert Float(1e-5, 1e-1, log=True).log is True


def test_float_low_above_high_message() -> None:
    with pytest.raises(SpaceError) as excinfo:
        Float(0.1, 0.01)
    assert message(excinfo) == (
        "`low <= high` must hold, but got low=0.1, high=0.01; swap the bounds."
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"low": True, "high": 1}, "`low` must be a number, but got True (bool)"),
        ({"low": 0, "high": "1"}, "`high` must be a number, but got '1' (str)"),
        ({"low": 0, "high": None}, "`high` must be a number, but got None (NoneType)"),
        ({"low": 0, "high": math.inf}, "`high` must be finite, but got high=inf"),
        ({"low": math.nan, "high": 1}, "`low` must be finite, but got low=nan"),
        ({"low": 0, "high": 10**400}, "`high` must be finite, but got high=inf"),
        (
            {"low": 0.0, "high": 1.0, "log": True},
            "`low > 0` must hold when log=True, but got low=0.0; use a positive lower bound or"
            " drop log.",
        ),
        (
            {"low": 0.1, "high": 1.0, "log": True, "step": 0.1},
            "`log` and `step` cannot be used together, but got log=True, step=0.1; drop one of"
            " them.",
        ),
        (
            {"low": 0, "high": 1, "step": 0},
            "`step > 0` must hold, but got step=0.0; use a positive step or drop it.",
        ),
        ({"low": 0, "high": 1, "step": -0.5}, "`step > 0` must hold, but got step=-0.5"),
        ({"low": 0, "high": 1, "step": math.inf}, "`step` must be finite"),
        ({"low": 0, "high": 1, "log": "yes"}, "`log` must be True or False, but got 'yes'"),
        ({"low": 0, "high": 1, "log": 1}, "`log` must be True or False, but got 1"),
        (
            {"low": 0, "high": 1, "digits": 0},
            "`digits` must be between 1 and 17, but got digits=0",
        ),
        ({"low": 0, "high": 1, "digits": 18}, "`digits` must be between 1 and 17"),
        ({"low": 0, "high": 1, "digits": 2.5}, "`digits` must be an integer, but got digits=2.5"),
        ({"low": 0, "high": 1, "digits": True}, "`digits` must be an integer, but got True"),
        (
            {"low": 0, "high": 1, "step": 0.1, "digits": 2},
            "`digits` and `step` cannot be used together, but got digits=2, step=0.1",
        ),
    ],
)
def test_float_rejects(kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(SpaceError) as excinfo:
        Float(**kwargs)  # type: ignore[arg-type]
    assert message(excinfo).startswith(expected)


@pytest.mark.parametrize(
    ("digits", "value", "expected"),
    [
        (4, 0.000123456, 0.0001235),
        (4, 123456.0, 123500.0),
        (1, 0.25, 0.2),  # half to even, as decimal formatting rounds
        (3, -0.0123456, -0.0123),
        (2, 0.0, 0.0),
        (17, 0.1 + 0.2, 0.1 + 0.2),  # 17 digits keep every double
        (None, 0.123456789, 0.123456789),
    ],
)
def test_float_rounds_to_significant_digits(
    digits: int | None, value: float, expected: float
) -> None:
    assert Float(-1e6, 1e6, digits=digits).round(value) == expected


def test_rounding_stays_within_the_bounds() -> None:
    param = Float(0.12344, 0.98766, digits=3)
    assert param.round(0.123441) == 0.12344  # 0.123 would be below low
    assert param.round(0.98765) == 0.98766  # 0.988 would be above high
    assert Float(1e-5, 1e-1, log=True, digits=2).round(1.04e-5) == 1.0e-5


@given(
    st.integers(min_value=1, max_value=17),
    st.floats(min_value=1e-300, max_value=1e300),
    st.booleans(),
)
def test_rounded_values_have_at_most_the_digits(digits: int, value: float, negative: bool) -> None:
    value = -value if negative else value
    rounded = Float(-1e301, 1e301, digits=digits).round(value)
    assert float(f"{rounded:.{digits - 1}e}") == rounded  # nothing beyond the digits
    assert abs(rounded - value) <= abs(value) * 0.5 * 10 ** (1 - digits) * (1 + 1e-12)


# -- Int -----------------------------------------------------------------------------------------


def test_int_accepts_integral_floats() -> None:
    param = Int(4.0, 8, step=2.0)  # type: ignore[arg-type]
    assert (param.low, param.high, param.step) == (4, 8, 2)
    assert all(type(v) is int for v in (param.low, param.high, param.step))
    assert Int(1, 1) == Int(1, 1, step=1, log=False)
    assert Int(1, 1024, log=True).log is True
    assert Int(-5, 5).low == -5


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"low": 4.5, "high": 8},
            "`low` must be an integer, but got low=4.5; use a whole number",
        ),
        ({"low": True, "high": 8}, "`low` must be an integer, but got True (bool)"),
        ({"low": 1, "high": "8"}, "`high` must be an integer, but got '8' (str)"),
        ({"low": 1, "high": math.inf}, "`high` must be an integer, but got high=inf"),
        (
            {"low": 5, "high": 1},
            "`low <= high` must hold, but got low=5, high=1; swap the bounds.",
        ),
        (
            {"low": 1, "high": 8, "step": 0},
            "`step >= 1` must hold, but got step=0; use a positive whole step or drop it.",
        ),
        ({"low": 1, "high": 8, "step": 1.5}, "`step` must be an integer, but got step=1.5"),
        (
            {"low": 0, "high": 8, "log": True},
            "`low >= 1` must hold when log=True, but got low=0; use a lower bound of at least 1"
            " or drop log.",
        ),
        (
            {"low": 1, "high": 8, "step": 2, "log": True},
            "`log` and `step` cannot be used together, but got log=True, step=2; drop one of"
            " them.",
        ),
        ({"low": 1, "high": 8, "log": "true"}, "`log` must be True or False, but got 'true'"),
    ],
)
def test_int_rejects(kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(SpaceError) as excinfo:
        Int(**kwargs)  # type: ignore[arg-type]
    assert message(excinfo).startswith(expected)


# -- Choice and Fixed ----------------------------------------------------------------------------


def test_choice_stores_a_tuple() -> None:
    param = Choice(["adam", "sgd"])
    assert param.choices == ("adam", "sgd")
    assert Choice(("adam", "sgd")) == param
    assert Choice(["a", 2, 2.5, True, None]).choices == ("a", 2, 2.5, True, None)
    assert Choice([0]).choices == (0,)


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        ([], "`choices` must not be empty; give at least one value."),
        (
            ["a", "b", "a"],
            "`choices` must be distinct, but 'a' appears twice; remove one.",
        ),
        (
            [1, True],
            "`choices` must be distinct, but 1 and True are equal in Python (and to Optuna);"
            " remove one.",
        ),
        ([0, 0.0], "`choices` must be distinct, but 0 and 0.0 are equal"),
        (
            ["a", [1, 2]],
            "`choices` must be str, int, float, bool or None, but item 2 is a list; use a string"
            " and convert it in your objective.",
        ),
        ([{"a": 1}], "`choices` must be str, int, float, bool or None, but item 1 is a dict"),
        ([math.nan], "item 1 of `choices` must be finite, but got nan"),
        ("adam", "`choices` must be a list of values, but got 'adam'; write e.g. Choice(["),
        ({"a", "b"}, "`choices` must be a list of values, but got a set"),
    ],
)
def test_choice_rejects(choices: object, expected: str) -> None:
    with pytest.raises(SpaceError) as excinfo:
        Choice(choices)  # type: ignore[arg-type]
    assert message(excinfo).startswith(expected)


def test_fixed() -> None:
    for value in ("a", "", 7, 2.5, True, False, None):
        assert Fixed(value).value == value
    with pytest.raises(SpaceError) as excinfo:
        Fixed([1, 2])  # type: ignore[arg-type]
    assert message(excinfo) == (
        "the value must be str, int, float, bool or None, but got a list; use Choice for a list"
        " of options"
    )
    with pytest.raises(SpaceError, match="must be finite, but got inf"):
        Fixed(math.inf)
    with pytest.raises(SpaceError, match="but got a dict"):
        Fixed({})  # type: ignore[arg-type]


# -- equality and immutability -------------------------------------------------------------------


def test_equality_is_type_strict() -> None:
    assert Fixed(1) != Fixed(1.0)
    assert Fixed(1) != Fixed(True)
    assert Fixed(0) != Fixed(None)
    assert Choice([1]) != Choice([True])
    assert Choice(["a", "b"]) != Choice(["b", "a"])
    assert Fixed(1, when={"a": 1}) != Fixed(1, when={"a": 1.0})
    assert Float(0, 1) != Int(0, 1)
    assert Fixed(1) == Fixed(1) and hash(Fixed(1)) == hash(Fixed(1))
    assert len({Fixed(1), Fixed(1.0), Fixed(True), Fixed(1)}) == 3
    assert Float(0, 1).__eq__("x") is NotImplemented


def test_params_are_frozen() -> None:
    param = Float(0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        param.low = 2.0  # type: ignore[misc]
    assert isinstance(param, Param)  # the alias is a runtime union
    assert not isinstance(3, Param)


# -- conditions (when) ---------------------------------------------------------------------------


def test_when_is_normalized_in_the_given_order() -> None:
    param = Float(0, 1, when={"opt": "sgd", "layers": [2, 3], "a": ("x",)})
    assert param.when == (("opt", ("sgd",)), ("layers", (2, 3)), ("a", ("x",)))
    assert Float(0, 1, when=[("opt", "sgd")]) == Float(0, 1, when={"opt": ["sgd"]})
    assert Float(0, 1, when={}) == Float(0, 1)
    assert Fixed(1, when={"a": [1, 1, True]}).when == (("a", (1, True)),)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (["opt"], "`when` must map parameter names to required values, but got an item"),
        ("opt=sgd", "`when` must map parameter names to required values, e.g. {'opt': 'sgd'}"),
        ({1: "a"}, "`when` must name parameters with strings, but got 1"),
        ({"opt": []}, "the condition on 'opt' must require a value or a non-empty list"),
        ({"opt": {"a": 1}}, "the condition on 'opt' must require a value or a list of values"),
        ({"opt": [[1]]}, "the values of the condition on 'opt' must be str, int"),
        ({"opt": math.nan}, "the condition on 'opt' must be finite, but got nan"),
        ([("a", 1), ("a", 2)], "`when` names 'a' twice; give one condition per name"),
    ],
)
def test_when_rejects(when: object, expected: str) -> None:
    with pytest.raises(SpaceError) as excinfo:
        Fixed(1, when=when)  # type: ignore[arg-type]
    assert message(excinfo).startswith(expected)


# -- SearchSpace ---------------------------------------------------------------------------------


def example() -> SearchSpace:
    return SearchSpace(
        {
            "lr": Float(1e-5, 1e-1, log=True),
            "layers": Int(1, 4),
            "opt": ["adam", "sgd"],
            "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
            "nesterov": Choice([True, False], when={"momentum": 0.9}),
            "seed": 7,
        }
    )


def test_space_mapping_protocol() -> None:
    space = example()
    assert space.names == ("lr", "layers", "opt", "momentum", "nesterov", "seed")
    assert list(space) == list(space.names)
    assert len(space) == 6
    assert space["opt"] == Choice(["adam", "sgd"])
    assert space["seed"] == Fixed(7)
    assert "lr" in space and "nope" not in space
    assert 3 not in space  # type: ignore[comparison-overlap]
    assert dict(space.items())["layers"] == Int(1, 4)
    with pytest.raises(KeyError):
        space["nope"]
    assert space == example() and hash(space) == hash(example())
    assert space != SearchSpace({"lr": Float(1e-5, 1e-1, log=True)})
    assert space != dict(space.items())
    assert SearchSpace() == SearchSpace({}) and len(SearchSpace()) == 0
    assert SearchSpace({"x": (1, 2)})["x"] == Choice([1, 2])
    assert SearchSpace({"x": None})["x"] == Fixed(None)
    assert "SearchSpace({'lr': Float(" in repr(space)


def test_space_equality_is_ordered() -> None:
    assert SearchSpace({"a": 1, "b": 2}) != SearchSpace({"b": 2, "a": 1})


def test_space_is_immutable() -> None:
    space = example()
    with pytest.raises(AttributeError):
        space.x = 1
    with pytest.raises(TypeError):
        space["x"] = Fixed(1)  # type: ignore[index]


@pytest.mark.parametrize("name", ["lr", "_x", "optim.lr", "a-b", "model/units", "L2.x-y/z_0"])
def test_valid_names(name: str) -> None:
    assert SearchSpace({name: 1}).names == (name,)


@pytest.mark.parametrize("name", ["", "1x", "/lr", ".lr", "-x", "a b", "a=b", "é", "a\nb", "x:y"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(SpaceError, match="invalid parameter name") as excinfo:
        SearchSpace({name: 1})
    assert "a name starts with a letter or '_'" in message(excinfo)


def test_space_rejects_bad_entries() -> None:
    with pytest.raises(SpaceError, match=r"parameter names must be strings, but got 1 \(int\)"):
        SearchSpace({1: 2})  # type: ignore[dict-item]
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace({"x": object()})
    assert message(excinfo).startswith(
        "the definition of 'x' must be a Float, Int, Choice or Fixed (or a scalar for Fixed, a"
        " list for Choice), but got an object"
    )
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace({"x": [1, 1]})
    assert (
        message(excinfo) == "`choices` must be distinct for 'x', but 1 appears twice; remove one."
    )
    with pytest.raises(SpaceError, match="built from a mapping"):
        SearchSpace([("x", 1)])  # type: ignore[arg-type]


def test_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        Float(1, 0)
    assert SpaceError("x").exit_code == 2


def test_condition_on_unknown_param() -> None:
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace({"optim": ["a"], "m": Float(0, 1, when={"optm": "a"})})
    assert (
        message(excinfo)
        == "'m' has a condition on 'optm', which is not in the space; did you mean 'optim'?"
    )
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace({"m": Float(0, 1, when={"zzz": "a"})})
    assert message(excinfo) == (
        "'m' has a condition on 'zzz', which is not in the space; define it before 'm' or remove"
        " the condition"
    )


def test_condition_on_later_param() -> None:
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace({"m": Float(0, 1, when={"opt": "sgd"}), "opt": ["adam", "sgd"]})
    assert message(excinfo) == (
        "'m' has a condition on 'opt', which is defined after it; define 'opt' before 'm'"
        " (conditions may only name earlier parameters)"
    )


def test_condition_on_itself() -> None:
    with pytest.raises(SpaceError, match="'m' has a condition on itself"):
        SearchSpace({"m": Choice([1, 2], when={"m": 1})})


def test_condition_with_impossible_value() -> None:
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace(
            {"opt": Choice(["adam", "rmsprop"]), "momentum": Float(0, 1, when={"opt": "sgd"})}
        )
    assert message(excinfo) == (
        "the condition opt='sgd' of 'momentum' can never hold: 'opt' takes one of 'adam',"
        " 'rmsprop'; change the condition or the definition of 'opt'"
    )


@pytest.mark.parametrize(
    ("target", "value", "possible"),
    [
        (Choice(["a", "b"]), "b", True),
        (Choice([1, 2]), 2.0, True),  # numbers compare by value
        (Choice([1, 2]), True, False),  # but a bool is not a number here
        (Choice([True, False]), 1, False),
        (Choice([None, "x"]), None, True),
        (Fixed(7), 7, True),
        (Fixed(7), 8, False),
        (Fixed("7"), 7, False),
        (Int(1, 4), 4, True),
        (Int(1, 4), 5, False),
        (Int(1, 4), 2.0, False),
        (Int(1, 4), True, False),
        (Int(32, 512, step=32), 64, True),
        (Int(32, 512, step=32), 65, False),
        (Float(0, 1), 0.5, True),
        (Float(0, 1), 1, True),
        (Float(0, 1), 1.5, False),
        (Float(0, 1), "0.5", False),
    ],
)
def test_condition_values_must_be_possible(target: Param, value: object, possible: bool) -> None:
    params = {"t": target, "x": Fixed(1, when={"t": value})}
    if possible:
        assert SearchSpace(params)["x"].when == (("t", (value,)),)
    else:
        with pytest.raises(SpaceError, match="can never hold: 't' takes"):
            SearchSpace(params)


def test_membership_condition_checks_every_value() -> None:
    base = {"opt": Choice(["adam", "adamw", "sgd"])}
    SearchSpace({**base, "beta": Float(0, 1, when={"opt": ["adam", "adamw"]})})
    with pytest.raises(SpaceError, match="the condition opt='nadam' of 'beta' can never hold"):
        SearchSpace({**base, "beta": Float(0, 1, when={"opt": ["adam", "nadam"]})})


def test_is_active() -> None:
    space = example()
    assert space.is_active("lr", {})
    assert space.is_active("momentum", {"opt": "sgd"})
    assert not space.is_active("momentum", {"opt": "adam"})
    assert not space.is_active("momentum", {})
    assert space.is_active("nesterov", {"opt": "sgd", "momentum": 0.9})
    assert not space.is_active("nesterov", {"opt": "sgd", "momentum": 0.5})
    # A condition on an inactive parameter does not hold, whatever value is lying around.
    assert not space.is_active("nesterov", {"opt": "adam", "momentum": 0.9})
    with pytest.raises(KeyError):
        space.is_active("nope", {})


def test_is_active_membership_and_types() -> None:
    space = SearchSpace(
        {
            "opt": ["adam", "adamw", "sgd"],
            "flag": [True, False],
            "n": Int(1, 4),
            "beta": Float(0, 1, when={"opt": ["adam", "adamw"], "flag": True, "n": [1, 2]}),
        }
    )
    assert space.is_active("beta", {"opt": "adamw", "flag": True, "n": 2})
    assert not space.is_active("beta", {"opt": "sgd", "flag": True, "n": 2})
    assert not space.is_active("beta", {"opt": "adam", "flag": 1, "n": 2})  # 1 is not True
    assert not space.is_active("beta", {"opt": "adam", "flag": True, "n": 3})
    assert space.is_active("beta", {"opt": "adam", "flag": True, "n": 2.0})


def test_merged_other_wins_and_keeps_position() -> None:
    base = SearchSpace({"a": Float(0, 1), "b": Int(1, 4), "c": 3})
    merged = base.merged(SearchSpace({"b": Int(1, 8), "d": ["x", "y"]}))
    assert merged.names == ("a", "b", "c", "d")
    assert merged["b"] == Int(1, 8)
    assert merged["d"] == Choice(["x", "y"])
    assert base.merged(SearchSpace()) == base
    assert SearchSpace().merged(base) == base


def test_merged_moves_a_parameter_after_its_condition() -> None:
    base = SearchSpace({"lr": Float(0, 1), "layers": Int(1, 4)})
    other = SearchSpace({"opt": ["adam", "sgd"], "lr": Float(0, 1, when={"opt": "sgd"})})
    merged = base.merged(other)
    assert merged.names == ("layers", "opt", "lr")
    assert merged["lr"].when == (("opt", ("sgd",)),)


def test_merged_revalidates() -> None:
    base = SearchSpace({"opt": ["adam", "sgd"], "m": Float(0, 1, when={"opt": "sgd"})})
    with pytest.raises(SpaceError, match="the condition opt='sgd' of 'm' can never hold"):
        base.merged(SearchSpace({"opt": ["adam"]}))
    with pytest.raises(SpaceError, match="can only merge a SearchSpace"):
        base.merged({"x": 1})  # type: ignore[arg-type]


def test_pickle_copy_and_replace() -> None:
    space = example()
    assert pickle.loads(pickle.dumps(space)) == space
    assert copy.deepcopy(space) == space and copy.copy(space) == space
    for param in space.values():
        assert pickle.loads(pickle.dumps(param)) == param
    momentum = space["momentum"]
    assert isinstance(momentum, Float)
    assert dataclasses.replace(momentum, high=0.5) == Float(0.0, 0.5, when={"opt": "sgd"})
    with pytest.raises(SpaceError, match="swap the bounds"):
        dataclasses.replace(momentum, low=2.0)


def test_the_package_is_pure() -> None:
    """hpsweep.space imports only the standard library, hpsweep._errors and itself."""
    import hpsweep.space

    package = Path(hpsweep.space.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                if isinstance(node, ast.Name):
                    assert node.id not in ("eval", "exec", "literal_eval"), path
                continue
            for module in modules:
                top = module.split(".")[0]
                allowed = module == "hpsweep._errors" or module.startswith("hpsweep.space")
                assert allowed or top in sys.stdlib_module_names, f"{path.name} imports {module}"
