"""Benchmark the framework's memory: peak RSS of the driver and Ray with 8 actors running.

Target (issue 3): with 8 actors (4 load workers, 1 role probe, 3 DNS probes) running for
20 s, the summed RSS of the framework's processes stays under 1.5 GB.

    .venv/bin/python benchmarks/bench_memory.py --seconds 20

The framework's processes: this driver, everything descending from it, and every process
whose command line holds Ray's temp dir (`peerchaos.actors._ray_temp_dir`: raylet,
gcs_server, agents, workers) — minus the local control plane and everything under it
(the ZooKeeper JVMs). Sampled every `--interval-s` with psutil; the figure is the largest
per-sample sum. RSS counts shared pages once per process, so the PSS of the last sample is
given beside it. One ensemble (fast.yaml, pod CIDR 10.244.30.0/24), `Observers` with
`dns_probes=3`, `load_workers=4`. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
from _common import ensemble

from peerchaos import actors
from peerchaos.observe import ObserverConfig, Observers
from peerchaos.rundir import RunDir

CONTROL_PLANE = "peerchaos.runtime.local.daemon"
TARGET_MB = 1536.0
MB = 1024 * 1024


def framework_processes(driver: psutil.Process, ray_dir: str) -> list[psutil.Process]:
    """The driver, its descendants and Ray's session processes, without the control plane."""
    found = {driver.pid: driver} | {p.pid: p for p in driver.children(recursive=True)}
    excluded: set[int] = set()
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if ray_dir in cmdline:
                found[proc.pid] = proc
            if CONTROL_PLANE in cmdline:
                excluded |= {proc.pid} | {c.pid for c in proc.children(recursive=True)}
    return [p for pid, p in found.items() if pid not in excluded]


def label(proc: psutil.Process, driver: psutil.Process) -> str:
    if proc.pid == driver.pid:
        return "driver"
    words = [w.rsplit("/", 1)[-1] for w in proc.cmdline()] or [proc.name()]
    scripts = [w for w in words if w.endswith(".py")]  # python -u .../log_monitor.py
    return (scripts[0] if words[0].startswith("python") and scripts else words[0])[:40]


def sample(driver: psutil.Process, ray_dir: str) -> list[tuple[str, int]]:
    """(label, RSS) of each framework process now; processes that vanish are skipped."""
    rows = []
    for proc in framework_processes(driver, ray_dir):
        with contextlib.suppress(psutil.Error):
            rows.append((label(proc, driver), proc.memory_info().rss))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="issue: 20")
    parser.add_argument("--interval-s", type=float, default=0.5)
    parser.add_argument("--load-workers", type=int, default=4)
    parser.add_argument("--dns-probes", type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    results = Path(tempfile.mkdtemp(prefix="pc-bench-memory-results-"))
    config = ObserverConfig(load_workers=args.load_workers, dns_probes=args.dns_probes)
    driver = psutil.Process()
    peak: list[tuple[str, int]] = []
    sums: list[int] = []
    try:
        with ensemble() as runtime:
            observers = Observers(runtime, RunDir.create("bench-memory", results), config)
            try:
                observers.start()
                ray_dir = str(actors._ray_temp_dir)
                deadline = time.monotonic() + args.seconds
                while time.monotonic() < deadline:
                    current = sample(driver, ray_dir)
                    sums.append(sum(rss for _, rss in current))
                    if sums[-1] == max(sums):
                        peak = current
                    time.sleep(args.interval_s)
                pss = 0
                for proc in framework_processes(driver, ray_dir):
                    with contextlib.suppress(psutil.Error):
                        pss += proc.memory_full_info().pss
                observers.stop(final_reads=False)
            finally:
                with contextlib.suppress(Exception):
                    if observers.load or observers.probes:
                        observers.stop(final_reads=False)
                actors.stop_ray()
    finally:
        actors.stop_ray()
        shutil.rmtree(results, ignore_errors=True)
    peak_rss, by_label, count = max(sums, default=0), Counter[str](), Counter[str]()
    for name, rss in peak:
        by_label[name] += rss
        count[name] += 1
    result = {"benchmark": "memory", **vars(args)}
    result["actors"] = args.load_workers + 1 + args.dns_probes
    result |= {"samples": len(sums), "processes_at_peak": len(peak)}
    result["peak_rss_mb"] = round(peak_rss / MB, 1)
    result["min_rss_mb"] = round(min(sums) / MB, 1) if sums else None
    result["pss_mb_last_sample"] = round(pss / MB, 1)
    result |= {"target_mb": TARGET_MB, "meets_target": bool(sums) and peak_rss / MB < TARGET_MB}
    result["peak_by_process"] = {
        name: {"n": count[name], "rss_mb": round(rss / MB, 1)}
        for name, rss in by_label.most_common()
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
