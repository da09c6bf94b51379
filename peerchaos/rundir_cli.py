"""Commands on a run dir's files alone: `peerchaos measure` and `peerchaos check`.

Both read only what a run wrote (events, history, ground truth), so any run can be
re-analysed offline; `print_summary` is the table of figures `observe` prints too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from peerchaos.cli_common import out
from peerchaos.cli_input import one_line_errors


def print_summary(summary: dict[str, Any]) -> None:
    """A run's figures (n, p50, p95, max per metric) and its checks, as a table."""
    table = Table(
        "metric", "n", "p50", "p95", "max", title=f"{summary['experiment']} {summary['run_id']}"
    )
    for name, dist in summary["metrics"].items():
        fmt = [
            # A statistic that landed on a censored trial is a lower bound, not a value.
            f"> {dist[f'{stat}_at_least']:.3f}"
            if dist.get(f"{stat}_censored")
            else f"{dist[stat]:.3f}"
            if isinstance(dist.get(stat), float)
            else "—"
            for stat in ("p50", "p95", "max")
        ]
        censored = f" ({dist['n_censored']} censored)" if dist.get("n_censored") else ""
        table.add_row(name, f"{dist['n']}{censored}", *fmt)
    out.print(table)
    checks = summary.get("checks", {})
    out.print(f"ops: {summary.get('ops')}   checks: {checks.get('valid')}")
    for sub in checks.get("details", {}).get("results", {}).values():
        out.print(f"  {sub['name']}: {sub['valid']}")


@click.command(name="measure")
@click.argument("run_dir", type=click.Path(path_type=Path))
@one_line_errors
def measure_cmd(run_dir: Path) -> None:
    """Recompute summary.json of RUN_DIR from its files."""
    from peerchaos.observe import summarize
    from peerchaos.rundir import RunDir
    from peerchaos.runfiles import require_readable

    run = RunDir.existing(run_dir)
    # What summarize reads; summary.json is what it writes, so a torn one is repaired.
    require_readable(
        run,
        reads=("events.jsonl", "history.jsonl", "ground_truth.json", "meta.json"),
        needs=("events.jsonl",),
    )
    print_summary(summarize(run))
    out.print(f"wrote {run.summary}")


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--full", is_flag=True, help="Also check linearizability including reads.")
@one_line_errors
def check(run_dir: Path, full: bool) -> None:
    """Run the checkers on RUN_DIR's history; exit 1 when a check is false."""
    from peerchaos.checker import check_all
    from peerchaos.history import read_jsonl
    from peerchaos.rundir import RunDir
    from peerchaos.runfiles import require_readable

    run = RunDir.existing(run_dir)
    require_readable(run, reads=("history.jsonl",), needs=("history.jsonl",))
    result = check_all(read_jsonl(run.history), full=full)
    data = result.to_dict()
    for sub in data.get("details", {}).get("results", {}).values():
        line = f"{sub['name']}: {sub['valid']}"
        problems = {
            k: v
            for k, v in sub.get("details", {}).items()
            if k in ("reason", "lost", "violations", "key")
        }
        out.print(line + (f"  {json.dumps(problems, default=str)[:300]}" if problems else ""))
    out.print(f"overall: {data['valid']}")
    sys.exit(1 if data["valid"] is False else 0)
