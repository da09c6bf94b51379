"""Benchmark report generation: `write_reports` on a 5-trial run, median of 3.

Target (issue 5): a report for a 5-trial run takes a few seconds at most — here, a
median under TARGET_S. The run directory is copied to a temporary folder first, so the
benchmark never rewrites a real run's report; the first, untimed round pays matplotlib's
import and font cache, as a long-lived `chaos run` process has by the time it reports.

    .venv/bin/python benchmarks/bench_report.py                # the leader-kill fixture
    .venv/bin/python benchmarks/bench_report.py --run results/zk-leader-kill/<run-id>

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from peerchaos.report import write_reports
from peerchaos.report.evidence import load
from peerchaos.rundir import RunDir

FIXTURE = (
    Path(__file__).parents[1]
    / "tests"
    / "data"
    / "report"
    / "zk-leader-kill"
    / "20261126T215121Z-e0cb"
)
TARGET_S = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=FIXTURE, help="run directory to report on")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pc-bench-report-") as tmp:
        run = RunDir(shutil.copytree(args.run, Path(tmp) / args.run.name))
        evidence = load(run)
        write_reports(run)  # warm-up: imports, font cache
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            written = write_reports(run)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        result = {
            "benchmark": "report",
            "run": str(args.run),
            "trials": len(evidence.trials),
            "events": len(evidence.events),
            "history_ops": len(evidence.history),
            "figures": sum(1 for name in written if name.startswith("plots/")),
            "html_bytes": written["report.html"].stat().st_size,
            "rounds_s": [round(t, 3) for t in times],
            "median_s": round(median, 3),
            "target_s": TARGET_S,
            "ok": median < TARGET_S,
        }
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
