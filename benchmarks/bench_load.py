"""Benchmark load generation: Ray load workers against one asynchronous kazoo client.

Target (issue 3): the Ray load workers' throughput (ok + fail ops/s, summed over the
workers' stats) is at least that of a single-process asynchronous kazoo client keeping
workers x concurrency ops in flight (`get_async` / `set_async`, LoadProfile's read/write/cas mix)
on one KazooClient: ratio ray/async >= 1.0.

    .venv/bin/python benchmarks/bench_load.py --workers 4 --seconds 10 --rounds 2

One ensemble (fast.yaml, pod CIDR 10.244.30.0/24), both sides through the client
Service, alternately A (Ray) / B (async) for `--rounds` rounds, after `--warmup-s` of
uncounted async load (so round 1's Ray side does not meet cold JVMs alone). The Ray side
is `LoadWorkerActor`s (`--concurrency` client processes each, one op in flight per
process, writing history JSONL as in a run); the async side keeps as many ops in flight
on one session and writes no history. Prints one JSON object with the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _common import ensemble
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from peerchaos.actors import LoadWorkerActor, start_ray, stop_ray
from peerchaos.load import LoadProfile

TARGET_RATIO = 1.0


def ray_side(
    hosts: str, workers: int, concurrency: int, seconds: float, history: Path, tag: str
) -> float:
    import ray  # only after peerchaos.actors, which sets Ray's environment before import

    profile = asdict(LoadProfile(prefix=f"bench-ray-{tag}", concurrency=concurrency))
    actors = [
        LoadWorkerActor.remote(f"w{i}", hosts, str(history), profile, seed=i)
        for i in range(workers)
    ]
    try:
        ray.get([a.connect.remote() for a in actors])
        started = time.monotonic()
        ray.get([a.start.remote() for a in actors])
        time.sleep(seconds)
        stats = ray.get([a.stop.remote() for a in actors])
        elapsed = time.monotonic() - started
        ray.get([a.close.remote() for a in actors])
    finally:
        for actor in actors:
            ray.kill(actor)
    return sum(s["ok"] + s["fail"] for s in stats) / elapsed


def async_side(hosts: str, inflight: int, seconds: float, tag: str) -> float:
    """`inflight` ops always outstanding on one session; each completion issues the next."""
    profile = LoadProfile(prefix=f"bench-async-{tag}")
    keys, rng, lock = profile.key_paths(), random.Random(0), threading.Lock()
    known: dict[str, int] = {}
    counts = {"done": 0, "outstanding": 0, "n": 0}
    drained = threading.Event()
    zk = KazooClient(hosts=hosts, timeout=profile.session_timeout_s)
    zk.start(timeout=30)
    zk.ensure_path(profile.root)
    for path in keys:
        with contextlib.suppress(NodeExistsError):
            zk.create(path, b"")
    deadline = 0.0

    def issue() -> None:  # called with `lock` held
        f = rng.choices(["read", "write", "cas"], [profile.read, profile.write, profile.cas])[0]
        key = rng.choice(keys)
        counts["n"] += 1
        value = f"async-{counts['n']}".encode()
        if f == "write":
            result = zk.set_async(key, value)
        elif f == "cas" and key in known:  # unknown version: a read first, as LoadWorker
            result = zk.set_async(key, value, version=known[key])
        else:
            result = zk.get_async(key)
        counts["outstanding"] += 1
        result.rawlink(lambda r: complete(r, key))

    def complete(result: Any, key: str) -> None:
        counted = True
        try:
            value = result.get(block=False)
            stat = value[1] if isinstance(value, tuple) else value
            version = stat.version
        except (BadVersionError, NoNodeError):
            version = None  # a lost compare-and-set (fail) or an absent key (ok read)
        except Exception:
            version, counted = None, False  # uncertain (info): not counted, as on Ray's side
        with lock:
            if version is None:
                known.pop(key, None)
            else:
                known[key] = version
            counts["outstanding"] -= 1
            if time.monotonic() < deadline:
                counts["done"] += counted
                issue()
            elif counts["outstanding"] == 0:
                drained.set()

    try:
        started = time.monotonic()
        deadline = started + seconds
        with lock:
            for _ in range(inflight):
                issue()
        drained.wait(seconds + 30)
        return counts["done"] / seconds
    finally:
        zk.stop()
        zk.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="Ray load workers (issue: 4)")
    parser.add_argument("--seconds", type=float, default=3.0, help="per side (issue: 10)")
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds (issue: 2)")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="client processes per Ray worker"
    )
    parser.add_argument(
        "--inflight", type=int, default=0, help="async side; 0: workers x concurrency"
    )
    parser.add_argument("--warmup-s", type=float, default=2.0, help="uncounted, before round 1")
    args = parser.parse_args()
    # The same number of ops in flight on both sides.
    inflight = args.inflight or args.workers * args.concurrency
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    scratch = Path(tempfile.mkdtemp(prefix="pc-bench-load-results-"))
    rates: dict[str, list[float]] = {"ray": [], "async": []}
    try:
        with ensemble() as runtime:
            host, port = runtime.client_service_address()
            hosts = f"{host}:{port}"
            start_ray()
            async_side(hosts, inflight, args.warmup_s, "warmup")  # warm the JVMs, uncounted
            for r in range(args.rounds):
                history = scratch / f"history-{r}.jsonl"
                rates["ray"].append(
                    ray_side(hosts, args.workers, args.concurrency, args.seconds, history, str(r))
                )
                rates["async"].append(async_side(hosts, inflight, args.seconds, str(r)))
    finally:
        stop_ray()
        shutil.rmtree(scratch, ignore_errors=True)
    medians = {side: statistics.median(values) for side, values in rates.items()}
    ratio = round(medians["ray"] / medians["async"], 3) if medians["async"] else None
    result = {"benchmark": "load", **{k: v for k, v in vars(args).items() if k != "inflight"}}
    result["inflight_async"] = inflight
    result["ops_s"] = {side: [round(x, 1) for x in values] for side, values in rates.items()}
    result["ops_s_median"] = {side: round(value, 1) for side, value in medians.items()}
    result |= {"ratio_ray_over_async": ratio, "target_ratio": TARGET_RATIO}
    result["meets_target"] = ratio is not None and ratio >= TARGET_RATIO
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
