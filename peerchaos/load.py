"""The *client* process in the Jepsen sense: one op in flight, every op recorded twice.

Every op is written twice — `invoke` before the request leaves, then `ok`, `fail` or
`info` — with wall-clock and monotonic times and the worker's id. `fail` means the op
certainly did not take effect (a compare-and-set that lost); anything uncertain
(timeout, connection loss, session expiry) is `info`, because the server may still
apply it. Every written value is unique (`<worker>-<counter>`), so a read says which
write it saw.

`LoadWorker` holds what every system's client shares — the op mix, the open-loop
schedule, the history, the final reads; a system's client (`System.load_worker_class`)
subclasses it and implements `connect`, `read`, `write`, `cas` and `close` against its
own server, recording each op with `_record`.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from peerchaos.events import JsonlAppender

KEY_ROOT = "/peerchaos/keys"


@dataclass
class LoadProfile:
    """What a worker does: the op mix, the keys, how fast."""

    keys: int = 5
    read: float = 0.5
    write: float = 0.3
    cas: float = 0.2
    rate: float = 0.0  # ops/s per process; 0 = as fast as one op in flight allows
    # Client processes per worker (each one op in flight, its own id), sharing a session.
    concurrency: int = 1
    op_timeout_s: float = 2.0
    session_timeout_s: float = 4.0
    # Each run writes under its own prefix: the checkers assume every key starts absent.
    prefix: str = "default"

    @property
    def root(self) -> str:
        return f"{KEY_ROOT}/{self.prefix}"

    def key_paths(self) -> list[str]:
        return [f"{self.root}/k{i}" for i in range(self.keys)]


@dataclass
class WorkerStats:
    ok: int = 0
    fail: int = 0
    info: int = 0
    by_f: dict[str, int] = field(default_factory=dict)


class LoadWorker:
    """One client process: at most one op in flight. Subclasses talk to a server.

    `share`, when given, is the first process of the same worker: the others use its
    session (a subclass reads `share`'s connection) and its history file."""

    def __init__(
        self,
        worker_id: str,
        hosts: str,
        history_path: str,
        profile: LoadProfile,
        seed: int = 0,
        share: LoadWorker | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.hosts = hosts
        self.profile = profile
        # Several processes of one worker share its session and history file.
        self.owner = share is None
        self.history = (
            JsonlAppender(history_path, flush_every=128, flush_s=0.05)
            if share is None
            else share.history
        )
        self.rng = random.Random(seed)
        self.counter = 0
        self.known: dict[str, tuple[Any, int]] = {}  # key -> (value, version) last seen
        self.stats = WorkerStats()
        self._stop = threading.Event()

    # -- what a system's client implements ---------------------------------------------

    def connect(self, timeout_s: float = 30.0) -> None:
        """Open the session and create every key of the profile (absent keys read None)."""
        raise NotImplementedError

    def read(self, key: str, final: bool = False) -> bool:
        """Read `key` (recorded, `final` marked); True when the read was acknowledged."""
        raise NotImplementedError

    def write(self, key: str) -> None:
        """Write a fresh unique value (`_next_value`) to `key`, recorded."""
        raise NotImplementedError

    def cas(self, key: str) -> None:
        """Compare-and-set `key` from the value last seen (`known`) to a fresh one."""
        raise NotImplementedError

    def close_session(self) -> None:
        """Close the connection this worker owns (never raises)."""

    # -- recording ---------------------------------------------------------------------

    def _record(self, kind: str, f: str, key: str, value: Any, **extra: Any) -> None:
        record = {"type": kind, "f": f, "key": key, "value": value, "process": self.worker_id}
        record.update(time=time.time(), mono=time.monotonic(), **extra)
        self.history.append(record)
        if kind != "invoke":
            setattr(self.stats, kind, getattr(self.stats, kind) + 1)
            self.stats.by_f[f"{f}:{kind}"] = self.stats.by_f.get(f"{f}:{kind}", 0) + 1

    def _next_value(self) -> str:
        self.counter += 1
        return f"{self.worker_id}-{self.counter}"

    # -- life cycle --------------------------------------------------------------------

    def run(self) -> None:
        """Issue ops until `stop()`; open loop at `rate`, or back to back when rate is 0."""
        keys = self.profile.key_paths()
        weights = [self.profile.read, self.profile.write, self.profile.cas]
        ops = [self.read, self.write, self.cas]
        interval = 1.0 / self.profile.rate if self.profile.rate > 0 else 0.0
        next_at = time.monotonic()
        while not self._stop.is_set():
            op = self.rng.choices(ops, weights)[0]
            op(self.rng.choice(keys))
            if interval:
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_at = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def final_reads(self, timeout_s: float = 30.0) -> int:
        """After the faults are healed: read every key until each read succeeds once."""
        deadline = time.monotonic() + timeout_s
        done = 0
        for key in self.profile.key_paths():
            while time.monotonic() < deadline:
                if self.read(key, final=True):
                    done += 1
                    break
                time.sleep(0.05)
        self.history.flush()
        return done

    def close(self) -> None:
        if not self.owner:
            return
        self.history.close()
        self.close_session()
