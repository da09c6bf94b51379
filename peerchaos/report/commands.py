"""The `peerchaos report` and `peerchaos trend` commands.

`report RUN_DIR` regenerates a run's figures and pages from its files and prints the
path of `report.html`. `trend results/<experiment>` writes the trend page and exits
non-zero when the newest run breaks an SLO or is markedly worse than the previous runs
(see `trend.py`), so a cron job or a Kubernetes CronJob fails loudly. Exit codes: 0 fine,
1 a broken SLO or a regression, 2 a bad argument (one line on stderr, no traceback).
Matplotlib is imported only when a command runs, to keep `peerchaos --help` fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from peerchaos.errors import UsageError


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """The CLI's own `one_line_errors`, looked up when the command runs.

    `peerchaos.cli` imports this module to register the commands; importing it back at
    import time would be circular.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from peerchaos.cli import one_line_errors as wrap

        return wrap(command)(*args, **kwargs)

    return wrapper


def warn(message: str) -> None:
    click.echo(f"peerchaos: {message}", err=True)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@one_line_errors
def report(run_dir: Path) -> None:
    """Regenerate RUN_DIR's plots, report.html and report.md from its files."""
    from peerchaos.report import write_reports
    from peerchaos.rundir import RunDir

    run = RunDir.existing(run_dir)
    written = write_reports(run)
    click.echo(str(written["report.html"]))


@click.command()
@click.argument("experiment_dir", type=click.Path(path_type=Path))
@click.option(
    "--slo",
    "slo_texts",
    multiple=True,
    metavar="METRIC.STAT<=VALUE",
    help="Fail when the newest run breaks it, e.g. election_time_s.p95<=2 "
    "(STAT: p50, p95, max, n; also <, >=, >). Repeatable.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where trend.html, trend.md and trend.png go [default: EXPERIMENT_DIR].",
)
@click.option(
    "--factor",
    default=1.5,
    show_default=True,
    help="Markedly worse: newest p95 above FACTOR x the previous runs' median p95 …",
)
@click.option(
    "--min-delta",
    default=0.1,
    show_default=True,
    help="… and at least this many seconds above it …",
)
@click.option(
    "--min-runs", default=3, show_default=True, help="… with at least this many previous runs."
)
@one_line_errors
def trend(
    experiment_dir: Path,
    slo_texts: tuple[str, ...],
    out_dir: Path | None,
    factor: float,
    min_delta: float,
    min_runs: int,
) -> None:
    """p50/p95 of every metric per run of EXPERIMENT_DIR (results/<experiment>) over time.

    Exits 1 when the newest run breaks an --slo or is markedly worse than the previous
    runs; unreadable or unfinished runs are skipped with a warning naming them.
    """
    from peerchaos.progress import status
    from peerchaos.report import trend as trends
    from peerchaos.report.trend_page import write_trend

    if factor <= 1 or min_delta < 0 or min_runs < 1:
        raise UsageError(
            f"trend: need --factor > 1, --min-delta >= 0 and --min-runs >= 1 "
            f"(got {factor:g}, {min_delta:g}, {min_runs})"
        )
    slos = [trends.parse_slo(text) for text in slo_texts]
    rule = trends.Rule(factor=factor, min_previous=min_runs, min_delta_s=min_delta)
    out = out_dir or experiment_dir
    with status(f"trend: reading {experiment_dir}"):
        runs, skipped = trends.collect(experiment_dir, ignore=(out,) if out_dir else ())
    for skip in skipped:
        warn(f"trend: skipping {skip.path}: {skip.reason}")
    if not runs:
        raise UsageError(f"trend {experiment_dir}: no readable run (skipped {len(skipped)})")
    findings = trends.check_slos(runs, slos) + trends.check_regressions(runs, rule)
    with status("trend: drawing"):
        written = write_trend(
            experiment_dir.resolve().name, runs, skipped, findings, slos, rule, out
        )
    _print_runs(runs)
    for finding in findings:
        if finding.kind == "slo" or finding.breached:
            click.echo(finding.message)
    click.echo(str(written["trend.html"]))
    broken = [f for f in findings if f.breached]
    if broken:
        warn(
            f"trend: newest run {runs[-1].run_id}: {len(broken)} problem(s): "
            + "; ".join(f.message for f in broken)
        )
        sys.exit(1)


def _print_runs(runs: list[Any]) -> None:
    key = [
        m
        for m in ("election_time_s", "write_recovery_s", "dns_convergence_s")
        if any(run.stat(m, "p95") is not None for run in runs)
    ]
    header = "run                      result  " + "  ".join(f"{m} p95" for m in key)
    click.echo(header.rstrip())
    for run in runs:
        cells = "  ".join(_fmt(run.stat(m, "p95")).rjust(len(m) + 4) for m in key)
        click.echo(f"{run.run_id:<24} {'pass' if run.passed else 'FAIL':<6}  {cells}".rstrip())


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
