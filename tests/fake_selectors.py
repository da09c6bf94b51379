"""Kubernetes label selectors, as the API server reads `?labelSelector=` (for the fake).

Requirements separated by commas, each `key`, `!key`, `key=value`, `key==value`,
`key!=value`, `key in (a,b)` or `key notin (a,b)`; all must hold. A `!=` or `notin`
requirement also matches an object without the key, as on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
SET = re.compile(rf"^(?P<key>{KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)$")
EQUALITY = re.compile(rf"^(?P<key>{KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{VALUE})$")
EXISTS = re.compile(rf"^(?P<bang>!?)\s*(?P<key>{KEY})$")

Requirement = tuple[str, str, frozenset[str]]  # key, operator, values


class SelectorError(ValueError):
    pass


def _split(selector: str) -> list[str]:
    """Top-level commas only: those inside `in (a,b)` belong to the requirement."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts]


def parse_selector(selector: str) -> list[Requirement]:
    if not selector.strip():
        return []
    requirements: list[Requirement] = []
    for part in _split(selector):
        if match := SET.match(part):
            values = frozenset(v.strip() for v in match.group("values").split(","))
            if not all(re.fullmatch(VALUE, v) for v in values):
                raise SelectorError(f"invalid value in {part!r}")
            requirements.append((match.group("key"), match.group("op"), values))
        elif match := EQUALITY.match(part):
            op = "!=" if match.group("op") == "!=" else "="
            requirements.append((match.group("key"), op, frozenset({match.group("value")})))
        elif match := EXISTS.match(part):
            op = "!" if match.group("bang") else "exists"
            requirements.append((match.group("key"), op, frozenset()))
        else:
            raise SelectorError(f"found {part!r}, expected a requirement")
    return requirements


def matches(requirements: list[Requirement], labels: Mapping[str, str]) -> bool:
    for key, op, values in requirements:
        present = key in labels
        holds = {
            "=": present and labels.get(key) in values,
            "in": present and labels.get(key) in values,
            "!=": not present or labels.get(key) not in values,
            "notin": not present or labels.get(key) not in values,
            "exists": present,
            "!": not present,
        }[op]
        if not holds:
            return False
    return True
