"""What the `peerchaos` command takes from a person: bounded option types, and every
failure as one line on stderr.

Click prints a usage block and a hint for a bad option; peerchaos prints one line naming
the command, the option, the limit and the value seen, e.g.
``peerchaos: observe: --duration: must be a finite number greater than 0 (got 'nan')``,
and exits 2. A `PeerchaosError` is its own line with its own exit code; anything else
(a bug) is one line too, with the traceback behind PEERCHAOS_DEBUG=1.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from peerchaos import bounded
from peerchaos.errors import PeerchaosError


def say(line: str) -> None:
    """One line on stderr, whatever it holds (newlines folded, markup not interpreted)."""
    click.echo(" ".join(line.split()), err=True)


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn PeerchaosError into `peerchaos: <line>` and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PeerchaosError as error:
            say(f"peerchaos: {error}")
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            say("peerchaos: interrupted")
            sys.exit(130)

    return wrapper


class Bounded(click.ParamType):
    """An integer or a finite number within limits (see `peerchaos.bounded`)."""

    def __init__(
        self,
        kind: type,
        low: float | None = None,
        high: float | None = None,
        above: bool = False,
    ) -> None:
        self.kind, self.low, self.high, self.above = kind, low, high, above
        self.name = "integer" if kind is int else "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            if self.kind is int:
                low = None if self.low is None else int(self.low)
                high = None if self.high is None else int(self.high)
                return bounded.integer(value, low, high)
            return bounded.real(value, self.low, self.high, self.above)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class Name(click.ParamType):
    """A name that becomes one directory (a run's experiment name)."""

    name = "name"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return bounded.name(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def _subcommand(ctx: click.Context | None) -> str:
    """'kube fault' for `peerchaos kube fault …`, whatever the program was called as."""
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def _usage_line(error: click.ClickException) -> str:
    where = _subcommand(getattr(error, "ctx", None))
    param = getattr(error, "param", None)
    if isinstance(error, click.BadParameter) and not isinstance(error, click.MissingParameter):
        if isinstance(param, click.Option):
            hint = "/".join(param.opts)
        elif param is not None:
            hint = param.human_readable_name
        else:
            hint = error.param_hint or "value"
        message = f"{hint}: {error.message}"
    else:
        message = error.format_message()
    return f"peerchaos: {where}: {message}" if where else f"peerchaos: {message}"


class OneLineGroup(click.Group):
    """A click group whose every failure, its own or a subcommand's, is one line."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.ClickException as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # `peerchaos` alone: the help
                error.show()
            else:
                say(_usage_line(error))
            sys.exit(error.exit_code)
        except click.exceptions.Abort:
            say("peerchaos: interrupted")
            sys.exit(130)
        except PeerchaosError as error:  # raised outside a command (e.g. while parsing)
            say(f"peerchaos: {error}")
            sys.exit(error.exit_code)
        except OSError as error:
            if error.errno == errno.EPIPE:  # `peerchaos manifests | head`: not our failure
                sys.exit(1)
            if os.environ.get("PEERCHAOS_DEBUG"):
                raise
            where = f": {error.filename}" if error.filename else ""
            say(f"peerchaos: {error.strerror or error}{where}")
            sys.exit(1)
        except Exception as error:
            if os.environ.get("PEERCHAOS_DEBUG"):
                raise
            say(
                f"peerchaos: internal error: {type(error).__name__}: {error} "
                "(PEERCHAOS_DEBUG=1 shows the traceback)"
            )
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)
