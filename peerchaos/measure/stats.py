"""Honest statistics over trials: censored values counted, one percentile definition.

A figure a trial did not reach before its window ended is *censored*: we know only that
it is larger than the window ("> 14.2 s"). It still counts in `n`; ranked, it sorts
after every value that was reached, so a p95 or max that lands on it is itself censored
and reported as a lower bound, never as a number it did not reach.

Percentiles are nearest-rank (the value at rank ⌈q·n⌉), everywhere: the summary, the
report and the Chaos Toolkit probes. For an even n the median is the lower middle value,
a value that was actually measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

STATS = ("last", "p50", "p95", "max")
QUANTILES = {"p50": 0.5, "p95": 0.95, "max": 1.0}


@dataclass(frozen=True)
class Value:
    """One trial's figure: seconds, or censored with the lower bound the window gave."""

    s: float | None
    censored: bool = False
    at_least: float | None = None

    @classmethod
    def reached(cls, s: float) -> Value:
        return cls(float(s))

    @classmethod
    def cut_short(cls, at_least: float) -> Value:
        return cls(None, True, max(0.0, float(at_least)))

    def text(self) -> str:
        if self.censored:
            return f"> {self.at_least:.3f} s" if self.at_least is not None else "censored"
        return "—" if self.s is None else f"{self.s:.3f} s"


def nearest_rank(n: int, q: float) -> int:
    """The 0-based index of the q-quantile among n sorted values (nearest rank)."""
    return min(n - 1, max(0, math.ceil(q * n) - 1))


def _sort_key(value: Value) -> tuple[int, float]:
    if value.censored:
        return (1, value.at_least or 0.0)
    return (0, value.s if value.s is not None else 0.0)


def statistic(values: list[Value], stat: str) -> Value | None:
    """`last`, `p50`, `p95` or `max` of the values (None when there are none)."""
    if stat not in STATS:
        raise ValueError(f"stat must be one of {', '.join(STATS)} (got {stat!r})")
    if not values:
        return None
    if stat == "last":
        return values[-1]
    ranked = sorted(values, key=_sort_key)
    picked = ranked[nearest_rank(len(ranked), QUANTILES[stat])]
    if picked.censored:
        # Ranked after every value that was reached, it is at least the largest of those.
        reached = [v.s for v in values if not v.censored and v.s is not None]
        return Value(None, True, max([picked.at_least or 0.0, *reached]))
    return picked


def distribution(values: list[Value]) -> dict[str, Any]:
    """n (censored included), n_censored, p50 / p95 / max — a censored one as null plus
    `<stat>_censored: true` and `<stat>_at_least`."""
    result: dict[str, Any] = {"n": len(values), "n_censored": sum(v.censored for v in values)}
    for stat in ("p50", "p95", "max"):
        picked = statistic(values, stat)
        result[stat] = None if picked is None else picked.s
        if picked is not None and picked.censored:
            result[f"{stat}_censored"] = True
            result[f"{stat}_at_least"] = picked.at_least
    return result


def figure(key: str, value: Value) -> dict[str, Any]:
    """A trial's figure as summary keys: `key` (seconds or null), `<base>_censored` and,
    when censored, the lower bound under `censored_at_s`."""
    base = key.removesuffix("_s")
    fields: dict[str, Any] = {key: value.s, f"{base}_censored": value.censored}
    if value.censored:
        fields["censored_at_s"] = {key: value.at_least}
    return fields


def from_trial(trial: dict[str, Any], key: str) -> Value | None:
    """The Value a summary trial holds under `key` (None when the trial has no such figure)."""
    base = key.removesuffix("_s")
    if trial.get(f"{base}_censored"):
        bound = (trial.get("censored_at_s") or {}).get(key)
        return Value(None, True, bound if isinstance(bound, int | float) else None)
    value = trial.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Value(float(value))
