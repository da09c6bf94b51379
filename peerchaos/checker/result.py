"""A checker's verdict: valid true, false or "unknown", with details; verdicts compose.

"unknown" is an honest answer — a search that ran out of time, a history without the
data a check needs — and never counts as a pass: composing false with anything gives
false, "unknown" with true gives "unknown".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Validity = bool | Literal["unknown"]

# Worse verdicts rank lower; `compose` takes the minimum.
_RANK: dict[Any, int] = {False: 0, "unknown": 1, True: 2}

# Reports list at most this many offending cases; the counts say how many there were.
MAX_REPORTED = 20


@dataclass(frozen=True)
class CheckResult:
    name: str
    valid: Validity
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.valid is True or self.valid is False or self.valid == "unknown"):
            raise ValueError(f"check {self.name}: valid must be True, False or 'unknown'")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "valid": self.valid, "details": self.details}


def worst(verdicts: Iterable[Validity]) -> Validity:
    """False beats "unknown" beats True; no verdicts at all is True (nothing was violated)."""
    out: Validity = True
    for v in verdicts:
        if _RANK[v] < _RANK[out]:
            out = v
    return out


def compose(results: Iterable[CheckResult], name: str = "all") -> CheckResult:
    """One verdict for several checks; each check's own result stays in the details."""
    rs = list(results)
    return CheckResult(
        name=name,
        valid=worst(r.valid for r in rs),
        details={"results": {r.name: r.to_dict() for r in rs}},
    )
