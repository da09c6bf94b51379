"""Client operations as plain data: the `Op` record, JSONL in and out, invoke/completion pairs.

A history is a list of ops in the order they were recorded. Every client operation
appears twice: an `invoke` when the client sends it, then a completion — `ok` (took
effect), `fail` (definitely did not take effect) or `info` (unknown: a timeout or a lost
connection; it may have taken effect at any time after its invoke). An invoke with no
completion at all (the run ended first) counts as `info`.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time as _time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

OpType = Literal["invoke", "ok", "fail", "info"]
OpF = Literal["read", "write", "cas"]
COMPLETIONS = ("ok", "fail", "info")


@dataclass(frozen=True)
class Op:
    """One event of a client operation; see the module docstring for the four types.

    `value`: write → the value written; cas → (expected, new); read invoke → None, read ok →
    the value read (None when the key is absent). `mono` orders events; `time` is for people.
    """

    type: OpType
    f: OpF
    key: str
    value: Any
    process: str | int
    time: float
    mono: float
    index: int | None = None
    version: int | None = None
    final: bool = False
    error: str | None = None

    def __post_init__(self) -> None:
        # JSON turns a cas pair into a list; a tuple keeps ops hashable and round trips equal.
        if isinstance(self.value, list):
            object.__setattr__(self, "value", tuple(self.value))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if isinstance(self.value, tuple):
            d["value"] = list(self.value)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Op:
        mono = d.get("mono", d.get("time"))
        if mono is None:
            raise ValueError(f"op has neither 'mono' nor 'time': {d!r}")
        return cls(
            type=d["type"],
            f=d["f"],
            key=str(d["key"]),
            value=d.get("value"),
            process=d["process"],
            time=float(d.get("time", mono)),
            mono=float(mono),
            index=d.get("index"),
            version=d.get("version"),
            final=bool(d.get("final", False)),
            error=d.get("error"),
        )


def with_indices(ops: Iterable[Op]) -> list[Op]:
    """The ops with `index` set to their position wherever it is missing."""
    return [op if op.index is not None else replace(op, index=i) for i, op in enumerate(ops)]


def write_jsonl(path: str | os.PathLike[str], ops: Iterable[Op]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for op in ops:
            f.write(json.dumps(op.to_dict()) + "\n")


def read_jsonl(path: str | os.PathLike[str]) -> list[Op]:
    """Load a history; a truncated last line (an interrupted run) is skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    ops: list[Op] = []
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            ops.append(Op.from_dict(json.loads(line)))
        except (json.JSONDecodeError, KeyError, ValueError) as e:
            if n == len(lines) - 1:
                break  # the writer died mid-line; everything before it is whole
            raise ValueError(f"{path}: line {n + 1} is not an op: {e}") from e
    return with_indices(ops)


class HistoryWriter:
    """Appends ops to a JSONL file, flushing every `flush_every` ops or `flush_s` seconds.

    Flushing often bounds what a crashed worker loses; `fsync=True` also survives a crash
    of the machine, at the cost of a disk round trip per flush.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        flush_every: int = 100,
        flush_s: float = 1.0,
        fsync: bool = False,
    ) -> None:
        self.path = Path(path)
        self.flush_every = flush_every
        self.flush_s = flush_s
        self.fsync = fsync
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._unflushed = 0
        self._last_flush = _time.monotonic()
        # Ray actors may record from several threads; one line must never interleave another.
        self._lock = threading.Lock()

    def append(self, op: Op) -> None:
        with self._lock:
            self._file.write(json.dumps(op.to_dict()) + "\n")
            self._unflushed += 1
            now = _time.monotonic()
            if self._unflushed >= self.flush_every or now - self._last_flush >= self.flush_s:
                self._flush_locked(now)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked(_time.monotonic())

    def _flush_locked(self, now: float) -> None:
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        self._unflushed = 0
        self._last_flush = now

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._flush_locked(_time.monotonic())
                self._file.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def pair_ops(history: Iterable[Op]) -> list[tuple[Op, Op | None]]:
    """Each invoke with its completion (the same process's next completion), in invoke order.

    An invoke left without one — the run ended, or the process invoked again, which only a
    restarted worker does — is paired with None and counts as `info`.
    """
    pairs: list[tuple[Op, Op | None]] = []
    pending: dict[str | int, int] = {}  # process -> position of its open invoke in `pairs`
    for op in history:
        if op.type == "invoke":
            pairs.append((op, None))
            pending[op.process] = len(pairs) - 1
        elif op.type in COMPLETIONS:
            at = pending.pop(op.process, None)
            if at is not None:  # a completion without an invoke carries no interval: drop it
                pairs[at] = (pairs[at][0], op)
    return pairs


@dataclass(frozen=True)
class Call:
    """An invoke and its completion seen as one operation over a real-time interval."""

    invoke: Op
    completion: Op | None

    @property
    def outcome(self) -> Literal["ok", "fail", "info"]:
        if self.completion is None:
            return "info"
        return self.completion.type  # type: ignore[return-value]

    @property
    def f(self) -> OpF:
        return self.invoke.f

    @property
    def key(self) -> str:
        return self.invoke.key

    @property
    def process(self) -> str | int:
        return self.invoke.process

    @property
    def start(self) -> float:
        return self.invoke.mono

    @property
    def end(self) -> float:
        """When the op was over; +inf when its effect, if any, may land at any later time."""
        if self.completion is None or self.completion.type == "info":
            return math.inf
        return self.completion.mono

    @property
    def written(self) -> Any:
        """The value this call writes (write or cas), else None."""
        if self.f == "write":
            return self.invoke.value
        if self.f == "cas":
            return self.invoke.value[1]
        return None

    @property
    def read(self) -> Any:
        """The value an ok read returned."""
        return self.completion.value if self.completion is not None else None

    @property
    def version(self) -> int | None:
        return self.completion.version if self.completion is not None else None

    @property
    def final(self) -> bool:
        return self.invoke.final or (self.completion is not None and self.completion.final)

    def describe(self) -> dict[str, Any]:
        """The call's two ops as plain dicts, for check reports."""
        return {
            "invoke": self.invoke.to_dict(),
            "completion": self.completion.to_dict() if self.completion else None,
        }


def calls(history: Iterable[Op]) -> list[Call]:
    """The history as calls (see `pair_ops`), indices assigned where missing."""
    return [Call(i, c) for i, c in pair_ops(with_indices(history))]


def iter_keys(cs: Iterable[Call]) -> Iterator[tuple[str, list[Call]]]:
    """Calls grouped by key, keys in first-seen order (P-compositionality: keys are independent)."""
    by_key: dict[str, list[Call]] = {}
    for c in cs:
        by_key.setdefault(c.key, []).append(c)
    yield from by_key.items()
