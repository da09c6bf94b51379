"""Checkers: verdicts on a recorded client history, each true / false / "unknown".

- `durability.check`: lost acknowledged writes, judged by the final reads;
- `linearizable.check_writes`: the writes (and cas) of each key form a linearizable register;
- `sequential.check`: each client's reads never go back in time and see its own writes;
- `linearizable.check_full`: linearizability including reads — opt-in, stricter than
  what some systems promise (ZooKeeper's followers may serve stale reads).

`check_all` runs them and composes the verdicts (false beats "unknown" beats true).
"""

from __future__ import annotations

from collections.abc import Iterable

from peerchaos.checker import durability, linearizable, sequential
from peerchaos.checker.result import CheckResult, Validity, compose, worst
from peerchaos.history import Op

__all__ = [
    "CheckResult",
    "Validity",
    "check_all",
    "compose",
    "durability",
    "linearizable",
    "sequential",
    "worst",
]

FULL_LINEARIZABILITY_NOTE = (
    "Not every system promises linearizable reads (a ZooKeeper follower may serve a stale "
    "read unless the client calls sync() first), so a violation here is a finding about "
    "the system under test, not an error of the framework."
)


def check_all(
    history: Iterable[Op], full: bool = False, time_budget_s: float = 10.0
) -> CheckResult:
    """Durability, linearizable writes and sequential reads; with `full`, linearizable reads too.

    The time budget bounds each linearizability search; running out gives "unknown".
    """
    ops = list(history)  # the checks each walk the history; a generator would run dry
    results = [
        durability.check(ops),
        linearizable.check_writes(ops, time_budget_s=time_budget_s),
        sequential.check(ops),
    ]
    if full:
        r = linearizable.check_full(ops, time_budget_s=time_budget_s)
        results.append(
            CheckResult(r.name, r.valid, {**r.details, "note": FULL_LINEARIZABILITY_NOTE})
        )
    return compose(results, name="all")
