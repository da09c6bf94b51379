"""`peerchaos doctor`: what this machine needs for the local runtime.

It prints `peerchaos.doctor`'s checks and how to install what is missing, and exits 1
while something the chosen system needs is not there.
"""

from __future__ import annotations

import sys

import click

from peerchaos.cli_input import one_line_errors
from peerchaos.systems import DEFAULT_SYSTEM, available


@click.command()
@one_line_errors
@click.option(
    "--system",
    "system_name",
    type=click.Choice(available()),
    default=DEFAULT_SYSTEM,
    show_default=True,
    help="The system whose local needs to check.",
)
def doctor(system_name: str) -> None:
    """What this machine needs for the local runtime, and how to install what is missing."""
    from peerchaos.doctor import diagnose, format_checks, ready

    checks = diagnose(system=system_name)
    click.echo(format_checks(checks))
    sys.exit(0 if ready(checks) else 1)
