"""Wall time of `chaos run experiments/zk-leader-kill.yaml`, report included.

Target (issue 4): under 45 s on this machine for 3 peers and 5 trials.

    .venv/bin/python benchmarks/bench_chaos_run.py [--runs 3] [--experiment PATH]

Each run is the real command in a subprocess, results in a temp dir removed afterwards;
the figure is the median wall time, with the run's own split (deploy, observers start,
method, report) read from its journal and meta for where the time goes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).parents[1]
CHAOS = str(Path(sys.executable).parent / "chaos")
TARGET_S = 45.0


def one_run(experiment: Path, results: Path) -> dict[str, float | int | str]:
    started = time.monotonic()
    done = subprocess.run(
        [
            CHAOS,
            "--no-log-file",
            "run",
            str(experiment),
            "--journal-path",
            str(results / "j.json"),
            "--var",
            f"results_dir={results}",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    wall = time.monotonic() - started
    runs = sorted(results.glob("*/*/journal.json"))
    journal = json.loads(runs[-1].read_text()) if runs else {}
    method = sum(r.get("duration", 0.0) for r in journal.get("run", []))
    report = (runs[-1].parent / "report.html").exists() if runs else False
    return {
        "wall_s": round(wall, 2),
        "exit_code": done.returncode,
        "method_s": round(method, 2),
        "report": report,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--experiment", type=Path, default=REPO / "experiments/zk-leader-kill.yaml")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="pc-bench-chaos-"))
    try:
        runs = []
        for i in range(args.runs):
            results = scratch / str(i)
            results.mkdir()
            runs.append(one_run(args.experiment, results))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    median = statistics.median(r["wall_s"] for r in runs)
    print(
        json.dumps(
            {
                "benchmark": "chaos_run",
                "experiment": args.experiment.name,
                "runs": runs,
                "median_wall_s": median,
                "target_s": TARGET_S,
                "meets_target": median < TARGET_S,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
