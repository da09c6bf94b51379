"""Client operations as plain data: the `Op` record, JSONL in and out, invoke/completion pairs.

A history is a list of ops in the order they were recorded. Every client operation
appears twice: an `invoke` when the client sends it, then a completion — `ok` (took
effect), `fail` (definitely did not take effect) or `info` (unknown: a timeout or a lost
connection; it may have taken effect at any time after its invoke). An invoke with no
completion at all (the run ended first) counts as `info`.

A history file is read strictly (see `peerchaos.events`): a line that is not an op is an
error naming `file:line`; only a torn last line — its writer was killed mid-write — is
dropped, with a warning. Writers write each op as one whole line in one `write()`.
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

from peerchaos.errors import RunDirError
from peerchaos.events import jsonl_lines, write_whole

OpType = Literal["invoke", "ok", "fail", "info"]
OpF = Literal["read", "write", "cas"]
COMPLETIONS = ("ok", "fail", "info")
TYPES = ("invoke", *COMPLETIONS)
FUNCTIONS = ("read", "write", "cas")


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name!r} must be a finite number (got {value!r})")
    return float(value)


def _optional_int(value: Any, name: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name!r} must be an integer or null (got {value!r})")
    return value


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
        """An op from its JSON form; ValueError naming the field that does not fit."""
        if d.get("type") not in TYPES:
            raise ValueError(f"'type' must be one of {', '.join(TYPES)} (got {d.get('type')!r})")
        if d.get("f") not in FUNCTIONS:
            raise ValueError(f"'f' must be one of {', '.join(FUNCTIONS)} (got {d.get('f')!r})")
        for name in ("key", "process"):
            if not isinstance(d.get(name), str | int) or isinstance(d.get(name), bool):
                raise ValueError(f"{name!r} must be a string or an integer (got {d.get(name)!r})")
        mono = d.get("mono", d.get("time"))
        if mono is None:
            raise ValueError("op has neither 'mono' nor 'time'")
        value = d.get("value")
        pair = isinstance(value, list | tuple) and len(value) == 2
        if d["f"] == "cas" and d["type"] == "invoke" and not pair:
            raise ValueError(f"a cas invoke's 'value' must be [expected, new] (got {value!r})")
        error = d.get("error")
        if error is not None and not isinstance(error, str):
            raise ValueError(f"'error' must be a string or null (got {error!r})")
        return cls(
            type=d["type"],
            f=d["f"],
            key=str(d["key"]),
            value=value,
            process=d["process"],
            time=_finite(d.get("time", mono), "time"),
            mono=_finite(mono, "mono"),
            index=_optional_int(d.get("index"), "index"),
            version=_optional_int(d.get("version"), "version"),
            final=bool(d.get("final", False)),
            error=error,
        )


def with_indices(ops: Iterable[Op]) -> list[Op]:
    """The ops with `index` set to their position wherever it is missing."""
    return [op if op.index is not None else replace(op, index=i) for i, op in enumerate(ops)]


def write_jsonl(path: str | os.PathLike[str], ops: Iterable[Op]) -> None:
    """Write a whole history: to a temp file, then renamed, so no reader sees half of it."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_text("".join(json.dumps(op.to_dict()) + "\n" for op in ops), encoding="utf-8")
    temp.replace(target)


def read_jsonl(path: str | os.PathLike[str]) -> list[Op]:
    """Load a history; RunDirError naming `file:line` for a line that is not an op."""
    if not Path(path).exists():
        raise RunDirError(f"{path}: no such file")
    ops: list[Op] = []
    for number, record in jsonl_lines(path):
        try:
            if not isinstance(record, dict):
                raise ValueError(f"not a JSON object (got {type(record).__name__})")
            ops.append(Op.from_dict(record))
        except ValueError as error:
            raise RunDirError(f"{path}:{number}: not an op: {error}") from None
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
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lines: list[str] = []
        self._last_flush = _time.monotonic()
        # Ray actors may record from several threads; one line must never interleave another.
        self._lock = threading.Lock()

    def append(self, op: Op) -> None:
        with self._lock:
            self._lines.append(json.dumps(op.to_dict()) + "\n")
            now = _time.monotonic()
            if len(self._lines) >= self.flush_every or now - self._last_flush >= self.flush_s:
                self._flush_locked(now)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked(_time.monotonic())

    def _flush_locked(self, now: float) -> None:
        # Whole lines in one write() on O_APPEND: a line never interleaves another
        # writer's, and a crash cuts at most the last one short.
        if self._lines:
            write_whole(self._fd, "".join(self._lines).encode("utf-8"))
            self._lines.clear()
            if self.fsync:
                os.fsync(self._fd)
        self._last_flush = now

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                self._flush_locked(_time.monotonic())
                os.close(self._fd)
                self._fd = -1

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
