"""etcd's client ops through the HTTP/JSON gateway (`etcd3gw`): read / write / cas.

A key is the profile's path used as an etcd key; its version is the key's
`mod_revision` (it grows with every write of the key; an absent key has none). Reads are
linearizable (etcd's default). A compare-and-set is a txn comparing the key's
mod_revision with the one last seen: `succeeded: false` says it certainly lost (`fail`);
a timeout, a refused or broken connection or an etcd error (no leader, request timed
out) is `info` — the member may still apply it. Each client process has its own HTTP
session; a session stays on the member its connection landed on until that breaks.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from typing import Any

from etcd3gw.client import Etcd3Client

from peerchaos.load import LoadProfile, LoadWorker

CANARY = "/peerchaos/canary"
API_PATH = "/v3/"  # etcd 3.4+; naming it saves a discovery round trip per client


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _host_port(hosts: str) -> tuple[str, int]:
    """The first `host:port` of a hosts string (the client Service's address)."""
    first = hosts.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    return host, int(port)


def make_client(host: str, port: int, timeout_s: float) -> Etcd3Client:
    return Etcd3Client(host=host, port=port, timeout=timeout_s, api_path=API_PATH)


class EtcdWorker(LoadWorker):
    """One client process on its own gateway session."""

    def __init__(
        self,
        worker_id: str,
        hosts: str,
        history_path: str,
        profile: LoadProfile,
        seed: int = 0,
        share: EtcdWorker | None = None,
    ) -> None:
        super().__init__(worker_id, hosts, history_path, profile, seed, share)
        host, port = _host_port(hosts)
        self.etcd = make_client(host, port, profile.op_timeout_s)

    def _put(self, key: str, value: str) -> int:
        """One put; the new mod_revision of the key (the response's revision)."""
        reply = self.etcd.post(
            self.etcd.get_url("/kv/put"), json={"key": _b64(key), "value": _b64(value)}
        )
        return int(reply["header"]["revision"])

    # -- operations ----------------------------------------------------------------

    def read(self, key: str, final: bool = False) -> bool:
        extra = {"final": True} if final else {}
        self._record("invoke", "read", key, None, **extra)
        try:
            found = self.etcd.get(key, metadata=True)
        except Exception as error:  # every gateway failure leaves the read unknown
            self._record("info", "read", key, None, error=type(error).__name__, **extra)
            return False
        if not found:
            # An absent key's mod_revision compares as 0: a cas from it creates the key.
            self.known[key] = (None, 0)
            self._record("ok", "read", key, None, version=None, **extra)
            return True
        data, meta = found[0]
        value = data.decode() if data else None
        version = int(meta["mod_revision"])
        self.known[key] = (value, version)
        self._record("ok", "read", key, value, version=version, **extra)
        return True

    def write(self, key: str) -> None:
        value = self._next_value()
        self._record("invoke", "write", key, value)
        try:
            version = self._put(key, value)
        except Exception as error:
            self._record("info", "write", key, value, error=type(error).__name__)
            self.known.pop(key, None)
            return
        self.known[key] = (value, version)
        self._record("ok", "write", key, value, version=version)

    def cas(self, key: str) -> None:
        if key not in self.known:
            self.read(key)  # learn a (value, mod_revision) to compare against
            return
        expected, version = self.known[key]
        new = self._next_value()
        self._record("invoke", "cas", key, [expected, new])
        txn = {
            "compare": [
                {"key": _b64(key), "result": "EQUAL", "target": "MOD", "mod_revision": version}
            ],
            "success": [{"request_put": {"key": _b64(key), "value": _b64(new)}}],
            "failure": [],
        }
        try:
            reply: dict[str, Any] = dict(self.etcd.transaction(txn))
        except Exception as error:
            self._record("info", "cas", key, [expected, new], error=type(error).__name__)
            self.known.pop(key, None)
            return
        self.known.pop(key, None)
        if not reply.get("succeeded"):
            self._record("fail", "cas", key, [expected, new], error="compare failed")
            return
        revision = int(reply["header"]["revision"])
        self.known[key] = (new, revision)
        self._record("ok", "cas", key, [expected, new], version=revision)

    # -- life cycle ------------------------------------------------------------------

    def connect(self, timeout_s: float = 30.0) -> None:
        """Nothing to create: an absent key reads as None; check the member answers."""
        self.etcd.status()

    def close_session(self) -> None:
        with contextlib.suppress(Exception):  # closing a session that is already gone
            self.etcd.session.close()


def canary_write(host: str, port: int, timeout_s: float) -> None:
    """One unique write of the canary key through `host:port`; raises when not acked."""
    client = make_client(host, port, timeout_s)
    try:
        client.put(CANARY, uuid.uuid4().hex)
    finally:
        client.session.close()
