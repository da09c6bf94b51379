"""The `peerchaos` command: its group, `manifests`, and where every subcommand comes from.

The commands live in modules of their own, one group of commands each, and are
registered here: the ensemble's life cycle (`ensemble_cli`: up, fault, down), watching
it (`observe_cli`: status, observe), a run dir's files (`rundir_cli`: measure, check),
`doctor_cli`, the reports, `kube_cli`, `jobs_cli` and `export_cli`.

Every failure a person can cause (bad spec, unknown pod, no ensemble up) ends as one
line on stderr and exit code 2 (1 for failures of the system under test), never a
traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from peerchaos.cli_input import OneLineGroup, one_line_errors
from peerchaos.doctor_cli import doctor
from peerchaos.ensemble_cli import down, fault, up
from peerchaos.export_cli import export
from peerchaos.jobs_cli import jobs
from peerchaos.kube_cli import kube
from peerchaos.manifests import render, to_yaml
from peerchaos.observe_cli import observe, status
from peerchaos.report.commands import report, trend
from peerchaos.rundir_cli import check, measure_cmd
from peerchaos.spec import load_spec


@click.group(cls=OneLineGroup)
@click.version_option(package_name="peerchaos")
def main() -> None:
    """Chaos and failover experiments for stateful peers (ZooKeeper) behind Kubernetes Services."""


@main.command()
@click.argument("spec", type=click.Path(path_type=Path), required=False)
@one_line_errors
def manifests(spec: Path | None) -> None:
    """Print the Kubernetes objects for SPEC (default spec when omitted)."""
    click.echo(to_yaml(render(load_spec(spec))), nl=False)


# In the order `peerchaos` always had them (the help lists them sorted anyway).
main.add_command(up)
main.add_command(status)
main.add_command(fault)
main.add_command(down)
main.add_command(observe)
main.add_command(measure_cmd)
main.add_command(check)
main.add_command(doctor)
main.add_command(report)
main.add_command(trend)
main.add_command(kube)
main.add_command(jobs)
main.add_command(export)

if __name__ == "__main__":
    main()
