"""The command-line grammar of a parameter: ``-p SPEC``, one parameter per spec.

::

    spec      := NAME '=' value [ 'if' condition { 'and' condition } ]
    value     := 'float' '(' NUMBER ',' NUMBER { ',' option } ')'     option := 'log' ['=' BOOL]
               | 'int' '(' NUMBER ',' NUMBER { ',' option } ')'                | 'step' '=' NUMBER
                                                            (float only)  | 'digits' '=' NUMBER
               | 'choice' '(' scalar { ',' scalar } ')'         ('categorical', 'choices' too)
               | 'fixed' '(' scalar ')'
               | scalar                                         (a fixed value)
    condition := NAME '=' scalar | NAME 'in' '(' scalar { ',' scalar } ')'
    scalar    := WORD | QUOTED

Whitespace may surround every token. A WORD is a run of characters other than whitespace and
``( ) , = ' "``; it reads as an int (``-2``, ``1_000``), a float (``1e-5``, ``.5``), a bool
(``true``/``false``, any case), None (``none``/``null``, any case) or else a string. A QUOTED
string is in single or double quotes, with ``\\\\``, ``\\'`` and ``\\"`` as escapes (any other
backslash is kept as is). ``if``, ``and`` and ``in`` are keywords only where the grammar expects
them. Positions in messages count characters from 1.

A hand-written tokenizer and recursive-descent parser; nothing here evaluates user text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn
from typing import TypeAlias

from hpsweep._errors import SpaceError
from hpsweep.space._params import NAME_RE
from hpsweep.space._params import Choice
from hpsweep.space._params import Conditions
from hpsweep.space._params import Fixed
from hpsweep.space._params import Float
from hpsweep.space._params import Int
from hpsweep.space._params import Param
from hpsweep.space._params import Scalar
from hpsweep.space._params import SearchSpace
from hpsweep.space._params import _ParamError
from hpsweep.space._params import looks_numeric
from hpsweep.space._params import parse_number
from hpsweep.space._params import suggest
from hpsweep.space._params import type_word

__all__ = ["parse_cli", "render_cli", "render_scalar", "space_from_cli"]

_PUNCTUATION = "(),="
_QUOTES = "'\""
_FUNCTIONS = {
    "float": "float",
    "int": "int",
    "choice": "choice",
    "choices": "choice",
    "categorical": "choice",
    "fixed": "fixed",
}
_FUNCTION_HINTS = {
    "uniform": "float(LOW,HIGH)",
    "loguniform": "float(LOW,HIGH,log)",
    "log_uniform": "float(LOW,HIGH,log)",
    "reciprocal": "float(LOW,HIGH,log)",
    "quniform": "float(LOW,HIGH,step=Q)",
    "discrete_uniform": "float(LOW,HIGH,step=Q)",
    "randint": "int(LOW,HIGH)",
    "integer": "int(LOW,HIGH)",
    "range": "int(LOW,HIGH)",
    "qrandint": "int(LOW,HIGH,step=Q)",
    "const": "fixed(VALUE) or just NAME=VALUE",
    "constant": "fixed(VALUE) or just NAME=VALUE",
}
_EXAMPLES = {
    "float": "{name}=float(1e-5,1e-1,log)",
    "int": "{name}=int(1,8)",
    "choice": "{name}=choice(adam,sgd)",
    "fixed": "{name}=fixed(7)",
}
_Builder: TypeAlias = Callable[[Conditions], Param]
"""Makes the parameter once its conditions are read."""

_BARE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-+/:@]*")
_RESERVED = frozenset({"true", "false", "none", "null", "if", "and", "in"})


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "(", ")", ",", "=", "end"
    text: str  # as typed (quotes included)
    value: str  # a string's content; a word's text
    pos: int  # 0-based index of the first character

    def shown(self) -> str:
        if self.kind == "end":
            return "the end"
        text = self.text if len(self.text) <= 40 else self.text[:20] + "..." + self.text[-20:]
        return repr(text)


class _Parser:
    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.name = "lr"
        self.function: str | None = None
        self.stage = "name"
        self.tokens = self._tokenize()
        self.index = 0

    # -- errors --------------------------------------------------------------------------------

    def _lead(self) -> str:
        spec = self.spec if len(self.spec) <= 200 else self.spec[:100] + "..." + self.spec[-100:]
        return f"-p {spec!r}: "

    def _example(self) -> str:
        if self.stage == "name":
            return "lr=float(1e-5,1e-1,log)"
        if self.stage == "condition":
            return f"{self.name}=float(0,1) if opt=sgd and layers in (2,3)"
        template = _EXAMPLES.get(self.function or "", "{name}=float(0.0,1.0)")
        return template.format(name=self.name)

    def fail(self, message: str) -> NoReturn:
        raise SpaceError(self._lead() + message)

    def expected(self, what: str, token: _Token, hint: str = "") -> NoReturn:
        self.fail(
            f"expected {what} at position {token.pos + 1}, got {token.shown()};"
            f" {hint or 'write e.g. ' + self._example()}"
        )

    # -- tokens --------------------------------------------------------------------------------

    def _tokenize(self) -> list[_Token]:
        spec = self.spec
        tokens: list[_Token] = []
        i, n = 0, len(spec)
        while i < n:
            char = spec[i]
            if char.isspace():
                i += 1
            elif char in _PUNCTUATION:
                tokens.append(_Token(char, char, char, i))
                i += 1
            elif char in _QUOTES:
                j, chars = i + 1, []
                while j < n and spec[j] != char:
                    if spec[j] == "\\" and j + 1 < n and spec[j + 1] in "\\'\"":
                        j += 1
                    chars.append(spec[j])
                    j += 1
                if j >= n:
                    self.fail(
                        f"unterminated string starting at position {i + 1}; close it with {char}"
                    )
                tokens.append(_Token("string", spec[i : j + 1], "".join(chars), i))
                i = j + 1
            else:
                j = i
                while j < n and not (
                    spec[j].isspace() or spec[j] in _PUNCTUATION or spec[j] in _QUOTES
                ):
                    j += 1
                tokens.append(_Token("word", spec[i:j], spec[i:j], i))
                i = j
        tokens.append(_Token("end", "", "", n))
        return tokens

    def next(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def expect(self, kind: str, what: str) -> _Token:
        token = self.next()
        if token.kind != kind:
            self.expected(what, token)
        return token

    # -- grammar -------------------------------------------------------------------------------

    def parse(self) -> tuple[str, Param]:
        token = self.next()
        if token.kind != "word":
            self.expected("a parameter name", token)
        if not NAME_RE.fullmatch(token.text):
            self.fail(
                f"invalid parameter name {token.shown()} at position {token.pos + 1}; a name"
                " starts with a letter or '_' and contains only letters, digits, '_', '.', '-'"
                " and '/'"
            )
        self.name = token.text
        self.stage = "value"
        self.expect("=", "'=' after the name")
        build = self.value()
        when = self.conditions()
        try:
            return self.name, build(when)
        except _ParamError as error:
            self.fail(error.named(self.name))

    def value(self) -> _Builder:
        token = self.next()
        if token.kind == "word" and self.peek().kind == "(":
            return self.call(token)
        if token.kind in ("word", "string"):
            value = self.scalar_of(token)
            self.stage = "fixed"
            return lambda when: Fixed(value, when=when)
        self.expected("a value such as float(...), int(...), choice(...) or 7", token)

    def call(self, token: _Token) -> _Builder:
        function = _FUNCTIONS.get(token.text)
        if function is None:
            self.unknown_function(token)
        self.function = function
        self.next()  # "("
        if function == "choice":
            choices = self.scalars()
            return lambda when: Choice(choices, when=when)
        if function == "fixed":
            value = self.scalar()
            self.expect(")", "')'")
            return lambda when: Fixed(value, when=when)
        low = self.number()
        self.expect(",", "','")
        high = self.number()
        log: bool | None = None
        step: int | float | None = None
        digits: int | float | None = None
        while True:
            token = self.next()
            if token.kind == ")":
                break
            if token.kind != ",":
                self.expected("',' or ')'", token)
            option = self.next()
            if option.kind != "word":
                self.expected(f"an option ({self._options()})", option)
            if option.text == "log":
                if log is not None:
                    self.fail(f"log is given twice (position {option.pos + 1}); give it once")
                log = True
                if self.peek().kind == "=":
                    self.next()
                    log = self.boolean()
            elif option.text == "step":
                if step is not None:
                    self.fail(f"step is given twice (position {option.pos + 1}); give it once")
                self.expect("=", "'=' after step")
                step = self.number()
            elif option.text == "digits" and function == "float":
                if digits is not None:
                    self.fail(f"digits is given twice (position {option.pos + 1}); give it once")
                self.expect("=", "'=' after digits")
                digits = self.number()
            else:
                self.unknown_option(option)
        use_log = bool(log)
        if function == "float":
            return lambda when: Float(
                low,
                high,
                log=use_log,
                step=step,
                digits=digits,  # type: ignore[arg-type]
                when=when,
            )
        int_step = 1 if step is None else step
        return lambda when: Int(low, high, step=int_step, log=use_log, when=when)  # type: ignore[arg-type]

    def unknown_function(self, token: _Token) -> NoReturn:
        word = token.text.lower()
        if word in _FUNCTIONS:
            hint = f"write it in lower case: {word}(...)"
        elif word in _FUNCTION_HINTS:
            hint = f"write e.g. {self.name}={_FUNCTION_HINTS[word]}"
        else:
            close = suggest(word, ["float", "int", "choice", "fixed"])
            if close:
                hint = f"did you mean {close}(...)?"
            else:
                hint = "use float(...), int(...), choice(...) or fixed(...)"
        self.fail(f"unknown function {token.shown()} at position {token.pos + 1}; {hint}")

    def _options(self) -> str:
        """The options of the function being read, for messages."""
        return (
            "log, step=NUMBER and digits=N" if self.function == "float" else "log and step=NUMBER"
        )

    def unknown_option(self, token: _Token) -> NoReturn:
        if parse_number_or_none(token.text) is not None:
            self.fail(
                f"{self.function}() takes two numbers (low, high), then the options"
                f" {self._options()}; got a third number at position {token.pos + 1}; write e.g."
                f" {self._example()}"
            )
        if token.text == "digits":
            self.fail(
                f"digits= at position {token.pos + 1} applies to float(...) only; an int has"
                " no digits to round"
            )
        options = ["log", "step", "digits"] if self.function == "float" else ["log", "step"]
        close = suggest(token.text, options)
        hint = f"did you mean {close!r}?" if close else f"the options are {self._options()}"
        self.fail(f"unknown option {token.shown()} at position {token.pos + 1}; {hint}")

    def conditions(self) -> Conditions:
        token = self.next()
        if token.kind == "end":
            return ()
        if not (token.kind == "word" and token.text == "if"):
            hint = ""
            if self.stage == "fixed" and token.kind in ("word", "string"):
                hint = "quote a value that contains spaces, e.g. x='a b'"
            self.stage = "condition"
            self.expected("' if CONDITION' or the end", token, hint)
        self.stage = "condition"
        result: list[tuple[str, tuple[Scalar, ...]]] = []
        while True:
            name = self.next()
            if name.kind != "word" or not NAME_RE.fullmatch(name.text):
                self.expected("a parameter name", name)
            token = self.next()
            values: tuple[Scalar, ...]
            if token.kind == "=":
                values = (self.scalar(),)
            elif token.kind == "word" and token.text == "in":
                self.expect("(", "'(' after in")
                values = self.scalars()
            else:
                self.expected("'=' or 'in'", token)
            if any(name.text == seen for seen, _ in result):
                self.fail(
                    f"{name.text!r} is named twice in the conditions (position {name.pos + 1});"
                    f" use {name.text} in (A,B) for several allowed values"
                )
            result.append((name.text, values))
            token = self.next()
            if token.kind == "end":
                return tuple(result)
            if not (token.kind == "word" and token.text == "and"):
                self.expected("'and' or the end", token)

    def scalars(self) -> tuple[Scalar, ...]:
        """``scalar {',' scalar} ')'`` (the '(' is read)."""
        values = [self.scalar()]
        while True:
            token = self.next()
            if token.kind == ")":
                return tuple(values)
            if token.kind != ",":
                hint = ""
                if token.kind in "=(":
                    hint = f"quote values that contain {token.text!r}, e.g. 'a{token.text}b'"
                self.expected("',' or ')'", token, hint)
            values.append(self.scalar())

    def scalar(self) -> Scalar:
        token = self.next()
        if token.kind not in ("word", "string"):
            self.expected("a value", token)
        return self.scalar_of(token)

    def scalar_of(self, token: _Token) -> Scalar:
        if token.kind == "string":
            return token.value
        word = token.text.lower()
        if word in ("true", "false"):
            return word == "true"
        if word in ("none", "null"):
            return None
        try:
            number = parse_number(token.text)
        except SpaceError as error:
            self.fail(
                f"{error} at position {token.pos + 1}; quote it to use it as a string,"
                " or write a smaller number"
            )
        return token.text if number is None else number

    def number(self) -> int | float:
        token = self.next()
        value = self.scalar_of(token) if token.kind == "word" else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.expected("a number", token)
        return value

    def boolean(self) -> bool:
        token = self.next()
        if token.kind != "word" or token.text.lower() not in ("true", "false"):
            self.expected("true or false", token)
        return token.text.lower() == "true"


def parse_number_or_none(text: str) -> int | float | None:
    try:
        return parse_number(text)
    except SpaceError:
        return None


def parse_cli(spec: str) -> tuple[str, Param]:
    """``(name, param)`` from one ``-p`` spec such as ``lr=float(1e-5,1e-1,log)``.

    Raises :class:`SpaceError` (one line, naming the spec and the position) for anything else.
    """
    if not isinstance(spec, str):
        raise SpaceError(f"-p: expected a spec string, but got {type_word(spec)}")
    return _Parser(spec).parse()


def render_scalar(value: Scalar) -> str:
    """A scalar as the grammar writes it: ``true``, ``none``, ``7``, ``1e-05``, ``adam`` or a
    quoted string when a bare word would not read back as the same string."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if _BARE_RE.fullmatch(value) and value.lower() not in _RESERVED and not looks_numeric(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_cli(name: str, param: Param) -> str:
    """The canonical spec of a parameter: ``parse_cli(render_cli(name, p)) == (name, p)``."""
    for checked in (name, *(other for other, _ in getattr(param, "when", ()))):
        if not isinstance(checked, str) or not NAME_RE.fullmatch(checked):
            raise SpaceError(
                f"cannot write {checked!r} in a -p spec: a name starts with a letter or '_' and"
                " contains only letters, digits, '_', '.', '-' and '/'"
            )
    if isinstance(param, Float):
        args = [repr(param.low), repr(param.high)]
        if param.log:
            args.append("log")
        if param.step is not None:
            args.append(f"step={param.step!r}")
        if param.digits is not None:
            args.append(f"digits={param.digits}")
        text = f"float({','.join(args)})"
    elif isinstance(param, Int):
        args = [str(param.low), str(param.high)]
        if param.step != 1:
            args.append(f"step={param.step}")
        if param.log:
            args.append("log")
        text = f"int({','.join(args)})"
    elif isinstance(param, Choice):
        text = f"choice({','.join(render_scalar(c) for c in param.choices)})"
    elif isinstance(param, Fixed):
        text = render_scalar(param.value)
    else:
        raise SpaceError(f"expected a Float, Int, Choice or Fixed, but got {type_word(param)}")
    conditions = [
        f"{other}={render_scalar(values[0])}"
        if len(values) == 1
        else f"{other} in ({','.join(render_scalar(v) for v in values)})"
        for other, values in param.when
    ]
    if conditions:
        text += " if " + " and ".join(conditions)
    return f"{name}={text}"


def space_from_cli(specs: Sequence[str] | str) -> SearchSpace:
    """A :class:`SearchSpace` from ``-p`` specs (a single string is one spec). A name given twice
    is an error; conditions may only name parameters given earlier."""
    if isinstance(specs, str):
        specs = [specs]
    items: list[tuple[str, Param]] = []
    where: dict[str, str] = {}
    for spec in specs:
        name, param = parse_cli(spec)
        if name in where:
            raise SpaceError(
                f"-p {spec!r}: {name!r} is already defined by -p {where[name]!r}; give each"
                " parameter once"
            )
        where[name] = spec
        items.append((name, param))
    return SearchSpace._build(items, lambda name: f"-p {where[name]!r}: ")
