from __future__ import annotations

import pytest

from hpsweep._errors import ConfigError
from hpsweep.runner import check_template
from hpsweep.runner._template import CommandTemplate
from hpsweep.runner._template import params_hash
from hpsweep.runner._template import render_value


def render(command: list[str], **values: object) -> list[str]:
    return CommandTemplate(command).render(values)


def test_placeholders_fill_argv_items() -> None:
    values = {"lr": 0.001, "optim.lr": 0.5, "trial.dir": "/runs/t-3", "layers": 4}
    command = [
        "train",
        "--lr={lr}",
        "--optim-lr",
        "{optim.lr}",
        "--out={trial.dir}/m.pt",
        "{layers}",
    ]
    assert render(command, **values) == [
        "train",
        "--lr=0.001",
        "--optim-lr",
        "0.5",
        "--out=/runs/t-3/m.pt",
        "4",
    ]


def test_dotted_placeholders_reach_into_nested_params() -> None:
    # what a trial's params look like: dotted space params and fixed groups nested
    values = {
        "optim": {"lr": 0.5, "betas": [0.9, 0.99]},
        "model": {"depth": 4, "act": {"name": "relu"}},
        "data.root": "/data",  # a key that holds a dot itself
        "aug.v2": {"p": 0.1},  # ... and has nested keys
        "trial": {"dir": "a param's"},
        "trial.dir": "/runs/t-3",  # the built-in wins over the nested param
    }
    command = [
        "{optim.lr}",
        "{model.depth}",
        "{model.act.name}",
        "{data.root}",
        "{aug.v2.p}",
        "{trial.dir}",
        "{optim.betas}",
        "--model={model}",
    ]
    assert render(command, **values) == [
        "0.5",
        "4",
        "relu",
        "/data",
        "0.1",
        "/runs/t-3",
        "[0.9, 0.99]",
        '--model={"depth": 4, "act": {"name": "relu"}}',
    ]


@pytest.mark.parametrize(
    "values", [{"optim": {"momentum": 0.9}}, {"optim": 0.1}, {"optim.lr.x": 1}, {}]
)
def test_dotted_placeholder_without_a_value_raises_key_error(values: dict[str, object]) -> None:
    with pytest.raises(KeyError, match=r"optim\.lr"):
        render(["--lr={optim.lr}"], **values)


def test_values_never_split_or_quote() -> None:
    assert render(["echo", "{name}"], name="a b; rm -rf /") == ["echo", "a b; rm -rf /"]


def test_braces_escape() -> None:
    assert render(["awk", "{{print $1}}", "{{{x}}}"], x=1) == ["awk", "{print $1}", "{1}"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-05, "1.0e-05"),
        (1e20, "1.0e+20"),
        (2.5e-07, "2.5e-07"),
        (0.1, "0.1"),
        (3.0, "3.0"),
        (0.30000000000000004, "0.30000000000000004"),
        (float("inf"), "inf"),
        (7, "7"),
        (True, "True"),
        (None, "None"),
        ("adam", "adam"),
        ([1, 2], "[1, 2]"),
        ({"a": 1}, '{"a": 1}'),
    ],
)
def test_render_value(value: object, text: str) -> None:
    assert render_value(value) == text


def test_rendered_floats_read_back_as_floats() -> None:
    yaml = pytest.importorskip("yaml")
    for value in (1e-05, 1e20, 3.0, 1.5e-300):
        assert yaml.safe_load(render_value(value)) == value
        assert float(render_value(value)) == value


def test_missing_value_raises_key_error() -> None:
    with pytest.raises(KeyError, match="momentum"):
        render(["--m={momentum}"])


def test_check_names_the_placeholder_the_item_and_close_names() -> None:
    with pytest.raises(ConfigError) as caught:
        check_template(["python", "train.py", "--lr={lrr}"], ["lr", "layers"])
    assert str(caught.value) == (
        "placeholder {lrr} in command item '--lr={lrr}' names no parameter; did you mean {lr}? "
        "(write '{{' and '}}' for literal braces)"
    )


def test_check_lists_known_names_without_a_close_one() -> None:
    with pytest.raises(ConfigError, match=r"known: \{trial\.id\}, .*\{study\.name\}, \{lr\}"):
        check_template(["{zzz}"], ["lr"])


def test_check_accepts_params_and_builtins() -> None:
    check_template(
        ["{trial.id}", "{trial.number}", "{trial.dir}", "{study.name}", "{optim.lr}"], ["optim.lr"]
    )
    check_template(["--ckpt={trial.dir}/{trial.params_hash}"], [])


def test_params_hash_is_shared_by_equal_params_only() -> None:
    params = {"lr": 0.001, "model": {"depth": 4, "act": "relu"}, "tags": [1, 2], "x": None}
    same = {"x": None, "tags": [1, 2], "model": {"act": "relu", "depth": 4}, "lr": 0.001}
    digest = params_hash(params)
    assert len(digest) == 32 and int(digest, 16) >= 0
    assert params_hash(same) == digest  # key order does not matter
    for other in (
        {**params, "lr": 0.0010000000000000002},  # one ulp apart
        {**params, "model": {"depth": 4.0, "act": "relu"}},  # 4.0 is not 4
        {**params, "x": "None"},
        {k: v for k, v in params.items() if k != "x"},
    ):
        assert params_hash(other) != digest, other


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("{lr", "has an unclosed '{'"),
        ("{a{b}", "has an unclosed '{'"),
        ("a}b", "has a lone '}'"),
        ("{}", "has an empty placeholder '{}'"),
    ],
)
def test_malformed_items(item: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        CommandTemplate(["x", item])


@pytest.mark.parametrize("command", [[], "python train.py"])
def test_command_must_be_a_list(command: object) -> None:
    with pytest.raises(ConfigError, match="non-empty list of arguments"):
        CommandTemplate(command)  # type: ignore[arg-type]
