"""Timeline events and the crash-safe JSONL appender every observer writes through.

An event is a plain dict with `t` (wall clock, seconds), `mono` (CLOCK_MONOTONIC,
comparable across processes on one machine), `source` and `kind`. Several processes
(Ray actors) append to the same `events.jsonl`: each flush is a single `write()` on an
O_APPEND descriptor, so lines from different writers never interleave, and a batch is
flushed every few lines or milliseconds so an interrupted run keeps what it measured.

Reading is strict: a line that is not a JSON object is an error naming `file:line`, never
skipped. One exception, by design: the *last* line of a file that does not end in a
newline — what a writer SIGKILLed in the middle of its `write()` leaves — is dropped with
a warning naming `file:line`, so a killed run's evidence can still be read. A file whose
final line is complete but garbled is an error like any other.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from peerchaos.errors import RunDirError

logger = logging.getLogger("peerchaos")
# Torn tails already reported, so a file read twice (a check, then the read) warns once.
_reported: set[tuple[str, int, int]] = set()


class JsonlAppender:
    """Buffered, thread-safe appends of JSON lines to one file."""

    def __init__(self, path: str | Path, flush_every: int = 64, flush_s: float = 0.1) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._buffer: list[str] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self.flush_every = flush_every
        self.flush_s = flush_s
        self.written = 0

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            self._buffer.append(line)
            due = time.monotonic() - self._last_flush >= self.flush_s
            if len(self._buffer) >= self.flush_every or due:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._buffer:
            write_whole(self._fd, "".join(self._buffer).encode())
            self.written += len(self._buffer)
            self._buffer.clear()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                self._flush_locked()
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def event(source: str, kind: str, **fields: Any) -> dict[str, Any]:
    """A timeline event stamped now."""
    return {"t": time.time(), "mono": time.monotonic(), "source": source, "kind": kind, **fields}


def write_whole(fd: int, data: bytes) -> None:
    """Write all of `data` to an O_APPEND descriptor: one `write()` (whole lines, so other
    writers' lines never land inside ours), continued only if the kernel took less."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _problem(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"not a JSON record ({error.msg}, column {error.colno})"
    return "not UTF-8 text"


def jsonl_lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for every non-blank line; see the module docstring."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return
    except OSError as error:
        raise RunDirError(f"{path}: cannot read ({error.strerror})") from None
    lines = raw.split(b"\n")
    cut_short = lines[-1] != b""  # the last write never finished its line
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except ValueError as error:  # UnicodeDecodeError and JSONDecodeError both
            if cut_short and number == len(lines):
                if (str(path), number, len(raw)) not in _reported:
                    _reported.add((str(path), number, len(raw)))
                    logger.warning(
                        f"peerchaos: {path}:{number}: last line cut short (its writer was "
                        "killed mid-write); ignored"
                    )
                return
            raise RunDirError(f"{path}:{number}: {_problem(error)}") from None
        yield number, record


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a JSONL file, in order; a missing file holds none.

    RunDirError naming `file:line` for a line that is not a JSON object, except a torn
    last line (see the module docstring)."""
    records = []
    for number, record in jsonl_lines(path):
        if not isinstance(record, dict):
            raise RunDirError(f"{path}:{number}: not a JSON object (got {type(record).__name__})")
        records.append(record)
    return records
