"""Recompute the golden run dirs' summary.json with the current measurement.

    .venv/bin/python tests/data/report/regenerate.py                  # the trimmed dirs here
    .venv/bin/python tests/data/report/regenerate.py --full RUN DIR   # DIR's from RUN's files

`peerchaos measure` (`peerchaos.observe.summarize`) recomputes the trials, metrics,
resolution and probe health from a run dir's files. Two kinds of field are carried over
from the summary the run itself wrote instead:
- `faults`, `deviated`, `failure_reasons`: the chaos run's own record, which
  `summarize` does not write (it keeps only `status`, from meta.json);
- `checks`, `ops`: the checkers' answers over the *whole* history — the golden dirs
  hold a trimmed history.jsonl (see README.md), over which the checkers would answer
  differently.
With `--full RUN`, the summary is computed from RUN's complete files (a run recorded
elsewhere) and written into DIR, whose trimmed files the tests read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from peerchaos.observe import summarize
from peerchaos.rundir import RunDir

HERE = Path(__file__).parent
RUN_RECORD = ("faults", "deviated", "failure_reasons")  # summarize does not write them
WHOLE_HISTORY = ("checks", "ops")  # computed over the history before it was trimmed
# Dirs whose summary was computed from a complete run recorded elsewhere (`--full`).
FROM_FULL_RUNS = ("zk-leader-kill-stale",)


def regenerate(source: Path, target: Path, carried: tuple[str, ...]) -> dict:
    """Write target/summary.json measured from source's files, `carried` fields kept
    from source's own summary.json."""
    recorded = json.loads((source / "summary.json").read_text())
    with tempfile.TemporaryDirectory(prefix="pc-golden-") as tmp:
        copy = Path(shutil.copytree(source, Path(tmp) / source.name))
        summary = summarize(RunDir(copy))
    summary.update({key: recorded[key] for key in carried if key in recorded})
    (target / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", nargs=2, type=Path, metavar=("RUN", "DIR"))
    args = parser.parse_args()
    if args.full:
        regenerate(*args.full, RUN_RECORD)
        return
    for summary in sorted(HERE.glob("*/*/summary.json")):
        if summary.parents[1].name not in FROM_FULL_RUNS:
            regenerate(summary.parent, summary.parent, RUN_RECORD + WHOLE_HISTORY)


if __name__ == "__main__":
    main()
