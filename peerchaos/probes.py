"""Periodic observers: the role probe (`srvr` of every peer) and the DNS probe.

Both poll on an absolute schedule (start + n x period, never drifting) and record only
*changes* as timeline events, each stamped with the wall-clock and monotonic time the
answer arrived (`t`, `mono`) and when the question left (`t_sent`). Poll intervals are
kept so jitter can be measured.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from peerchaos.events import JsonlAppender
from peerchaos.zookeeper.fourletter import ask as ask_4lw
from peerchaos.zookeeper.fourletter import parse_srvr

PodAddresses = Callable[[], dict[str, tuple[str, int] | None]]


def _realtime_thread() -> bool:
    """Put the calling thread in the lowest real-time class (SCHED_FIFO 1) where allowed.

    A probe is a clock: on a busy node it must wake when its period says, not when the
    servers it watches yield the core. Its work per tick is a few packets, and the kernel
    caps real-time threads at 95% of a core, so it cannot starve the node.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (OSError, AttributeError):
        return False  # not root (or not Linux): normal scheduling
    return True


class Poller:
    """Calls `tick()` every `period_s` on its own thread until stopped."""

    def __init__(self, period_s: float, realtime: bool = False) -> None:
        self.period_s = period_s
        self.realtime = realtime
        self.intervals: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name=type(self).__name__)
        self._thread.start()

    def _loop(self) -> None:
        if self.realtime:
            _realtime_thread()
        next_at = time.monotonic()
        last_start = None
        while not self._stop.is_set():
            started = time.monotonic()
            if last_start is not None:
                self.intervals.append(started - last_start)
            last_start = started
            self.tick()
            next_at += self.period_s
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()  # overran: restart the schedule, never burst

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Every(Poller):
    """A poller that calls a function: one per peer, so a paused peer's timeout never
    delays the others' polls."""

    def __init__(self, period_s: float, action: Callable[[], None], realtime: bool = False) -> None:
        super().__init__(period_s, realtime)
        self.action = action

    def tick(self) -> None:
        self.action()


class RoleProbe:
    """Asks each peer `srvr` every period; one event whenever a peer's (mode, epoch) changes.

    Pod addresses come from the runtime (a recreated pod has a new IP) and are refreshed
    every `refresh_s` on a thread of their own.
    """

    def __init__(
        self,
        pods: PodAddresses,
        events: JsonlAppender,
        period_s: float = 0.01,
        timeout_s: float = 0.2,
        refresh_s: float = 0.1,
        realtime: bool = False,
    ) -> None:
        self.pods = pods
        self.events = events
        self.timeout_s = timeout_s
        self.addresses: dict[str, tuple[str, int] | None] = pods()
        self.last: dict[str, tuple[str, int | None, str | None]] = {}
        self.pollers = [
            _Every(period_s, lambda pod=pod: self.observe(pod, self.addresses.get(pod)), realtime)
            for pod in self.addresses
        ]
        self.refresher = _Every(refresh_s, self.refresh)

    @property
    def intervals(self) -> list[float]:
        return [i for poller in self.pollers for i in poller.intervals]

    def refresh(self) -> None:
        # When the runtime is busy the last known addresses stay.
        with contextlib.suppress(Exception):
            self.addresses = self.pods()

    def start(self) -> None:
        self.refresher.start()
        for poller in self.pollers:
            poller.start()

    def stop(self) -> None:
        for poller in [*self.pollers, self.refresher]:
            poller.stop()

    def observe(self, pod: str, address: tuple[str, int] | None) -> None:
        t_sent = time.time()
        if address is None:
            state: tuple[str, int | None, str | None] = ("unreachable", None, None)
        else:
            try:
                role = parse_srvr(ask_4lw(address[0], address[1], "srvr", self.timeout_s))
                zxid = None if role.zxid is None else hex(role.zxid)
                state = (role.mode, role.epoch, zxid)
            except OSError:
                state = ("unreachable", None, None)
        previous = self.last.get(pod)
        if previous is None or previous[:2] != state[:2]:
            self.last[pod] = state
            self.events.append(
                {
                    "t": time.time(),
                    "mono": time.monotonic(),
                    "t_sent": t_sent,
                    "source": "role-probe",
                    "kind": "role",
                    "pod": pod,
                    "ip": address[0] if address else None,
                    "mode": state[0],
                    "epoch": state[1],
                    "zxid": state[2],
                }
            )


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
        super().__init__(period_s, realtime)
        self.probe_id = probe_id
        self.server = server
        self.names = names
        self.events = events
        self.timeout_s = timeout_s
        self.raw: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.cached: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.expires: dict[str, float] = {}

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
