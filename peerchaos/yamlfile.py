"""Reading a YAML file a person wrote: one document, or one line saying what is wrong.

PyYAML's `safe_load` lets the last of two equal keys win, raises `RecursionError` on a
document nested a few hundred levels deep and `UnicodeDecodeError` on a file that is not
UTF-8 — each a traceback or a silently different spec. Here each is a `SpecError` naming
the file and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from peerchaos.errors import SpecError

# Far beyond any spec or experiment (they nest four or five levels), far below Python's
# recursion limit, which PyYAML's composer would otherwise hit.
MAX_DEPTH = 50


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and documents nested deeper than MAX_DEPTH."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooDeep(mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base`: keys written beside it override, by design
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key; PyYAML says so itself below
                    continue
                if first is not None:
                    raise _Duplicate(key, first, key_node.start_mark.line + 1)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.line = mark.line + 1


class _Duplicate(Exception):
    def __init__(self, key: Any, first: int, line: int) -> None:
        self.key, self.first, self.line = key, first, line


def parse_yaml(text: str, where: str) -> Any:
    """The one document in `text`; SpecError naming `where` and the line otherwise."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no tags run code
    except _Duplicate as dup:
        raise SpecError(
            f"{where}: line {dup.line}: duplicate key {dup.key!r} (first at line {dup.first})"
        ) from None
    except _TooDeep as deep:
        raise SpecError(
            f"{where}: line {deep.line}: nested more than {MAX_DEPTH} levels deep"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise SpecError(f"{where}:{at} not valid YAML ({problem})") from None
    except RecursionError:  # a shape the depth guard does not see (e.g. aliases)
        raise SpecError(f"{where}: nested too deeply to read") from None


def read_yaml(path: Path, what: str = "file") -> Any:
    """Read and parse a YAML file; SpecError with one line for every way it can fail."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpecError(f"{path}: cannot read {what} ({error.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise SpecError(
            f"{path}: line {line}: not UTF-8 text (byte {raw[error.start]:#04x})"
        ) from None
    return parse_yaml(text, str(path))
