"""The DNS probe: resolves the ensemble's names every period, raw and TTL-cached views.

It polls like the role probe (`probes.Poller`: absolute schedule, heartbeats, gaps) and
records only changed answers. All names are asked at once over one UDP socket, so a tick
costs the slowest answer, not the sum.
"""

from __future__ import annotations

import functools
import random
import socket
import time
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from peerchaos.events import JsonlAppender
from peerchaos.probes import Poller


def _answer(reply: dns.message.Message) -> tuple[str, tuple[str, ...], int]:
    addresses: list[str] = []
    ttl = 0
    for rrset in reply.answer:
        if rrset.rdtype == dns.rdatatype.A:
            addresses += [item.address for item in rrset]
            ttl = rrset.ttl
    if not reply.answer:
        for rrset in reply.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                ttl = min(rrset.ttl, rrset[0].minimum)
    return dns.rcode.to_text(reply.rcode()), tuple(sorted(addresses)), ttl


@functools.lru_cache(maxsize=1024)
def _query_wire(name: str) -> bytes:
    """The A query for `name`, built once: a probe asks it 50 times a second."""
    return dns.message.make_query(name, dns.rdatatype.A).to_wire()


def query_many(
    server: tuple[str, int], names: list[str], timeout_s: float
) -> dict[str, tuple[str, tuple[str, ...], int]]:
    """A records for all `names` at once over one UDP socket: a tick costs the slowest
    answer, not the sum. (rcode, sorted addresses, ttl); NXDOMAIN carries the negative
    TTL (the SOA minimum); a name without an answer in time is TIMEOUT."""
    results = {name: ("TIMEOUT", (), 0) for name in names}
    pending: dict[int, str] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in names:
            query_id = random.getrandbits(16)
            while query_id in pending:
                query_id = random.getrandbits(16)
            pending[query_id] = name
            sock.sendto(query_id.to_bytes(2, "big") + _query_wire(name)[2:], server)
        deadline = time.monotonic() + timeout_s
        while pending and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                wire, _ = sock.recvfrom(65535)
                reply = dns.message.from_wire(wire)
            except (TimeoutError, OSError):
                break
            except dns.exception.DNSException:
                continue  # a mangled datagram: its name stays pending
            name = pending.pop(reply.id, None)
            if name is not None:
                results[name] = _answer(reply)
    return results


class DnsProbe(Poller):
    """Resolves names each period; two views: raw (every answer) and cached (honours TTL).

    The cached view is a stub resolver's cache: an answer (or NXDOMAIN, for the SOA's
    negative TTL) is kept until its TTL runs out, then replaced by the next answer.
    """

    def __init__(
        self,
        probe_id: str,
        server: tuple[str, int],
        names: list[str],
        events: JsonlAppender,
        period_s: float = 0.02,
        timeout_s: float = 0.2,
        realtime: bool = False,
    ) -> None:
        super().__init__(period_s, realtime, health=self._health)
        self.probe_id = probe_id
        self.server = server
        self.names = names
        self.events = events
        self.timeout_s = timeout_s
        self.raw: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.cached: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.expires: dict[str, float] = {}

    def _health(self, kind: str, **fields: Any) -> None:
        self.events.append(
            {
                "t": time.time(),
                "mono": time.monotonic(),
                "source": f"dns-probe-{self.probe_id}",
                "kind": kind,
                "probe": f"dns-{self.probe_id}",
                "pod": None,
                **fields,
            }
        )

    def tick(self) -> None:
        t_sent = time.time()
        answers = query_many(self.server, self.names, self.timeout_s)
        now = time.monotonic()
        for name in self.names:
            rcode, addresses, ttl = answers[name]
            answer = (rcode, addresses)
            if self.raw.get(name) != answer:
                self.raw[name] = answer
                self._emit("raw", name, rcode, addresses, ttl, t_sent)
            if rcode == "TIMEOUT":
                continue  # a stub keeps its cache when the server does not answer
            if now >= self.expires.get(name, 0.0):
                self.expires[name] = now + ttl
                if self.cached.get(name) != answer:
                    self.cached[name] = answer
                    self._emit("cached", name, rcode, addresses, ttl, t_sent)

    def _emit(
        self, view: str, name: str, rcode: str, addresses: tuple[str, ...], ttl: int, t_sent: float
    ) -> None:
        record: dict[str, Any] = {
            "t": time.time(),
            "mono": time.monotonic(),
            "t_sent": t_sent,
            "source": f"dns-probe-{self.probe_id}",
            "kind": "dns",
            "probe": self.probe_id,
            "view": view,
            "name": name,
            "rcode": rcode,
            "addresses": list(addresses),
            "ttl": ttl,
        }
        self.events.append(record)
