"""What the `peerchaos` subcommand modules share: the consoles, `--state-dir`, SIGTERM.

Each group of commands lives in its own `*_cli.py` module and is registered on the
`peerchaos` group in `peerchaos.cli`; this holds the few pieces they all print with or
take, so every command says things the same way.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console

from peerchaos.runtime.local.ownership import DEFAULT_STATE_DIR

err = Console(stderr=True, highlight=False, soft_wrap=True)
# Piped into a file or CI log, tables get room for full DNS names instead of ellipses.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)

# A plain string, resolved by the runtime: an empty value (also `PEERCHAOS_STATE_DIR=`)
# is refused there instead of becoming "." on the way in.
STATE_DIR = click.option(
    "--state-dir",
    type=str,
    default=None,
    show_default=str(DEFAULT_STATE_DIR),
    envvar="PEERCHAOS_STATE_DIR",
    help="Where the local runtime keeps its state (one ensemble per dir, made by `up`).",
)


def terminate(signum: int, frame: object) -> None:
    """A SIGTERM handler for commands that start things."""
    # SIGTERM takes the same way out as Ctrl-C, so a half-started ensemble is torn down.
    raise KeyboardInterrupt
