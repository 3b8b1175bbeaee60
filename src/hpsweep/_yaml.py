"""YAML reading with the errors hpsweep promises: file, line and key in one line."""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any
from typing import TypeAlias

import yaml

from hpsweep._errors import ConfigError

KeyPath: TypeAlias = tuple[Hashable, ...]
"""Where a value sits in a YAML document: the mapping keys and list indexes that lead to it,
e.g. ``("space", "lr", "low")`` or ``("constraints", 1)``."""


class KeyLines:
    """The line of each mapping key and list item of a YAML file, by key path, so that an error
    about a value can name the line to fix."""

    def __init__(self, lines: dict[KeyPath, int | None]) -> None:
        self._lines = lines

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``'s key; for a path the file does not spell out (a default, a key
        under an alias written elsewhere), the line of its nearest ancestor. None when no
        ancestor is in the file, or the value was replaced (:meth:`replace`)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self._lines:
                return self._lines[path[:end]]
        return None

    def replace(self, path: KeyPath) -> None:
        """Record that ``path``'s value no longer comes from the file (``--set``, a variable or
        a flag replaced it): it and the keys under it have no line, and do not fall back to an
        ancestor's either."""
        for known in [known for known in self._lines if known[: len(path)] == path]:
            del self._lines[known]
        self._lines[path] = None


_Container: TypeAlias = dict[Any, Any] | list[Any]


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader (YAML 1.1 typing, as the seed systems use) that rejects duplicate
    keys instead of silently keeping the last one, and records the line of every key and item."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # id of each mapping and list built → (it, the line of each of its keys or indexes);
        # holding it keeps the id its own until the document is walked.
        self.item_lines: dict[int, tuple[_Container, dict[Hashable, int]]] = {}


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: a mapping key must be a scalar"
            ) from None
        if duplicate:
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: duplicate key {key!r} "
                f"(first on line {seen[key]}); keep only one"
            )
        seen[key] = key_node.start_mark.line + 1
    mapping = loader.construct_mapping(node, deep=True)
    loader.item_lines[id(mapping)] = (mapping, seen)
    return mapping


def _construct_sequence(loader: _StrictLoader, node: yaml.SequenceNode) -> list[Any]:
    items = loader.construct_sequence(node, deep=True)
    lines: dict[Hashable, int] = {
        index: item.start_mark.line + 1 for index, item in enumerate(node.value)
    }
    loader.item_lines[id(items)] = (items, lines)
    return items


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)
_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    _construct_sequence,
)


def _key_lines(
    document: object, item_lines: dict[int, tuple[_Container, dict[Hashable, int]]]
) -> KeyLines:
    """The :class:`KeyLines` of a loaded document. Each mapping and list is walked once, at its
    first place, so that aliases repeating it cannot make the walk long; at an alias, its keys
    have the alias's line (:meth:`KeyLines.line` falls back to it)."""
    lines: dict[KeyPath, int | None] = {}
    walked: set[int] = set()
    stack: list[tuple[KeyPath, object]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if id(value) not in item_lines or id(value) in walked:
            continue  # a scalar, or a value an alias repeats
        walked.add(id(value))
        container, found = item_lines[id(value)]
        children: list[tuple[Hashable, object]] = list(
            container.items() if isinstance(container, dict) else enumerate(container)
        )
        for key, _ in children:
            lines[path + (key,)] = found[key]
        stack.extend((path + (key,), child) for key, child in reversed(children))
    return KeyLines(lines)


MAX_DEPTH = 100
"""Brackets nested deeper than this are refused before PyYAML sees them: its scanner takes time
quadratic in the depth (30 kB of '[' take minutes), and its parser recurses."""


def too_deep(text: str) -> bool:
    """Whether ``text`` opens more than MAX_DEPTH flow brackets at once (counted everywhere, in
    quotes too: it errs only on absurd text)."""
    depth = 0
    for char in re.sub(r"[^\[\]{}]+", "", text):
        depth = depth + 1 if char in "[{" else max(0, depth - 1)
        if depth > MAX_DEPTH:
            return True
    return False


def load_file(path: str | Path) -> Any:
    return load_file_with_lines(path)[0]


def load_file_with_lines(path: str | Path) -> tuple[Any, KeyLines]:
    """The document in a YAML file, and the line of each of its keys and items."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    return _load(text, str(path))


def _load(text: str, source: str) -> tuple[Any, KeyLines]:
    if too_deep(text):
        raise ConfigError(
            f"{source}: brackets nest more than {MAX_DEPTH} levels deep; flatten the YAML"
        )
    try:
        loader = _StrictLoader(text)  # its reader refuses unprintable characters at once
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    except yaml.reader.ReaderError as error:
        raise ConfigError(
            f"{source}: character {error.character!r} at position {error.position + 1} is not "
            "allowed in YAML; remove it"
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{source}: {where}{error.problem}; fix the YAML syntax") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: invalid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise ConfigError(f"{source}: the YAML nests too deeply; flatten it") from None
    except ValueError as error:  # int() of a number with more digits than Python allows
        raise ConfigError(
            f"{source}: {' '.join(str(error).split())}; shorten the number"
        ) from None
    return document, _key_lines(document, loader.item_lines)


def scalar(text: str) -> Any:
    """A command-line value typed as YAML would type it (``3`` → int, ``true`` → bool, ``none``
    → None); text that YAML cannot read stays a string."""
    if text.strip().lower() == "none":
        return None
    if too_deep(text):
        return text
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506
    except (yaml.YAMLError, ConfigError, RecursionError, ValueError):  # ValueError: huge ints
        return text
