"""Benchmark probe scheduling jitter: how far poll intervals stray from the period.

Target (issue 3): with 8 DNS probes at the default 20 ms period for 30 s, the p99 of
|interval - period| is within 2 ms. The role probe (one poller per peer, 10 ms) runs
beside them and is reported too (`--role-period-s 0` leaves it out).

    .venv/bin/python benchmarks/bench_probe_jitter.py --probes 8 --seconds 30

One ensemble (workloads/specs/fast.yaml, pod CIDR 10.244.30.0/24), `DnsProbeActor`s
asking the runtime's DNS server for every name the observers ask for (headless Service,
each pod, the client Service), a `RoleProbeActor`, no load. Intervals are the probes'
own start-to-start times. Prints one JSON object: p50/p99/max of the deviation per kind.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ensemble

from peerchaos.actors import DnsProbeActor, RoleProbeActor, start_ray, stop_ray
from peerchaos.observe import dns_names

TARGET_P99_MS = 2.0


def jitter(intervals: list[float], period_s: float) -> dict[str, Any]:
    """Deviation |interval - period| in ms: n, p50, p99 (nearest rank), max; mean interval."""
    dev = sorted(abs(i - period_s) * 1000 for i in intervals)
    if not dev:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}

    def rank(q: float) -> float:
        return dev[max(0, math.ceil(q * len(dev)) - 1)]

    return {
        "period_ms": period_s * 1000,
        "n": len(dev),
        "mean_interval_ms": round(sum(intervals) / len(intervals) * 1000, 3),
        "p50_ms": round(rank(0.50), 3),
        "p99_ms": round(rank(0.99), 3),
        "max_ms": round(dev[-1], 3),
        "meets_target": rank(0.99) <= TARGET_P99_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=8, help="DNS probes (issue: 8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="issue: 30")
    parser.add_argument("--dns-period-s", type=float, default=0.02, help="default 20 ms")
    parser.add_argument("--role-period-s", type=float, default=0.01, help="0: no role probe")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    scratch = Path(tempfile.mkdtemp(prefix="pc-bench-jitter-events-"))
    events = str(scratch / "events.jsonl")
    try:
        with ensemble() as runtime:
            import ray  # only after peerchaos.actors, which sets Ray's environment first

            start_ray()
            server, names = runtime.dns_server(), dns_names(runtime.status())
            dns = [
                DnsProbeActor.remote(f"p{i}", server, names, events, args.dns_period_s)
                for i in range(args.probes)
            ]
            period = args.role_period_s
            role = [RoleProbeActor.remote(runtime.locator(), events, period)] if period > 0 else []
            try:
                ray.get([actor.start.remote() for actor in dns + role])
                time.sleep(args.seconds)
                dns_intervals = ray.get([actor.stop.remote() for actor in dns])
                role_intervals = ray.get([actor.stop.remote() for actor in role])
            finally:
                for actor in dns + role:
                    ray.kill(actor)
    finally:
        stop_ray()
        shutil.rmtree(scratch, ignore_errors=True)
    result: dict[str, Any] = {"benchmark": "probe_jitter", **vars(args), "names": len(names)}
    result["target_p99_ms"] = TARGET_P99_MS
    result["dns"] = jitter([i for probe in dns_intervals for i in probe], args.dns_period_s)
    result["dns_per_probe_p99_ms"] = [jitter(p, args.dns_period_s)["p99_ms"] for p in dns_intervals]
    if role_intervals:
        result["role"] = jitter(role_intervals[0], args.role_period_s)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
