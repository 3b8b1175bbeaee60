"""The CLI grammar: parse_cli / render_cli / SearchSpace.from_cli."""

from __future__ import annotations

import pytest

from hpsweep._errors import SpaceError
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import Param
from hpsweep.space import SearchSpace
from hpsweep.space import parse_cli
from hpsweep.space import render_cli


def error(spec: str) -> str:
    with pytest.raises(SpaceError) as excinfo:
        parse_cli(spec)
    text = str(excinfo.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("spec", "name", "param"),
    [
        ("lr=float(1e-5,1e-1,log)", "lr", Float(1e-5, 1e-1, log=True)),
        ("x=float(0,1,step=0.1)", "x", Float(0, 1, step=0.1)),
        ("x=float(0,1,digits=3)", "x", Float(0, 1, digits=3)),
        ("x=float(1e-5,1,log,digits=2.0)", "x", Float(1e-5, 1, log=True, digits=2)),
        ("x=float(0,1,log=false)", "x", Float(0, 1)),
        ("x=float(0.5,1,log=TRUE)", "x", Float(0.5, 1, log=True)),
        ("x=float(-1,+1)", "x", Float(-1, 1)),
        ("x=float(.5,1.)", "x", Float(0.5, 1)),
        ("layers=int(1,4)", "layers", Int(1, 4)),
        ("units=int(32,512,step=32)", "units", Int(32, 512, step=32)),
        ("units=int(32,1_024,step=32.0)", "units", Int(32, 1024, step=32)),
        ("n=int(1,1024,log)", "n", Int(1, 1024, log=True)),
        ("n=int(1.0,8)", "n", Int(1, 8)),
        ("opt=choice(adam,sgd)", "opt", Choice(["adam", "sgd"])),
        ("opt=categorical(adam,sgd)", "opt", Choice(["adam", "sgd"])),
        ("opt=choices(adam)", "opt", Choice(["adam"])),
        (
            "act=choice('relu','gelu, fast',3,2.5,true,none)",
            "act",
            Choice(["relu", "gelu, fast", 3, 2.5, True, None]),
        ),
        ("b=choice(TRUE,False,NULL)", "b", Choice([True, False, None])),
        ("seed=7", "seed", Fixed(7)),
        ("seed=fixed(7)", "seed", Fixed(7)),
        ("name='7'", "name", Fixed("7")),
        ('name="7"', "name", Fixed("7")),
        ("name=''", "name", Fixed("")),
        ("name=hello", "name", Fixed("hello")),
        ("name=float", "name", Fixed("float")),  # a bare word not followed by '('
        ("x=none", "x", Fixed(None)),
        ("x=-2.5e-3", "x", Fixed(-2.5e-3)),
        ("x=nan", "x", Fixed("nan")),  # nan/inf are not numbers in the grammar
        ("path=/data/x.csv", "path", Fixed("/data/x.csv")),
        ("s='it\\'s'", "s", Fixed("it's")),
        ('s="say \\"hi\\""', "s", Fixed('say "hi"')),
        ("s='a\\\\b'", "s", Fixed("a\\b")),
        ("s='C:\\temp'", "s", Fixed("C:\\temp")),  # other backslashes are kept
        ("s='日本 語'", "s", Fixed("日本 語")),
        ("optim.lr=float(0,1)", "optim.lr", Float(0, 1)),
        ("a-b/c=1", "a-b/c", Fixed(1)),
        (
            "momentum=float(0.0,0.99) if opt=sgd",
            "momentum",
            Float(0.0, 0.99, when={"opt": "sgd"}),
        ),
        (
            "beta=float(0,1) if opt in (adam,adamw) and layers=2",
            "beta",
            Float(0, 1, when={"opt": ["adam", "adamw"], "layers": 2}),
        ),
        ("x=1 if flag=true and s='a b'", "x", Fixed(1, when={"flag": True, "s": "a b"})),
        ("if=1 if in in (if,and)", "if", Fixed(1, when={"in": ["if", "and"]})),
    ],
)
def test_parse(spec: str, name: str, param: Param) -> None:
    assert parse_cli(spec) == (name, param)


def test_whitespace_is_allowed_around_tokens() -> None:
    assert parse_cli(" lr = float ( 1e-5 , 1e-1 , log ) ") == parse_cli("lr=float(1e-5,1e-1,log)")
    assert parse_cli("x = float(0, 1, step = 0.5)  if  opt  in  ( a , b )  and  n = 2 ") == (
        "x",
        Float(0, 1, step=0.5, when={"opt": ["a", "b"], "n": 2}),
    )
    assert parse_cli("x=float(0,1)if opt=a") == ("x", Float(0, 1, when={"opt": "a"}))
    assert parse_cli("x=\t7\n") == ("x", Fixed(7))


def test_error_points_at_the_problem() -> None:
    assert error("lr=float(1e-5,,log)") == (
        "-p 'lr=float(1e-5,,log)': expected a number at position 15, got ','; write e.g."
        " lr=float(1e-5,1e-1,log)"
    )
    assert error("lr=float(1e-5") == (
        "-p 'lr=float(1e-5': expected ',' at position 14, got the end; write e.g."
        " lr=float(1e-5,1e-1,log)"
    )
    assert error("n=int(1,abc)") == (
        "-p 'n=int(1,abc)': expected a number at position 9, got 'abc'; write e.g. n=int(1,8)"
    )
    assert error("n=int(1,'8')") == (
        "-p \"n=int(1,'8')\": expected a number at position 9, got \"'8'\"; write e.g. n=int(1,8)"
    )
    assert error("x=float(0,true)").startswith("-p 'x=float(0,true)': expected a number at")
    assert error("opt=choice(a,,b)") == (
        "-p 'opt=choice(a,,b)': expected a value at position 14, got ','; write e.g."
        " opt=choice(adam,sgd)"
    )
    assert error("opt=choice()") == (
        "-p 'opt=choice()': expected a value at position 12, got ')'; write e.g."
        " opt=choice(adam,sgd)"
    )
    assert error("opt=choice(a b)") == (
        "-p 'opt=choice(a b)': expected ',' or ')' at position 14, got 'b'; write e.g."
        " opt=choice(adam,sgd)"
    )
    assert error("opt=choice(a=b)") == (
        "-p 'opt=choice(a=b)': expected ',' or ')' at position 13, got '='; quote values that"
        " contain '=', e.g. 'a=b'"
    )
    assert error("x=fixed(1,2)").startswith("-p 'x=fixed(1,2)': expected ')' at position 10")


def test_name_errors() -> None:
    assert error("") == (
        "-p '': expected a parameter name at position 1, got the end; write e.g."
        " lr=float(1e-5,1e-1,log)"
    )
    assert error("=float(0,1)").startswith("-p '=float(0,1)': expected a parameter name at")
    assert error("1x=3") == (
        "-p '1x=3': invalid parameter name '1x' at position 1; a name starts with a letter or"
        " '_' and contains only letters, digits, '_', '.', '-' and '/'"
    )
    assert error("lr float(0,1)") == (
        "-p 'lr float(0,1)': expected '=' after the name at position 4, got 'float'; write e.g."
        " lr=float(0.0,1.0)"
    )
    assert error("lr").startswith(
        "-p 'lr': expected '=' after the name at position 3, got the end"
    )
    assert error("lr=").startswith(
        "-p 'lr=': expected a value such as float(...), int(...), choice(...) or 7 at position 4"
    )


def test_unknown_functions_and_options() -> None:
    assert error("lr=uniform(0,1)") == (
        "-p 'lr=uniform(0,1)': unknown function 'uniform' at position 4; write e.g."
        " lr=float(LOW,HIGH)"
    )
    assert error("lr=loguniform(1e-5,1)") == (
        "-p 'lr=loguniform(1e-5,1)': unknown function 'loguniform' at position 4; write e.g."
        " lr=float(LOW,HIGH,log)"
    )
    assert error("n=randint(1,4)").endswith("write e.g. n=int(LOW,HIGH)")
    assert error("lr=flot(0,1)") == (
        "-p 'lr=flot(0,1)': unknown function 'flot' at position 4; did you mean float(...)?"
    )
    assert error("o=choise(a)").endswith("did you mean choice(...)?")
    assert error("o=Float(0,1)").endswith("write it in lower case: float(...)")
    assert error("o=zzz(0,1)").endswith("use float(...), int(...), choice(...) or fixed(...)")
    assert error("x=float(0,1,lgo)") == (
        "-p 'x=float(0,1,lgo)': unknown option 'lgo' at position 13; did you mean 'log'?"
    )
    assert error("x=float(0,1,zzz)").endswith("the options are log, step=NUMBER and digits=N")
    assert error("x=int(0,1,zzz)").endswith("the options are log and step=NUMBER")
    assert error("x=float(0,1,digts=3)").endswith("did you mean 'digits'?")
    assert error("x=float(0,1,0.5)") == (
        "-p 'x=float(0,1,0.5)': float() takes two numbers (low, high), then the options log,"
        " step=NUMBER and digits=N; got a third number at position 13; write e.g."
        " x=float(1e-5,1e-1,log)"
    )
    assert error("x=int(0,8,digits=2)") == (
        "-p 'x=int(0,8,digits=2)': digits= at position 11 applies to float(...) only; an int"
        " has no digits to round"
    )
    assert error("x=float(0,1,digits=3,digits=3)").startswith(
        "-p 'x=float(0,1,digits=3,digits=3)': digits is given twice (position 22)"
    )
    assert error("x=float(0,1,digits=0)").endswith(
        "`digits` must be between 1 and 17 for 'x', but got digits=0; a float has at most 17"
        " significant digits."
    )
    assert error("x=float(0,1,step=0.5,digits=2)").endswith(
        "`digits` and `step` cannot be used together for 'x', but got digits=2, step=0.5; a step"
        " grid already fixes the values, drop one of them."
    )
    assert error("x=float(0,1,log,log)").startswith(
        "-p 'x=float(0,1,log,log)': log is given twice (position 17)"
    )
    assert error("x=int(0,8,step=2,step=2)").startswith(
        "-p 'x=int(0,8,step=2,step=2)': step is given twice"
    )
    assert error("x=float(0.5,1,log=maybe)").startswith(
        "-p 'x=float(0.5,1,log=maybe)': expected true or false at position 19, got 'maybe'"
    )
    assert error("x=float(0,1,step)").startswith(
        "-p 'x=float(0,1,step)': expected '=' after step at position 17, got ')'"
    )
    assert error("x=float(0,1,)").startswith(
        "-p 'x=float(0,1,)': expected an option (log, step=NUMBER and digits=N) at position 13,"
        " got ')'"
    )


def test_condition_errors() -> None:
    assert error("x=1 opt=a") == (
        "-p 'x=1 opt=a': expected ' if CONDITION' or the end at position 5, got 'opt'; quote a"
        " value that contains spaces, e.g. x='a b'"
    )
    assert error("x=float(0,1) when opt=a") == (
        "-p 'x=float(0,1) when opt=a': expected ' if CONDITION' or the end at position 14, got"
        " 'when'; write e.g. x=float(0,1) if opt=sgd and layers in (2,3)"
    )
    assert error("x=1 if").startswith("-p 'x=1 if': expected a parameter name at position 7")
    assert error("x=1 if opt").startswith("-p 'x=1 if opt': expected '=' or 'in' at position 11")
    assert error("x=1 if opt=").startswith("-p 'x=1 if opt=': expected a value at position 12")
    assert error("x=1 if opt in a").startswith(
        "-p 'x=1 if opt in a': expected '(' after in at position 15, got 'a'"
    )
    assert error("x=1 if opt=a or n=2").startswith(
        "-p 'x=1 if opt=a or n=2': expected 'and' or the end at position 14, got 'or'"
    )
    assert error("x=1 if 2x=a").startswith("-p 'x=1 if 2x=a': expected a parameter name")
    assert error("x=1 if a=1 and a=2") == (
        "-p 'x=1 if a=1 and a=2': 'a' is named twice in the conditions (position 16); use a in"
        " (A,B) for several allowed values"
    )


def test_other_errors() -> None:
    assert error("x='abc") == (
        "-p \"x='abc\": unterminated string starting at position 3; close it with '"
    )
    assert error("x='abc\\'").startswith("-p \"x='abc\\\\'\": unterminated string")
    assert error("x=1e999") == (
        "-p 'x=1e999': the number '1e999' is out of range for a float at position 3; quote it"
        " to use it as a string, or write a smaller number"
    )
    assert error("lr=float(0.1,0.01)") == (
        "-p 'lr=float(0.1,0.01)': `low <= high` must hold for 'lr', but got low=0.1, high=0.01;"
        " swap the bounds."
    )
    assert error("o=choice(1,true)") == (
        "-p 'o=choice(1,true)': `choices` must be distinct for 'o', but 1 and True are equal in"
        " Python (and to Optuna); remove one."
    )
    assert error("x=\n").startswith("-p 'x=\\n': expected a value")
    with pytest.raises(SpaceError, match="expected a spec string, but got an int"):
        parse_cli(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "param", "spec"),
    [
        ("lr", Float(1e-5, 1e-1, log=True), "lr=float(1e-05,0.1,log)"),
        ("x", Float(0, 1, step=0.1), "x=float(0.0,1.0,step=0.1)"),
        ("x", Float(0, 1, digits=4), "x=float(0.0,1.0,digits=4)"),
        ("n", Int(1, 4), "n=int(1,4)"),
        ("u", Int(32, 512, step=32), "u=int(32,512,step=32)"),
        ("n", Int(1, 1024, log=True), "n=int(1,1024,log)"),
        ("o", Choice(["adam", "sgd"]), "o=choice(adam,sgd)"),
        (
            "a",
            Choice(["relu", "gelu, fast", 3, 2.5, True, None]),
            "a=choice(relu,'gelu, fast',3,2.5,true,none)",
        ),
        ("s", Fixed(7), "s=7"),
        ("s", Fixed("7"), "s='7'"),
        ("s", Fixed(1e16), "s=1e+16"),
        ("s", Fixed(-0.0), "s=-0.0"),
        ("s", Fixed(None), "s=none"),
        ("s", Fixed(False), "s=false"),
        ("s", Fixed("it's \\ ok"), "s='it\\'s \\\\ ok'"),
        ("p", Fixed("/data/x.csv"), "p='/data/x.csv'"),
        ("p", Fixed("data/x-1.csv"), "p=data/x-1.csv"),
        (
            "m",
            Float(0, 0.99, when={"opt": "sgd"}),
            "m=float(0.0,0.99) if opt=sgd",
        ),
        (
            "b",
            Float(0, 1, when={"opt": ["adam", "adamw"], "layers": 2}),
            "b=float(0.0,1.0) if opt in (adam,adamw) and layers=2",
        ),
    ],
)
def test_render(name: str, param: Param, spec: str) -> None:
    assert render_cli(name, param) == spec
    assert parse_cli(spec) == (name, param)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "a b",
        "a,b",
        "a=b",
        "(x)",
        "it's",
        'say "hi"',
        "\\",
        "1",
        "1e-3",
        "1_000",
        "007",
        "-5",
        ".5",
        "true",
        "False",
        "none",
        "NULL",
        "if",
        "and",
        "in",
        "nan",
        "inf",
        "Infinity",
        "é",
        "日本",
        "3x",
        "-x",
        "\n",
    ],
)
def test_strings_that_need_quotes(text: str) -> None:
    rendered = render_cli("s", Fixed(text))
    assert rendered.startswith("s='")
    assert parse_cli(rendered) == ("s", Fixed(text))
    assert parse_cli(render_cli("c", Choice([text, 0]))) == ("c", Choice([text, 0]))


@pytest.mark.parametrize("text", ["adam", "relu6", "x_y", "a.b", "a-b", "a/b", "A+B", "k:v"])
def test_plain_words_stay_bare(text: str) -> None:
    assert render_cli("s", Fixed(text)) == f"s={text}"


def test_render_rejects_names_the_grammar_cannot_read() -> None:
    with pytest.raises(SpaceError, match="cannot write 'a b' in a -p spec"):
        render_cli("a b", Fixed(1))
    with pytest.raises(SpaceError, match="cannot write 'x y' in a -p spec"):
        render_cli("a", Fixed(1, when={"x y": 1}))
    with pytest.raises(SpaceError, match="expected a Float, Int, Choice or Fixed"):
        render_cli("a", 3)  # type: ignore[arg-type]


def test_from_cli() -> None:
    space = SearchSpace.from_cli(["opt=choice(adam,sgd)", "m=float(0,0.99) if opt=sgd", "seed=7"])
    assert space == SearchSpace(
        {"opt": Choice(["adam", "sgd"]), "m": Float(0, 0.99, when={"opt": "sgd"}), "seed": 7}
    )
    assert SearchSpace.from_cli(space.to_cli()) == space
    assert SearchSpace.from_cli("seed=7") == SearchSpace({"seed": 7})
    assert SearchSpace.from_cli([]) == SearchSpace()


def test_from_cli_errors() -> None:
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace.from_cli(["x=1", "y=2", "x=float(0,1)"])
    assert str(excinfo.value) == (
        "-p 'x=float(0,1)': 'x' is already defined by -p 'x=1'; give each parameter once"
    )
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace.from_cli(["opt=choice(adam,rmsprop)", "m=float(0,1) if opt=sgd"])
    assert str(excinfo.value) == (
        "-p 'm=float(0,1) if opt=sgd': the condition opt='sgd' of 'm' can never hold: 'opt'"
        " takes one of 'adam', 'rmsprop'; change the condition or the definition of 'opt'"
    )
    with pytest.raises(SpaceError, match=r"^-p 'm=1 if opt=a': 'm' has a condition on 'opt'"):
        SearchSpace.from_cli(["m=1 if opt=a", "opt=choice(a)"])
