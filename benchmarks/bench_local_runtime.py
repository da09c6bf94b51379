"""Benchmark the local runtime: `up` to an elected leader, `down`, and idle overhead.

Targets (issue 2): `up` to an elected leader for 3 peers under 5 s, `down` under 2 s,
the runtime's own processes (DNS server, prober, proxy) under 5% of one core at rest.

    .venv/bin/python benchmarks/bench_local_runtime.py [--runs 5] [--idle-s 30]

Each run goes through the real CLI in a subprocess, as a person types it. Figures are
medians over the runs; idle overhead is the control plane's CPU time over a quiet
window divided by its length, for the default spec (10 s probes) and the fast one.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).parents[1]
CLI = [sys.executable, "-m", "peerchaos.cli"]
FAST_SPEC = REPO / "workloads" / "specs" / "fast.yaml"


def cli(*args: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, timeout=180)
    took = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"peerchaos {' '.join(args)} failed: {result.stderr.strip()}")
    return took, result.stdout


def up_down(state: Path, spec: Path) -> dict[str, float]:
    took_up, out = cli("up", "--spec", str(spec), "--state-dir", str(state))
    leader_s = float(re.search(r"after ([0-9.]+) s, first write", " ".join(out.split())).group(1))
    took_down, _ = cli("down", "--state-dir", str(state))
    return {"up_command_s": took_up, "leader_s": leader_s, "down_s": took_down}


def idle_cpu(state: Path, spec: Path | None, window_s: float) -> float:
    args = ["up", "--state-dir", str(state)] + (["--spec", str(spec)] if spec else [])
    cli(*args)
    try:
        recorded = json.loads((state / "state.json").read_text())
        plane = psutil.Process(recorded["control_plane"]["pid"])
        time.sleep(3)  # let start-up settle
        before = sum(plane.cpu_times()[:2])
        time.sleep(window_s)
        after = sum(plane.cpu_times()[:2])
        return (after - before) / window_s
    finally:
        cli("down", "--state-dir", str(state))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-s", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="peerchaos-bench-") as tmp:
        state = Path(tmp) / "state"
        runs = [up_down(state, FAST_SPEC) for _ in range(args.runs)]
        idle_default = idle_cpu(state, None, args.idle_s)
        idle_fast = idle_cpu(state, FAST_SPEC, args.idle_s)
    result = {
        "runs": args.runs,
        "leader_s_median": statistics.median(r["leader_s"] for r in runs),
        "up_command_s_median": statistics.median(r["up_command_s"] for r in runs),
        "down_s_median": statistics.median(r["down_s"] for r in runs),
        "idle_cpu_share_default_spec": idle_default,
        "idle_cpu_share_fast_spec": idle_fast,
        "targets": {"leader_s": 5.0, "down_s": 2.0, "idle_cpu_share": 0.05},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
