"""The `peerchaos export` command: a run's results for Prometheus and for CI.

    peerchaos export RUN_DIR                        # OpenMetrics text on stdout
    peerchaos export RUN_DIR --push URL             # to a Pushgateway (job peerchaos)
    peerchaos export RUN_DIR --textfile DIR         # DIR/peerchaos_<experiment>.prom
    peerchaos export RUN_DIR --format junit         # JUnit XML on stdout

`--newest-since EPOCH` takes RUN_DIR as an experiment's results dir and exports its
newest run started at or after EPOCH (what a nightly job just ran). Every argument, the
run dir and its summary are checked before anything is printed, written or pushed; a bad
one is one line on stderr and exit code 2. A push that fails (Pushgateway unreachable or
refusing) is one line and exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import click

from peerchaos.errors import UsageError
from peerchaos.report.commands import one_line_errors

FORMATS = ("openmetrics", "junit")


def newest_run(experiment_dir: Path, since: float) -> Path:
    """The experiment's newest run dir (run ids sort by their UTC start) started >= since."""
    from peerchaos.export.record import run_id_time

    if not experiment_dir.is_dir():
        raise UsageError(f"--newest-since: {experiment_dir}: no such directory")
    runs = [
        (started, path)
        for path in experiment_dir.iterdir()
        if path.is_dir() and (started := run_id_time(path.name)) is not None
    ]
    # A run id has whole seconds: a run started in the same second as `since` counts.
    fresh = sorted(run for run in runs if run[0] >= int(since))
    if not fresh:
        raise UsageError(
            f"--newest-since {since:.0f}: no run in {experiment_dir} started since then "
            f"({len(runs)} older runs)"
        )
    return fresh[-1][1]


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise UsageError(
            f"--newest-since: must be seconds since the epoch, e.g. $(date +%s) (got {text!r})"
        ) from None


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    default="openmetrics",
    show_default=True,
    metavar="openmetrics|junit",
    help="What to print: OpenMetrics text, or JUnit XML for CI.",
)
@click.option("--push", "push_url", metavar="URL", help="Push to this Prometheus Pushgateway.")
@click.option(
    "--textfile",
    "textfile_dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Write DIR/peerchaos_<experiment>.prom for node_exporter's textfile collector.",
)
@click.option(
    "--newest-since",
    "newest_since",
    metavar="EPOCH",
    help="RUN_DIR is an experiment dir: export its newest run started since EPOCH.",
)
@one_line_errors
def export(
    run_dir: Path,
    output_format: str,
    push_url: str | None,
    textfile_dir: Path | None,
    newest_since: str | None,
) -> None:
    """Print (or push, or write) RUN_DIR's figures as OpenMetrics, or its probes and checks
    as JUnit XML.

    Metric families: peerchaos_<figure>_seconds{experiment,stat[,view]}; a censored
    statistic is never a sample there but a lower bound in
    peerchaos_<figure>_at_least_seconds. See the README, "Exporting results".
    """
    from peerchaos.export import junit, openmetrics, push, record

    if output_format not in FORMATS:
        raise UsageError(f"--format: must be {' or '.join(FORMATS)} (got {output_format!r})")
    if output_format == "junit" and (push_url or textfile_dir):
        raise UsageError("--push and --textfile: OpenMetrics only (not with --format junit)")
    if push_url is not None:
        push.check_gateway_url(push_url)
    if textfile_dir is not None:
        push.check_textfile_dir(textfile_dir)
    since = _since(newest_since)
    if since is not None:
        run_dir = newest_run(run_dir, since)
    run = record.load_run(run_dir)
    if output_format == "junit":
        click.echo(junit.junit_xml(run))
        return
    registry = openmetrics.run_registry(run)
    if push_url is None and textfile_dir is None:
        click.echo(openmetrics.openmetrics_text(registry), nl=False)
        return
    if textfile_dir is not None:
        written = push.write_textfile(registry, textfile_dir, run.experiment)
        click.echo(f"wrote {written} ({run.experiment} {run.run_id})")
    if push_url is not None:
        push.push_to_pushgateway(registry, push_url, run.experiment)
        click.echo(
            f"pushed {run.experiment} {run.run_id} to {push_url} "
            f"(job {push.JOB}, experiment {run.experiment})"
        )
