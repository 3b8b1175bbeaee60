"""Placeholders in command argv items: ``--lr={lr}``, ``--out={trial.dir}/model.pt``.

Each argv item is filled in on its own, so a value never splits into several arguments or reaches
a shell unless the user asked for one. ``{{`` and ``}}`` stand for literal braces.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from hpsweep._errors import ConfigError

BUILTINS = ("trial.id", "trial.number", "trial.dir", "trial.params_hash", "study.name")
"""Placeholders every trial fills in, besides its parameters (built-ins win over a parameter
with the same name)."""


@dataclass(frozen=True)
class _Placeholder:
    name: str
    path: tuple[str, ...]
    """``name`` split at its dots, to find it in nested params (``optim.lr``)."""


_Part = str | _Placeholder


class CommandTemplate:
    """A command whose argv items may hold placeholders; parsing errors raise :class:`ConfigError`
    here, before any trial starts."""

    def __init__(self, command: Sequence[str]) -> None:
        if isinstance(command, str) or not command:
            raise ConfigError(
                f"a command must be a non-empty list of arguments, got {command!r} "
                "(a string is never split into arguments)"
            )
        self._items = [(item, _parse(item)) for item in command]
        self.names = frozenset(
            part.name
            for _, parts in self._items
            for part in parts
            if isinstance(part, _Placeholder)
        )
        """Every name the command's placeholders use."""

    def check(self, params: Iterable[str]) -> None:
        """Raise :class:`ConfigError` for the first placeholder that names neither a parameter
        (of ``params``) nor a built-in."""
        known = [*BUILTINS, *params]
        for item, parts in self._items:
            for part in parts:
                if isinstance(part, _Placeholder) and part.name not in known:
                    raise ConfigError(_unknown_message(part.name, item, known))

    def render(self, values: Mapping[str, object]) -> list[str]:
        """The argv with every placeholder replaced by :func:`render_value` of its value.

        A placeholder's value is ``values[name]`` or, for a dotted name, the value at that path
        in nested mappings: ``{optim.lr}`` is ``values["optim"]["lr"]``, as trials receive
        dotted parameters. Raises :class:`KeyError` naming a placeholder without a value (a
        conditional parameter that is inactive in this trial).
        """
        return [
            "".join(
                part if isinstance(part, str) else render_value(_value(values, part))
                for part in parts
            )
            for _, parts in self._items
        ]


def check_template(command: Sequence[str], params: Iterable[str]) -> None:
    """Raise :class:`ConfigError` when ``command`` is malformed or uses a placeholder that names
    neither one of ``params`` nor a built-in (``trial.id``, ``trial.number``, ``trial.dir``,
    ``trial.params_hash``, ``study.name``)."""
    CommandTemplate(command).check(params)


def render_value(value: object) -> str:
    """How a value is written into an argv item.

    Floats use ``repr`` (full precision) but always with a ``.`` in the mantissa, ``1.0e-05``
    rather than ``1e-05``: YAML 1.1 readers (PyYAML, so SpeechBrain's overrides) take ``1e-05`` for
    a string, and every number parser accepts the longer form. Lists and dicts are JSON; anything
    else (str, int, bool, None) is ``str()``: ``True``, ``None``.
    """
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def params_hash(params: Mapping[str, object]) -> str:
    """A digest of what a trial receives (32 hex digits): trials with equal params share it, as
    Oríon's ``{trial.hash_params}`` does, e.g. to name a checkpoint folder a rerun finds again."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=render_value)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _parse(item: str) -> list[_Part]:
    parts: list[_Part] = []
    literal: list[str] = []
    index = 0
    while index < len(item):
        char = item[index]
        if char in "{}" and item.startswith(char * 2, index):
            literal.append(char)
            index += 2
        elif char == "}":
            raise ConfigError(
                f"command item {item!r} has a lone '}}'; write '}}}}' for a literal brace"
            )
        elif char == "{":
            end = item.find("}", index + 1)
            name = item[index + 1 : end]
            if end < 0 or "{" in name:
                raise ConfigError(
                    f"command item {item!r} has an unclosed '{{'; write '{{{{' for a literal brace"
                )
            if not name:
                raise ConfigError(
                    f"command item {item!r} has an empty placeholder '{{}}'; name a parameter, "
                    "e.g. '{lr}', or write '{{}}' for literal braces"
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_Placeholder(name, tuple(name.split("."))))
            index = end + 1
        else:
            literal.append(char)
            index += 1
    if literal:
        parts.append("".join(literal))
    return parts


_MISSING = object()


def _value(values: Mapping[str, object], placeholder: _Placeholder) -> object:
    """The placeholder's value: the key of its whole name first (a built-in, or a key holding
    a dot), so the common case costs one lookup; else the nested path, see :func:`_find`."""
    value = values.get(placeholder.name, _MISSING)
    if value is _MISSING and len(placeholder.path) > 1:
        value = _find(values, placeholder.path)
    if value is _MISSING:
        raise KeyError(placeholder.name)
    return value


def _find(node: Mapping[str, object], path: tuple[str, ...]) -> object:
    """The value at ``path`` in nested mappings, trying the longest keys first: sampled
    ``a.b.c`` lives at ``["a"]["b"]["c"]``, but a fixed param may itself be named ``a.b``
    (``{"a.b": {"c": 1}}``); :data:`_MISSING` when there is none."""
    for cut in range(len(path), 0, -1):
        value = node.get(".".join(path[:cut]), _MISSING)
        if value is _MISSING:
            continue
        if cut == len(path):
            return value
        if isinstance(value, Mapping):
            found = _find(value, path[cut:])
            if found is not _MISSING:
                return found
    return _MISSING


def _unknown_message(name: str, item: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join("{" + match + "}" for match in close) + "?"
    else:
        shown = ", ".join("{" + match + "}" for match in known[:12])
        hint = f"known: {shown}{', ...' if len(known) > 12 else ''}"
    return (
        f"placeholder {{{name}}} in command item {item!r} names no parameter; {hint} "
        "(write '{{' and '}}' for literal braces)"
    )
