"""Client operations as plot data: throughput per 100 ms and latency of every completed op.

An op is an invoke paired with the next completion of the same process (a process has
one op in flight at a time). Throughput counts completions per bin, split by outcome, so
a fault shows as a gap in `ok` and a burst of `info` (unknown outcome: timeout, lost
connection); latency is measured on the monotonic clock when both ends have it. Invokes
that never completed (the run ended first) count as `info` in the history's semantics
but have no latency, so they are only counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

OUTCOMES = ("ok", "fail", "info")
BIN_S = 0.1


@dataclass
class CompletedOps:
    """Completed ops as columns: completion time (wall clock), latency, outcome, function."""

    t: np.ndarray
    latency_s: np.ndarray
    outcome: np.ndarray
    f: np.ndarray
    unfinished: int

    def __len__(self) -> int:
        return len(self.t)


@dataclass
class Throughput:
    start: float
    bin_s: float
    counts: dict[str, np.ndarray]  # per outcome, completions per bin

    @property
    def bins(self) -> int:
        return len(next(iter(self.counts.values())))

    def edges(self) -> np.ndarray:
        return self.start + self.bin_s * np.arange(self.bins + 1)


def completed_ops(history: list[dict[str, Any]]) -> CompletedOps:
    open_ops: dict[Any, dict[str, Any]] = {}
    t, latency, outcome, f = [], [], [], []
    for op in history:
        if op["type"] == "invoke":
            open_ops[op.get("process")] = op
            continue
        start = open_ops.pop(op.get("process"), None)
        if start is None:
            continue  # a completion without its invoke (a trimmed history): no latency
        both_mono = op.get("mono") is not None and start.get("mono") is not None
        took = op["mono"] - start["mono"] if both_mono else op["time"] - start["time"]
        t.append(op["time"])
        latency.append(max(took, 0.0))
        outcome.append(op["type"])
        f.append(str(op.get("f")))
    return CompletedOps(
        t=np.asarray(t, dtype=float),
        latency_s=np.asarray(latency, dtype=float),
        outcome=np.asarray(outcome, dtype=object),
        f=np.asarray(f, dtype=object),
        unfinished=len(open_ops),
    )


def throughput(ops: CompletedOps, start: float, end: float, bin_s: float = BIN_S) -> Throughput:
    """Completions per `bin_s` bin over [start, end), per outcome."""
    bins = max(1, math.ceil((end - start) / bin_s - 1e-9))
    edges = start + bin_s * np.arange(bins + 1)
    counts = {}
    for outcome in OUTCOMES:
        times = ops.t[ops.outcome == outcome]
        counts[outcome] = np.histogram(times, bins=edges)[0]
    return Throughput(start, bin_s, counts)


def window(ops: CompletedOps, start: float, end: float) -> CompletedOps:
    inside = (ops.t >= start) & (ops.t <= end)
    return CompletedOps(
        ops.t[inside], ops.latency_s[inside], ops.outcome[inside], ops.f[inside], ops.unfinished
    )


def counts(ops: CompletedOps) -> dict[str, int]:
    found = {outcome: int(np.sum(ops.outcome == outcome)) for outcome in OUTCOMES}
    return {**found, "unfinished": ops.unfinished}
