"""Timeline events and the crash-safe JSONL appender every observer writes through.

An event is a plain dict with `t` (wall clock, seconds), `mono` (CLOCK_MONOTONIC,
comparable across processes on one machine), `source` and `kind`. Several processes
(Ray actors) append to the same `events.jsonl`: each flush is a single `write()` on an
O_APPEND descriptor, so lines from different writers never interleave, and a batch is
flushed every few lines or milliseconds so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any


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
            os.write(self._fd, "".join(self._buffer).encode())
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


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All complete records; a line cut short by an interrupted run is skipped."""
    records = []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records
