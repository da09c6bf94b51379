"""Cluster DNS: an authoritative-only server for the emulated ``cluster.local`` zone.

It answers the way CoreDNS's kubernetes plugin does (A and SRV records, NODATA for names
that exist without the asked type, NXDOMAIN with the zone SOA otherwise) and refuses
everything outside the zone: it never recurses or forwards, so no traffic leaves loopback.
dnslib is used only to encode and decode the wire format; the server loop is plain asyncio.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from dnslib import EDNS0, NS, OPCODE, QTYPE, RCODE, RR, SOA, SRV, A, DNSHeader, DNSRecord

log = logging.getLogger(__name__)

_UDP_MIN_PAYLOAD = 512  # RFC 1035 limit for clients that send no EDNS0 OPT record
_OUR_EDNS_PAYLOAD = 1232  # what we advertise back (the "DNS flag day 2020" size)
_TCP_IDLE_TIMEOUT = 30.0  # drop idle TCP clients so a stuck peer cannot pin a task forever
_BIND_ATTEMPTS = 5
_CLASS_IN, _CLASS_ANY = 1, 255


@dataclass(frozen=True)
class DnsRecords:
    """An immutable snapshot of the zone's records."""

    a: dict[str, tuple[str, ...]] = field(default_factory=dict)
    srv: dict[str, tuple[tuple[int, int, int, str], ...]] = field(default_factory=dict)
    ttl: dict[str, int] = field(default_factory=dict)
    names: frozenset[str] = frozenset()


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


class _Index(NamedTuple):
    """A snapshot normalised for lookup; swapped as one object so queries see one version."""

    records: DnsRecords
    a: dict[str, tuple[str, ...]]
    srv: dict[str, tuple[tuple[int, int, int, str], ...]]
    ttl: dict[str, int]
    existing: frozenset[str]  # every name that must not be NXDOMAIN, incl. empty non-terminals
    serial: int


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: ClusterDNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.server._handle(data, udp=True)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def connection_lost(self, exc: Exception | None) -> None:
        # Resolved once the socket is really closed, so stop() can promise a free port.
        if not self.closed.done():
            self.closed.set_result(None)


class ClusterDNSServer:
    """Authoritative DNS for ``zone`` over UDP and TCP on one (host, port)."""

    def __init__(
        self, host: str, port: int = 53, zone: str = "cluster.local", default_ttl: int = 5
    ) -> None:
        self.host = host
        self.port = port
        self.zone = _norm(zone)
        self.default_ttl = default_ttl
        self.queries_answered = 0
        self._udp: _UdpProtocol | None = None
        self._tcp: asyncio.Server | None = None
        self._tcp_writers: set[asyncio.StreamWriter] = set()
        self._index = self._build_index(DnsRecords(), serial=1)
        # Answers by query bytes minus the 2-byte ID, valid until the next update(): the
        # probes ask the same questions dozens of times a second, and parsing and packing
        # each one costs the control plane's single core most of its time.
        self._answers: dict[tuple[bool, bytes], bytes] = {}

    @property
    def records(self) -> DnsRecords:
        return self._index.records

    def update(self, records: DnsRecords) -> None:
        self._index = self._build_index(records, serial=self._index.serial + 1)
        self._answers = {}

    def _build_index(self, records: DnsRecords, serial: int) -> _Index:
        a = {_norm(k): v for k, v in records.a.items()}
        srv = {_norm(k): v for k, v in records.srv.items()}
        existing: set[str] = {self.zone}
        for name in (*a, *srv, *map(_norm, records.names)):
            # A name implies all its ancestors inside the zone (empty non-terminals).
            while name.endswith("." + self.zone):
                existing.add(name)
                name = name.split(".", 1)[1]
        ttl = {_norm(k): v for k, v in records.ttl.items()}
        return _Index(records, a, srv, ttl, frozenset(existing), serial)

    async def start(self) -> None:
        if self._udp is not None:
            raise RuntimeError("DNS server already started")
        loop = asyncio.get_running_loop()
        for attempt in range(_BIND_ATTEMPTS):
            transport, proto = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self.port)
            )
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError:
                # Port 0 gave us a UDP port whose TCP twin is taken: try another one.
                transport.close()
                await proto.closed
                if self.port != 0 or attempt == _BIND_ATTEMPTS - 1:
                    raise
                continue
            self._udp, self.port = proto, port
            log.info("cluster DNS for %s listening on %s:%d", self.zone, self.host, port)
            return

    async def stop(self) -> None:
        udp, tcp, self._udp, self._tcp = self._udp, self._tcp, None, None
        if udp is not None and udp.transport is not None:
            udp.transport.close()
            await udp.closed
        if tcp is not None:
            tcp.close()
            for writer in list(self._tcp_writers):
                writer.close()  # Server.close() leaves accepted connections open
            await tcp.wait_closed()

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tcp_writers.add(writer)
        try:
            while True:
                prefix = await asyncio.wait_for(reader.readexactly(2), _TCP_IDLE_TIMEOUT)
                (length,) = struct.unpack("!H", prefix)
                data = await asyncio.wait_for(reader.readexactly(length), _TCP_IDLE_TIMEOUT)
                reply = self._handle(data, udp=False)
                if reply is None:
                    return  # malformed: hang up, as there is no way to resync the stream
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            self._tcp_writers.discard(writer)
            writer.close()

    def _handle(self, data: bytes, *, udp: bool) -> bytes | None:
        """Wire in, wire out; None means "drop it". Never raises: one bad packet must not
        take the cluster's DNS down."""
        key = (udp, data[2:])
        cached = self._answers.get(key)
        if cached is not None and len(data) >= 12:
            self.queries_answered += 1
            return data[:2] + cached[2:]
        answer = self._answer(data, udp=udp)
        if answer is not None and len(self._answers) < 4096:
            self._answers[key] = answer
        return answer

    def _answer(self, data: bytes, *, udp: bool) -> bytes | None:
        try:
            query = DNSRecord.parse(data)
            if query.header.qr:
                return None  # a response sent to us; answering could start a loop
            reply = self._resolve(query)
            limit = 65535
            opt = next((rr for rr in query.ar if rr.rtype == QTYPE.OPT), None)
            if udp:
                limit = max(_UDP_MIN_PAYLOAD, opt.rclass) if opt is not None else _UDP_MIN_PAYLOAD
            if opt is not None:
                reply.add_ar(EDNS0(udp_len=_OUR_EDNS_PAYLOAD))
            wire = reply.pack()
            if len(wire) > limit:
                # Header + question with TC set: the client retries over TCP.
                reply.header.tc = 1
                wire = DNSRecord(reply.header, questions=reply.questions).pack()
        except Exception:
            log.debug("dropping malformed DNS packet (%d bytes)", len(data), exc_info=True)
            return None
        self.queries_answered += 1
        return wire

    def _resolve(self, query: DNSRecord) -> DNSRecord:
        hdr = query.header
        reply = DNSRecord(
            DNSHeader(id=hdr.id, bitmap=0, qr=1, opcode=hdr.opcode, rd=hdr.rd, ra=0),
            questions=list(query.questions),
        )
        if hdr.opcode != OPCODE.QUERY:
            reply.header.rcode = RCODE.NOTIMP
            return reply
        if len(query.questions) != 1:
            reply.header.rcode = RCODE.FORMERR
            return reply
        q = query.q
        name = _norm(str(q.qname))
        in_zone = name == self.zone or name.endswith("." + self.zone)
        if not in_zone or q.qclass not in (_CLASS_IN, _CLASS_ANY):
            reply.header.rcode = RCODE.REFUSED  # authoritative only: never recurse
            return reply

        idx = self._index
        reply.header.aa = 1
        qtype, any_type = q.qtype, q.qtype == QTYPE.ANY
        if name == self.zone and (qtype == QTYPE.SOA or any_type):
            reply.add_answer(self._soa(q.qname, idx.serial))
        if name == self.zone and (qtype == QTYPE.NS or any_type):
            reply.add_answer(RR(q.qname, QTYPE.NS, ttl=self.default_ttl, rdata=NS(self._ns)))
        if name in idx.a and (qtype == QTYPE.A or any_type):
            for ip in idx.a[name]:
                reply.add_answer(RR(q.qname, QTYPE.A, ttl=self._ttl(name), rdata=A(ip)))
        if name in idx.srv and (qtype == QTYPE.SRV or any_type):
            for prio, weight, port, target in idx.srv[name]:
                rdata = SRV(prio, weight, port, target)
                reply.add_answer(RR(q.qname, QTYPE.SRV, ttl=self._ttl(name), rdata=rdata))
                # Glue the targets' addresses so clients need no second round trip.
                for ip in idx.a.get(_norm(target), ()):
                    ttl = self._ttl(_norm(target))
                    reply.add_ar(RR(target, QTYPE.A, ttl=ttl, rdata=A(ip)))
        if not reply.rr:
            if name not in idx.existing:
                reply.header.rcode = RCODE.NXDOMAIN
            # NODATA and NXDOMAIN both carry the SOA: its minimum is the negative-cache TTL.
            reply.add_auth(self._soa(self.zone, idx.serial))
        return reply

    @property
    def _ns(self) -> str:
        return f"ns.dns.{self.zone}"

    def _ttl(self, name: str) -> int:
        return self._index.ttl.get(name, self.default_ttl)

    def _soa(self, owner: object, serial: int) -> RR:
        times = (serial, 7200, 1800, 86400, self.default_ttl)
        rdata = SOA(self._ns, f"hostmaster.{self.zone}", times)
        return RR(owner, QTYPE.SOA, ttl=self.default_ttl, rdata=rdata)
