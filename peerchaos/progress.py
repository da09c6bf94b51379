"""A live status line on a terminal, silence in CI logs.

Report generation and trend collection take seconds; on a terminal a rich status line
says what is happening. When stderr is not a TTY (CI, cron, a pipe) nothing is printed,
so logs keep only the one-line results and warnings.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Protocol


class Status(Protocol):
    def update(self, message: str) -> None: ...


class _Quiet:
    def update(self, message: str) -> None:
        pass


class _Live:
    def __init__(self, status: object) -> None:
        self._status = status

    def update(self, message: str) -> None:
        self._status.update(message)  # type: ignore[attr-defined]


def on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


@contextlib.contextmanager
def status(message: str) -> Iterator[Status]:
    """`with status("…") as live: live.update("…")` — a spinner only on a terminal."""
    if not on_terminal():
        yield _Quiet()
        return
    from rich.console import Console
    from rich.errors import LiveError

    live = Console(stderr=True, highlight=False).status(message)
    try:
        live.start()
    except LiveError:  # another live display (a caller's own status) owns the terminal
        yield _Quiet()
        return
    try:
        yield _Live(live)
    finally:
        live.stop()
