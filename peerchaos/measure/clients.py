"""What the clients saw in one trial: recovery, the longest silence, failed and unknown ops.

- write / read recovery: `t_fault` to the acknowledgement of the first write (write or
  cas) / read *invoked* after `t_fault`; censored when none was acknowledged in the window;
- client unavailability: the longest gap between acknowledged ops (any client, any
  kind) that ends after the fault — from the last ack at or before it through the
  window; censored when nothing was acknowledged after the fault;
- the trial's share of failed and unknown-outcome (`info`) completions; an invoke
  without completion counts as unknown, as in the checkers.
"""

from __future__ import annotations

import itertools
from typing import Any

from peerchaos.measure.stats import Value

WRITES = ("write", "cas")


def first_ack_after(
    history: list[dict[str, Any]], t_fault: float, fs: tuple[str, ...]
) -> float | None:
    """Seconds from the fault to the ack of the first op of kind `fs` invoked after it."""
    invoked: dict[Any, dict[str, Any]] = {}
    best = None
    for op in history:
        if op["f"] not in fs:
            continue
        if op["type"] == "invoke":
            invoked[op["process"]] = op
            continue
        start = invoked.pop(op["process"], None)
        acked_after = op["type"] == "ok" and start is not None and start["time"] >= t_fault
        if acked_after and (best is None or op["time"] < best):
            best = op["time"]
    return None if best is None else best - t_fault


def recovery(
    history: list[dict[str, Any]], t_fault: float, until: float, fs: tuple[str, ...]
) -> Value | None:
    """First-ack recovery as a Value: None when the run had no such ops at all."""
    if not any(op["f"] in fs for op in history):
        return None
    s = first_ack_after(history, t_fault, fs)
    if s is None or t_fault + s > until:
        return Value.cut_short(until - t_fault)
    return Value.reached(s)


def unavailability(acks: list[float], t_fault: float, until: float, had_ops: bool) -> Value | None:
    """The longest gap between consecutive acks that ends after the fault."""
    if not had_ops:
        return None
    before = [t for t in acks if t <= t_fault]
    after = [t for t in acks if t_fault < t <= until]
    if not after:
        return Value.cut_short(until - (before[-1] if before else t_fault))
    seq = ([before[-1]] if before else [t_fault]) + after
    return Value.reached(max(b - a for a, b in itertools.pairwise(seq)))


def op_shares(history: list[dict[str, Any]], t_fault: float, until: float) -> dict[str, Any]:
    """ok / fail / info completions of ops invoked in the window, and the shares."""
    open_ops: dict[Any, dict[str, Any]] = {}
    counts = {"ok": 0, "fail": 0, "info": 0}
    for op in history:
        if op["type"] == "invoke":
            open_ops[op["process"]] = op
            continue
        start = open_ops.pop(op["process"], None)
        if start is not None and t_fault <= start["time"] < until and op["type"] in counts:
            counts[op["type"]] += 1
    counts["info"] += sum(1 for op in open_ops.values() if t_fault <= op["time"] < until)
    total = sum(counts.values())
    return {
        **counts,
        "failed_share": counts["fail"] / total if total else None,
        "info_share": counts["info"] / total if total else None,
    }


def ack_times(history: list[dict[str, Any]]) -> list[float]:
    return sorted(op["time"] for op in history if op["type"] == "ok")
