"""Benchmark `check_all` on a simulated 10,000-op history (5 clients, 10 keys).

Target: under 2 s. The history comes from a simulated ZooKeeper-like register: each op
takes effect atomically at a point inside its invoke..completion interval; writes carry
unique values and the znode version; reads may be served by a lagging follower (stale,
but never older than what the client already saw: sequentially consistent); some writes
time out (`info`) whether or not they took effect; finally every key is read after the
"faults heal".

    .venv/bin/python benchmarks/bench_checker.py [--ops 10000] [--runs 5]

Prints JSON: the median and all timings in seconds, and the verdict.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from peerchaos.checker import check_all
from peerchaos.history import Op


def simulated_history(
    n_ops: int = 10_000,
    clients: int = 5,
    keys: int = 10,
    seed: int = 0,
    stale_reads: bool = True,
    info_rate: float = 0.02,
) -> list[Op]:
    """A valid history of `n_ops` client operations plus one final read per key."""
    rng = random.Random(seed)
    names = [f"k{i}" for i in range(keys)]
    # Each client's ops back to back on its own timeline: (start, point, end) per op.
    plans: list[tuple[float, int, float, float]] = []
    for p in range(clients):
        t = rng.uniform(0, 0.005)
        for _ in range(n_ops // clients):
            start = t + rng.uniform(0, 0.002)
            end = start + rng.uniform(0.001, 0.01)
            plans.append((rng.uniform(start, end), p, start, end))
            t = end
    plans.sort()  # apply the ops to the register in the order of their atomic points
    log: dict[str, list[str | None]] = {k: [None] for k in names}  # values, oldest first
    seen: dict[tuple[int, str], int] = {}  # (client, key) -> newest log position it saw
    records: list[tuple[float, int, Op]] = []
    for seq, (_point, p, start, end) in enumerate(plans):
        key = rng.choice(names)
        values = log[key]
        mine = seen.get((p, key), 0)
        roll = rng.random()
        outcome, result, version = "ok", None, None
        if roll < 0.5:
            f, value = "read", None
            # A follower may lag, but a client never sees less than it already saw.
            low = max(mine, len(values) - 3) if stale_reads else len(values) - 1
            pos = rng.randint(low, len(values) - 1)
            result, version = values[pos], (pos - 1 if pos else None)
            seen[(p, key)] = pos
        else:
            new = f"{key}-{seq}"
            if roll < 0.8:
                f, value, applies = "write", new, True
            else:
                expected = values[mine] if rng.random() < 0.7 else values[-1]
                f, value, applies = "cas", (expected, new), expected == values[-1]
                outcome = "ok" if applies else "fail"
            if rng.random() < info_rate:
                outcome, applies = "info", applies and rng.random() < 0.5
            if applies:
                values.append(new)
                version = len(values) - 2
                if outcome == "ok":
                    seen[(p, key)] = len(values) - 1
            result = value
        if outcome != "ok":
            version = None
        inv = Op("invoke", f, key, value, p, start, start)
        done = Op(outcome, f, key, result, p, end, end, version=version)
        records += [(start, 2 * seq, inv), (end, 2 * seq + 1, done)]
    t_final = max(r[0] for r in records) + 1.0
    for i, key in enumerate(names):
        pos = len(log[key]) - 1
        start, end = t_final + i, t_final + i + 0.01
        version = pos - 1 if pos else None
        records.append((start, 0, Op("invoke", "read", key, None, 0, start, start, final=True)))
        done = Op("ok", "read", key, log[key][pos], 0, end, end, version=version, final=True)
        records.append((end, 0, done))
    records.sort(key=lambda r: (r[0], r[1]))
    return [op for _, _, op in records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    history = simulated_history(args.ops)
    timings = []
    verdict = None
    for _ in range(args.runs):
        t0 = time.perf_counter()
        verdict = check_all(history).valid
        timings.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "benchmark": "check_all",
                "ops": args.ops,
                "records": len(history),
                "median_s": round(statistics.median(timings), 4),
                "timings_s": [round(t, 4) for t in timings],
                "valid": verdict,
                "target_s": 2.0,
            }
        )
    )


if __name__ == "__main__":
    main()
