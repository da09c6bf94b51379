"""ZooKeeper's client ops: a kazoo session issuing read / write / compare-and-set.

A key is a znode under the profile's root; its version is the znode's. A compare-and-set
is a conditional `set` on the version last seen: `BadVersionError` says it certainly
lost (`fail`); a timeout or a lost connection is `info`. The canary write of
`ensemble.canary_write` is one `set` (or `create`) of `/peerchaos/canary`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, KazooException, NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry

from peerchaos.load import LoadProfile, LoadWorker

CANARY = "/peerchaos/canary"


class ZooKeeperWorker(LoadWorker):
    """One client process on a kazoo session (shared by the worker's processes)."""

    def __init__(
        self,
        worker_id: str,
        hosts: str,
        history_path: str,
        profile: LoadProfile,
        seed: int = 0,
        share: ZooKeeperWorker | None = None,
    ) -> None:
        super().__init__(worker_id, hosts, history_path, profile, seed, share)
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

    # -- life cycle ------------------------------------------------------------------

    def connect(self, timeout_s: float = 30.0) -> None:
        self.zk.start(timeout=timeout_s)
        for path in self.profile.key_paths():
            try:
                self.zk.ensure_path(self.profile.root)
                self.zk.create(path, b"")
            except NodeExistsError:
                pass

    def close_session(self) -> None:
        try:
            self.zk.stop()
            self.zk.close()
        except Exception:
            pass  # closing a session that is already gone


def canary_write(host: str, port: int, timeout_s: float) -> None:
    """One unique write of the canary znode through `host:port`; raises when not acked."""
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    client = KazooClient(hosts=f"{host}:{port}", timeout=5, connection_retry=None)
    try:
        client.start(timeout=timeout_s)
        client.ensure_path("/peerchaos")
        value = uuid.uuid4().hex.encode()
        if client.exists(CANARY):
            client.set(CANARY, value)
        else:
            client.create(CANARY, value)
    finally:
        client.stop()
        client.close()
