"""The *client*: a kazoo session issuing read / write / compare-and-set, recorded as ops.

Every op is written twice — `invoke` before the request leaves, then `ok`, `fail` or
`info` — with wall-clock and monotonic times and the worker's id. `fail` means the op
certainly did not take effect (a compare-and-set that lost); anything uncertain
(timeout, connection loss, session expiry) is `info`, because the server may still
apply it. Every written value is unique (`<worker>-<counter>`), so a read says which
write it saw.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, KazooException, NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry

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
    """One client process in the Jepsen sense: at most one op in flight."""

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
        logging.getLogger("kazoo").setLevel(logging.CRITICAL)
        # Reconnect quickly and forever: the history must cover the whole fault.
        retry = KazooRetry(max_tries=-1, delay=0.02, backoff=1.5, max_delay=0.25)
        self.zk = (
            KazooClient(
                hosts=hosts,
                timeout=profile.session_timeout_s,
                connection_retry=retry,
                command_retry=None,
            )
            if share is None
            else share.zk
        )

    # -- recording ---------------------------------------------------------------

    def _record(self, kind: str, f: str, key: str, value: Any, **extra: Any) -> None:
        record = {"type": kind, "f": f, "key": key, "value": value, "process": self.worker_id}
        record.update(time=time.time(), mono=time.monotonic(), **extra)
        self.history.append(record)
        if kind != "invoke":
            setattr(self.stats, kind, getattr(self.stats, kind) + 1)
            self.stats.by_f[f"{f}:{kind}"] = self.stats.by_f.get(f"{f}:{kind}", 0) + 1

    def _wait(self, async_result: Any) -> Any:
        return async_result.get(timeout=self.profile.op_timeout_s)

    # -- operations ----------------------------------------------------------------

    def read(self, key: str, final: bool = False) -> bool:
        extra = {"final": True} if final else {}
        self._record("invoke", "read", key, None, **extra)
        try:
            data, stat = self._wait(self.zk.get_async(key))
        except NoNodeError:
            self._record("ok", "read", key, None, version=None, **extra)
            return True
        except (KazooException, Exception) as error:  # timeouts come as handler exceptions
            self._record("info", "read", key, None, error=type(error).__name__, **extra)
            return False
        value = data.decode() if data else None
        self.known[key] = (value, stat.version)
        self._record("ok", "read", key, value, version=stat.version, **extra)
        return True

    def write(self, key: str) -> None:
        value = self._next_value()
        self._record("invoke", "write", key, value)
        try:
            stat = self._wait(self.zk.set_async(key, value.encode()))
        except (KazooException, Exception) as error:
            self._record("info", "write", key, value, error=type(error).__name__)
            self.known.pop(key, None)
            return
        self.known[key] = (value, stat.version)
        self._record("ok", "write", key, value, version=stat.version)

    def cas(self, key: str) -> None:
        if key not in self.known:
            self.read(key)  # learn a (value, version) to compare against
            return
        expected, version = self.known[key]
        new = self._next_value()
        self._record("invoke", "cas", key, [expected, new])
        try:
            stat = self._wait(self.zk.set_async(key, new.encode(), version=version))
        except BadVersionError:
            self._record("fail", "cas", key, [expected, new], error="BadVersionError")
            self.known.pop(key, None)
            return
        except (KazooException, Exception) as error:
            self._record("info", "cas", key, [expected, new], error=type(error).__name__)
            self.known.pop(key, None)
            return
        self.known[key] = (new, stat.version)
        self._record("ok", "cas", key, [expected, new], version=stat.version)

    def _next_value(self) -> str:
        self.counter += 1
        return f"{self.worker_id}-{self.counter}"

    # -- life cycle ------------------------------------------------------------------

    def connect(self, timeout_s: float = 30.0) -> None:
        self.zk.start(timeout=timeout_s)
        for path in self.profile.key_paths():
            try:
                self.zk.ensure_path(self.profile.root)
                self.zk.create(path, b"")
            except NodeExistsError:
                pass

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
        try:
            self.zk.stop()
            self.zk.close()
        except Exception:
            pass  # closing a session that is already gone
