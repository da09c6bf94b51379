"""Lost acknowledged writes: after the faults heal, final reads must show no acked write undone.

For each final read F of a key (an ok read with `final=True`) and each acknowledged write
W (ok write or ok cas) that completed before F was invoked: W is lost iff the value F
returned is the initial value (the key is absent), or every write that produced that value
must precede W in real time (completed before W was invoked) — then nothing can order W
before it. A write concurrent with W, or any later one, may legitimately supersede W.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from peerchaos.checker.result import MAX_REPORTED, CheckResult
from peerchaos.history import Call, Op, calls, iter_keys

NAME = "durability"


def check(history: Iterable[Op]) -> CheckResult:
    """Acked writes against the final reads; "unknown" when there are no final reads."""
    lost: list[dict[str, Any]] = []
    phantoms: list[dict[str, Any]] = []
    checked: list[str] = []
    unchecked: list[str] = []
    acked_total = 0
    for key, cs in iter_keys(calls(history)):
        finals = [c for c in cs if c.f == "read" and c.outcome == "ok" and c.final]
        acked = [c for c in cs if c.f in ("write", "cas") and c.outcome == "ok"]
        if not finals:
            if acked:
                unchecked.append(key)
            continue
        checked.append(key)
        acked_total += len(acked)
        # A failed write definitely did not happen, so it cannot explain what a read saw.
        writers: dict[Any, list[Call]] = {}
        for c in cs:
            if c.f in ("write", "cas") and c.outcome != "fail":
                writers.setdefault(_hashable(c.written), []).append(c)
        for fr in finals:
            value = fr.read
            producers = writers.get(_hashable(value), [])
            if value is not None and not producers:
                phantoms.append({"key": key, "final_read": fr.describe()})
                continue
            for w in acked:
                if w.end >= fr.start:
                    continue  # W may be ordered after the final read; it owes it nothing
                if any(p is w for p in producers):
                    continue
                if value is None or all(p.end < w.start for p in producers):
                    lost.append(
                        {
                            "key": key,
                            "write": w.describe(),
                            "final_read": fr.describe(),
                            "final_value_written_by": [p.describe() for p in producers[:3]],
                        }
                    )
    details: dict[str, Any] = {
        "checked_keys": len(checked),
        "acked_writes": acked_total,
        "lost_count": len(lost),
        "lost": lost[:MAX_REPORTED],
        "unexpected_final_values": phantoms[:MAX_REPORTED],
    }
    if unchecked:
        details["keys_without_final_read"] = unchecked[:MAX_REPORTED]
    if lost or phantoms:
        return CheckResult(NAME, False, details)
    if not checked:
        details["reason"] = "no final reads (ok reads with final=True) in the history"
        return CheckResult(NAME, "unknown", details)
    return CheckResult(NAME, True, details)


def _hashable(value: Any) -> Any:
    """Values index dicts; a JSON list or dict read back from a node must too."""
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value
