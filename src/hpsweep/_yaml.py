"""YAML reading with the errors hpsweep promises: file, line and key in one line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hpsweep._errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader (YAML 1.1 typing, as the seed systems use) that rejects duplicate
    keys instead of silently keeping the last one."""


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
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


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


def loads(text: str, *, source: str = "<string>") -> Any:
    if too_deep(text):
        raise ConfigError(
            f"{source}: brackets nest more than {MAX_DEPTH} levels deep; flatten the YAML"
        )
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
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


def load_file(path: str | Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    return loads(text, source=str(path))


def scalar(text: str) -> Any:
    """A command-line value typed as YAML would type it (``3`` → int, ``true`` → bool, ``none``
    → None); text that YAML cannot read stays a string."""
    if text.strip().lower() == "none":
        return None
    if too_deep(text):
        return text
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506
    except (yaml.YAMLError, ConfigError, RecursionError):
        return text
