"""Pass counts of the experiments in `experiments/`, each run N times in a row.

Target (issue 13): every experiment passes 10 runs in a row on this machine — an
experiment of the library that fails by chance teaches people to ignore red runs.

    .venv/bin/python benchmarks/bench_experiments.py [--runs 10] [--only NAME ...]

Each run is the real `chaos run` in a subprocess, results in a temp dir removed
afterwards (`--keep DIR` keeps them). Every run takes /tmp/peerchaos-ensembles.lock
(flock) for itself, so the runs interleave with whoever else starts ensembles on the
machine; wall times start once the lock is held. The report gives, per experiment,
the passes out of the runs, the median wall time and, for each failed run, its exit
code and the failure reasons from its `summary.json` (or the last line it printed).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).parents[1]
CHAOS = str(Path(sys.executable).parent / "chaos")
LOCK = Path("/tmp/peerchaos-ensembles.lock")
TARGET_RUNS = 10


def experiments(only: list[str]) -> list[Path]:
    found = sorted((REPO / "experiments").glob("*.yaml"))
    if not only:
        return found
    chosen = [path for path in found if path.stem in only or path.name in only]
    unknown = set(only) - {p.stem for p in chosen} - {p.name for p in chosen}
    if unknown:
        names = ", ".join(p.stem for p in found)
        raise SystemExit(f"--only: no experiment {', '.join(sorted(unknown))} (have: {names})")
    return chosen


def one_run(experiment: Path, results: Path) -> dict[str, Any]:
    """One `chaos run` under the machine-wide lock: exit code, wall time, why it failed."""
    results.mkdir(parents=True)
    command = [CHAOS, "--no-log-file", "run", str(experiment)]
    command += ["--journal-path", str(results / "journal.json"), "--var", f"results_dir={results}"]
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, cwd=REPO, timeout=900, check=False
            )
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as timeout:
            code, output = -1, f"timed out after {timeout.timeout:.0f} s"
        wall = time.monotonic() - started
    run = {"exit_code": code, "wall_s": round(wall, 1), "passed": code == 0}
    if code != 0:
        run["reasons"] = failure_reasons(results, output)
    return run


def failure_reasons(results: Path, output: str) -> list[str]:
    summaries = sorted(results.glob("*/*/summary.json"))
    if summaries:
        try:
            reasons = json.loads(summaries[-1].read_text()).get("failure_reasons") or []
        except (OSError, ValueError) as error:
            reasons = [f"{summaries[-1]}: unreadable ({error})"]
        if reasons:
            return [str(reason) for reason in reasons] + failed_probes(summaries[-1].parent)
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return [lines[-1][-300:] if lines else "no output"]


def failed_probes(run_dir: Path) -> list[str]:
    """Each steady-state probe out of its tolerance, with what it returned (journal.json)."""
    try:
        journal = json.loads((run_dir / "journal.json").read_text())
    except (OSError, ValueError):
        return []
    found = []
    for phase in ("before", "after"):
        state = (journal.get("steady_states") or {}).get(phase) or {}
        for probe in state.get("probes") or []:
            if probe.get("tolerance_met") is False or probe.get("status") == "failed":
                name = (probe.get("activity") or {}).get("name")
                value = probe.get("output", probe.get("exception"))
                found.append(f"{phase}: {name} = {str(value)[:200]}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=TARGET_RUNS, help="Runs per experiment.")
    parser.add_argument("--only", action="append", default=[], help="Experiment (repeatable).")
    parser.add_argument("--keep", type=Path, help="Keep the run dirs here.")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs: must be at least 1 (got {args.runs})")
    chosen = experiments(args.only)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="pc-bench-experiments-"))
    report: dict[str, Any] = {}
    try:
        for experiment in chosen:
            runs = []
            for i in range(args.runs):
                runs.append(one_run(experiment, scratch / experiment.stem / str(i)))
                last = runs[-1]
                verdict = "pass" if last["passed"] else f"FAIL {last['reasons']}"
                print(
                    f"{experiment.stem} {i + 1}/{args.runs}: {verdict} ({last['wall_s']} s)",
                    file=sys.stderr,
                    flush=True,
                )
            report[experiment.stem] = {
                "passed": sum(r["passed"] for r in runs),
                "runs": len(runs),
                "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 1),
                "failures": [{"run": i, **r} for i, r in enumerate(runs) if not r["passed"]],
            }
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    every = all(e["passed"] == e["runs"] for e in report.values())
    print(
        json.dumps(
            {
                "benchmark": "experiments",
                "runs_each": args.runs,
                "experiments": report,
                "pass_counts": {name: f"{e['passed']}/{e['runs']}" for name, e in report.items()},
                "target": f"{TARGET_RUNS}/{TARGET_RUNS} each",
                "all_passed": every,
            },
            indent=2,
        )
    )
    return 0 if every else 1


if __name__ == "__main__":
    sys.exit(main())
