"""On-the-wire tests of the cluster DNS server, queried with dnspython and dig."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from peerchaos.runtime.local.dns import ClusterDNSServer, DnsRecords

pytestmark = pytest.mark.timeout(30)

HOST = "127.0.0.1"
ZK0 = "zk-0.zk-hs.default.svc.cluster.local"
ZK1 = "zk-1.zk-hs.default.svc.cluster.local"
SRV_NAME = "_server._tcp.zk-hs.default.svc.cluster.local"
CS = "zk-cs.default.svc.cluster.local"
BIG = "big.default.svc.cluster.local"
BIG_IPS = tuple(f"10.1.{i // 200}.{i % 200 + 1}" for i in range(60))

RECORDS = DnsRecords(
    a={ZK0: ("10.0.0.10",), ZK1: ("10.0.0.11",), CS: ("10.96.0.5",), BIG: BIG_IPS},
    srv={SRV_NAME: ((0, 50, 2888, ZK0), (0, 50, 2888, ZK1))},
    ttl={CS: 30},
)


class ServerThread:
    """A ClusterDNSServer on its own event loop in a background thread."""

    def __init__(self, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = ClusterDNSServer(HOST, port=0, **kwargs)
        try:
            self.call(self.server.start())
        except BaseException:
            self.close()
            raise

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=5)

    def update(self, records: DnsRecords) -> None:
        async def _update() -> None:
            self.server.update(records)

        self.call(_update())

    @property
    def port(self) -> int:
        return self.server.port

    def close(self) -> None:
        try:
            self.call(self.server.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
            self.loop.close()


@pytest.fixture
def srv() -> Iterator[ServerThread]:
    st = ServerThread(default_ttl=5)
    try:
        st.update(RECORDS)
        yield st
    finally:
        st.close()


def udp(st: ServerThread, name: str, rdtype: str = "A", **kw: Any) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **kw)
    return dns.query.udp(q, HOST, port=st.port, timeout=2)


def tcp(st: ServerThread, name: str, rdtype: str = "A", **kw: Any) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **kw)
    return dns.query.tcp(q, HOST, port=st.port, timeout=2)


def addresses(msg: dns.message.Message) -> set[str]:
    return {rd.address for rrset in msg.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset}


def soa_of(msg: dns.message.Message) -> Any:
    (rrset,) = msg.authority
    assert rrset.rdtype == dns.rdatatype.SOA
    return rrset


def test_a_answer_with_default_and_per_name_ttl(srv: ServerThread) -> None:
    r = udp(srv, ZK0)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA and not r.flags & dns.flags.RA
    assert addresses(r) == {"10.0.0.10"}
    assert r.answer[0].ttl == 5
    r = tcp(srv, CS)
    assert addresses(r) == {"10.96.0.5"}
    assert r.answer[0].ttl == 30
    assert srv.server.queries_answered == 2


def test_update_changes_answer_and_bumps_serial(srv: ServerThread) -> None:
    serial_before = soa_of(udp(srv, "nope.cluster.local"))[0].serial
    srv.update(DnsRecords(a={ZK0: ("10.0.0.99", "10.0.0.98")}))
    assert addresses(udp(srv, ZK0)) == {"10.0.0.99", "10.0.0.98"}
    assert udp(srv, ZK1).rcode() == dns.rcode.NXDOMAIN
    assert soa_of(udp(srv, "nope.cluster.local"))[0].serial > serial_before
    assert srv.server.records.a == {ZK0: ("10.0.0.99", "10.0.0.98")}


def test_nxdomain_has_soa_with_minimum_default_ttl() -> None:
    st = ServerThread(default_ttl=7)
    try:
        st.update(RECORDS)
        r = udp(st, "zk-9.zk-hs.default.svc.cluster.local")
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert r.flags & dns.flags.AA
        assert not r.answer
        rrset = soa_of(r)
        soa = rrset[0]
        assert rrset.name.to_text() == "cluster.local."
        assert rrset.ttl == 7
        assert soa.minimum == 7
        assert soa.mname.to_text() == "ns.dns.cluster.local."
        assert soa.rname.to_text() == "hostmaster.cluster.local."
        assert (soa.refresh, soa.retry, soa.expire) == (7200, 1800, 86400)
    finally:
        st.close()


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [
        (ZK0, "AAAA"),
        (ZK0, "TXT"),
        (ZK0, "SRV"),
        (SRV_NAME, "A"),
        ("zk-hs.default.svc.cluster.local", "A"),  # empty non-terminal
        ("default.svc.cluster.local", "A"),
        ("svc.cluster.local", "A"),
    ],
)
def test_nodata(srv: ServerThread, name: str, rdtype: str) -> None:
    r = udp(srv, name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert not r.answer
    assert soa_of(r)[0].minimum == 5


def test_explicit_names_are_nodata_not_nxdomain(srv: ServerThread) -> None:
    name = "empty.default.svc.cluster.local"
    assert udp(srv, name).rcode() == dns.rcode.NXDOMAIN
    srv.update(DnsRecords(a=RECORDS.a, names=frozenset({name})))
    r = udp(srv, name)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer


def test_srv_with_additional_a_records(srv: ServerThread) -> None:
    r = udp(srv, SRV_NAME, "SRV")
    assert r.rcode() == dns.rcode.NOERROR
    (rrset,) = r.answer
    assert sorted((rd.port, rd.weight, rd.target.to_text()) for rd in rrset) == [
        (2888, 50, ZK0 + "."),
        (2888, 50, ZK1 + "."),
    ]
    glue = {rrset.name.to_text(): {rd.address for rd in rrset} for rrset in r.additional}
    assert glue == {ZK0 + ".": {"10.0.0.10"}, ZK1 + ".": {"10.0.0.11"}}


def test_zone_apex_soa_and_ns(srv: ServerThread) -> None:
    r = udp(srv, "cluster.local", "SOA")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0][0].mname.to_text() == "ns.dns.cluster.local."
    r = udp(srv, "cluster.local", "NS")
    assert [rd.target.to_text() for rd in r.answer[0]] == ["ns.dns.cluster.local."]


@pytest.mark.parametrize("name", ["example.com", "cluster.local.evil.org", "notcluster.local"])
def test_outside_zone_is_refused(srv: ServerThread, name: str) -> None:
    r = udp(srv, name)
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.answer and not r.flags & dns.flags.RA


def test_case_insensitive_and_echoes_question_case(srv: ServerThread) -> None:
    asked = "ZK-0.Zk-Hs.DEFAULT.svc.Cluster.Local."
    r = udp(srv, asked)
    assert addresses(r) == {"10.0.0.10"}
    assert r.answer[0].name.to_text() == asked


def test_non_query_opcode_is_notimp(srv: ServerThread) -> None:
    q = dns.message.make_query(ZK0, "A")
    q.set_opcode(dns.opcode.NOTIFY)
    r = dns.query.udp(q, HOST, port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.NOTIMP


def test_truncation_over_udp_full_answer_over_tcp(srv: ServerThread) -> None:
    r = udp(srv, BIG)
    assert r.flags & dns.flags.TC
    assert not r.answer
    # A large enough EDNS0 buffer lets the full answer through over UDP.
    r = udp(srv, BIG, use_edns=0, payload=4096)
    assert not r.flags & dns.flags.TC
    assert addresses(r) == set(BIG_IPS)
    # ... but a small advertised buffer still truncates.
    assert udp(srv, BIG, use_edns=0, payload=600).flags & dns.flags.TC
    r = tcp(srv, BIG)
    assert not r.flags & dns.flags.TC
    assert addresses(r) == set(BIG_IPS)


def test_garbage_does_not_kill_server(srv: ServerThread) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for junk in (b"", b"\x00", b"\x12\x34garbage-garbage", b"\xff" * 600):
            s.sendto(junk, (HOST, srv.port))
    # Over TCP a malformed message makes the server hang up.
    with socket.create_connection((HOST, srv.port), timeout=2) as c:
        c.sendall(struct.pack("!H", 5) + b"\x01\x02\x03\x04\x05")
        assert c.recv(100) == b""
    assert addresses(udp(srv, ZK0)) == {"10.0.0.10"}
    assert addresses(tcp(srv, ZK1)) == {"10.0.0.11"}


def test_stop_frees_port_and_is_idempotent() -> None:
    st = ServerThread()
    port = st.port
    assert port != 0
    st.call(st.server.stop())
    st.close()  # second stop() must be harmless
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind((HOST, port))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((HOST, port))
        t.listen()


def dig(st: ServerThread, *args: str) -> str:
    cmd = ["dig", f"@{HOST}", "-p", str(st.port), "+norecurse", "+tries=1", "+time=2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) is not installed")
@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_dig(srv: ServerThread, transport: str) -> None:
    out = dig(srv, transport, ZK0, "A")
    assert "status: NOERROR" in out
    assert " aa" in out.split("flags:")[1].split(";")[0]
    assert re.search(
        r"^zk-0\.zk-hs\.default\.svc\.cluster\.local\.\s+5\s+IN\s+A\s+10\.0\.0\.10$",
        out,
        re.MULTILINE,
    )
    # dig warns about any ".local" name (mDNS); anything else it complains about is our bug.
    warnings = [ln for ln in out.splitlines() if "WARNING" in ln and "Multicast DNS" not in ln]
    assert warnings == []
    assert "malformed" not in out.lower()


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) is not installed")
def test_dig_retries_truncated_answer_over_tcp(srv: ServerThread) -> None:
    out = dig(srv, "+bufsize=512", BIG, "A")
    assert "Truncated, retrying in TCP mode" in out
    assert "ANSWER: 60," in out
