"""The `peerchaos report` and `peerchaos trend` commands.

`report RUN_DIR` regenerates a run's figures and pages from its files and prints the
path of `report.html`; a run dir it cannot read whole is refused in one line. `trend
results/<experiment>` writes the trend page and exits non-zero when the newest run
cannot be judged (unfinished, interrupted, torn, unreadable), breaks an SLO or is
markedly worse than the previous runs (see `trend.py`), so a cron job or a Kubernetes
CronJob fails loudly. Exit codes: 0 fine, 1 a newest run that cannot be judged, a
broken SLO or a regression, 2 a bad argument (one line on stderr, no traceback).
Matplotlib is imported only when a command runs, to keep `peerchaos --help` fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from peerchaos.cli_input import Bounded, one_line_errors, say
from peerchaos.errors import UsageError

__all__ = ["one_line_errors", "report", "trend"]


def warn(message: str) -> None:
    say(f"peerchaos: {message}")  # one line, whatever a run's files put into the message


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@one_line_errors
def report(run_dir: Path) -> None:
    """Regenerate RUN_DIR's plots, report.html and report.md from its files."""
    from peerchaos.report import write_reports
    from peerchaos.rundir import RunDir
    from peerchaos.runfiles import EVERYTHING, require_readable

    run = RunDir.existing(run_dir)
    require_readable(run, reads=EVERYTHING)
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
    type=Bounded(float, 1, 1000, above=True),
    default=1.5,
    show_default=True,
    help="Markedly worse: newest p95 above FACTOR x the previous runs' median p95 …",
)
@click.option(
    "--min-delta",
    type=Bounded(float, 0, 3600),
    default=0.1,
    show_default=True,
    help="… and at least this many seconds above it …",
)
@click.option(
    "--min-runs",
    type=Bounded(int, 1, 1000),
    default=3,
    show_default=True,
    help="… with at least this many previous runs.",
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

    Exits 1 when the newest run cannot be judged (unfinished, interrupted, torn or
    unreadable), breaks an --slo or is markedly worse than the previous runs; older
    unreadable or unfinished runs are skipped with a warning naming them.
    """
    from peerchaos.progress import status
    from peerchaos.report import trend as trends
    from peerchaos.report.trend_page import write_trend

    slos = [trends.parse_slo(text) for text in slo_texts]
    rule = trends.Rule(factor=factor, min_previous=min_runs, min_delta_s=min_delta)
    out = out_dir or experiment_dir
    with status(f"trend: reading {experiment_dir}"):
        runs, skipped = trends.collect(experiment_dir, ignore=(out,) if out_dir else ())
    if not runs and not skipped:
        raise UsageError(f"trend {experiment_dir}: no run directories in it")
    newest_broken = trends.unusable_newest(runs, skipped)
    for skip in skipped:
        if skip is not newest_broken:
            warn(f"trend: skipping {skip.path}: {skip.reason}")
    if newest_broken is not None:
        problem = f"newest run {newest_broken.path.name} cannot be judged: {newest_broken.reason}"
        findings = [trends.Finding("newest", "", True, problem)]
    else:
        findings = trends.check_slos(runs, slos) + trends.check_regressions(runs, rule)
    if runs:
        with status("trend: drawing"):
            written = write_trend(
                experiment_dir.resolve().name, runs, skipped, findings, slos, rule, out
            )
        _print_runs(runs)
    for finding in findings:
        if finding.kind == "slo" or (finding.breached and finding.kind != "newest"):
            click.echo(finding.message)
    if runs:
        click.echo(str(written["trend.html"]))
    if newest_broken is not None:
        warn(f"trend: {findings[0].message} ({newest_broken.path})")
        sys.exit(1)
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
