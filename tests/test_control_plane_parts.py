"""The control plane's parts on their own: probe thresholds, addresses, partitions,
endpoints and DNS records, the client Service proxy, `srvr` parsing."""

from __future__ import annotations

import asyncio

import pytest

from peerchaos.errors import UsageError
from peerchaos.manifests import render
from peerchaos.runtime.local.endpoints import PodView, dns_records, service_endpoints
from peerchaos.runtime.local.forwarder import ServiceForwarder
from peerchaos.runtime.local.network import AddressPool
from peerchaos.runtime.local.objects import Probe, ensemble_from_objects
from peerchaos.runtime.local.partition import blocked_sources, ruleset, validate_groups
from peerchaos.runtime.local.prober import ReadinessTracker
from peerchaos.spec import parse_spec
from peerchaos.systems.zookeeper.fourletter import parse_srvr

PROBE = Probe("ruok", 10, 1, success_threshold=2, failure_threshold=3, initial_delay_s=0)


def test_readiness_needs_consecutive_successes_and_failures() -> None:
    tracker = ReadinessTracker(PROBE)
    assert [tracker.record(ok) for ok in (True, False, True, True)] == [None, None, None, True]
    # Two failures and a success reset the count: still ready.
    assert [tracker.record(ok) for ok in (False, False, True)] == [None, None, None]
    assert [tracker.record(ok) for ok in (False, False, False)] == [None, None, False]
    assert tracker.ready is False


def test_address_pool_gives_a_recreated_pod_a_new_address() -> None:
    pool = AddressPool("10.244.0.0/24", first_offset=10, next_offset=13)
    first = [pool.take(f"10.244.0.{10 + i}") for i in range(3)]
    assert first == ["10.244.0.10", "10.244.0.11", "10.244.0.12"]
    pool.release("10.244.0.11")
    assert pool.take() == "10.244.0.13"
    # Wraps around, skipping what is in use.
    pool.next_offset = 255  # the broadcast address: never handed out
    assert pool.take() == "10.244.0.11"


def test_partition_groups_and_rules() -> None:
    pods = ["zk-0", "zk-1", "zk-2"]
    groups = validate_groups([["zk-0"]], pods)
    assert groups == [["zk-0"], ["zk-1", "zk-2"]]
    ips = {"zk-0": "10.0.0.1", "zk-1": "10.0.0.2", "zk-2": "10.0.0.3"}
    blocked = blocked_sources(groups, ips)
    assert blocked == {"zk-0": ["10.0.0.2", "10.0.0.3"], "zk-1": ["10.0.0.1"], "zk-2": ["10.0.0.1"]}
    assert "-A INPUT -s 10.0.0.2/32 -j DROP" in ruleset(blocked["zk-0"])
    with pytest.raises(UsageError, match="at least two groups"):
        validate_groups([pods], pods)
    with pytest.raises(UsageError, match="more than one group"):
        validate_groups([["zk-0"], ["zk-0", "zk-1"]], pods)


def _ensemble(**overrides: object):
    return ensemble_from_objects(render(parse_spec(overrides)))


def test_endpoints_follow_readiness_and_publishing() -> None:
    ensemble = _ensemble(publish_not_ready_addresses=False)
    pods = [
        PodView("zk-0", "10.244.0.10", running=True, ready=True),
        PodView("zk-1", "10.244.0.11", running=True, ready=False),
        PodView("zk-2", None, running=False, ready=False),
    ]
    endpoints = {
        svc.name: service_endpoints(svc, pods, ensemble.manual_endpoints, set())
        for svc in ensemble.services
    }
    assert endpoints["zk-hs"].ready == ("10.244.0.10",)
    assert endpoints["zk-hs"].not_ready == ("10.244.0.11",)
    records = dns_records(ensemble, pods, endpoints, {"zk-cs": "10.96.0.20"})
    assert records.a["zk-hs.default.svc.cluster.local"] == ("10.244.0.10",)
    assert "zk-1.zk-hs.default.svc.cluster.local" not in records.a
    assert records.a["zk-cs.default.svc.cluster.local"] == ("10.96.0.20",)
    srv = records.srv["_leader-election._tcp.zk-hs.default.svc.cluster.local"]
    assert srv == ((0, 100, 3888, "zk-0.zk-hs.default.svc.cluster.local"),)


def test_selectorless_endpoints_are_hand_written_and_deletable() -> None:
    ensemble = _ensemble(selectorless={"enabled": True, "addresses": ["10.244.0.50"]})
    cs = ensemble.service("zk-cs")
    assert cs.selector is None
    live = service_endpoints(cs, [], ensemble.manual_endpoints, set())
    assert live.ready == ("10.244.0.50",) and live.exists
    gone = service_endpoints(cs, [], ensemble.manual_endpoints, {"zk-cs"})
    assert gone.ready == () and not gone.exists


def test_srvr_parsing() -> None:
    reply = (
        "Zookeeper version: 3.8.0-debian, built on 2022\nLatency min/avg/max: 0/0.0/0\n"
        "Zxid: 0x300000002\nMode: leader\nNode count: 5\n"
    )
    role = parse_srvr(reply)
    assert (role.mode, role.epoch, role.version, role.serving) == (
        "leader",
        3,
        "3.8.0-debian",
        True,
    )
    assert parse_srvr("This ZooKeeper instance is not currently serving requests\n").mode == (
        "not-serving"
    )


def test_forwarder_spreads_new_connections_over_ready_backends_only() -> None:
    async def scenario() -> list[bytes]:
        async def backend(tag: bytes):
            async def handle(reader, writer):
                await reader.read(4)
                writer.write(tag)
                await writer.drain()
                writer.close()

            return await asyncio.start_server(handle, "127.0.0.1", 0)

        servers = [await backend(b"A"), await backend(b"B")]
        ports = [s.sockets[0].getsockname()[1] for s in servers]
        forwarder = ServiceForwarder("127.0.0.1", 0)
        await forwarder.start()
        vip_port = forwarder._server.sockets[0].getsockname()[1]

        async def ask() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", vip_port)
            writer.write(b"ping")
            await writer.drain()
            try:
                return await asyncio.wait_for(reader.read(), 2)
            except ConnectionResetError:
                return b"reset"
            finally:
                writer.close()

        answers = []
        forwarder.set_backends([("127.0.0.1", ports[0]), ("127.0.0.1", ports[1])])
        answers += [await ask() for _ in range(4)]
        forwarder.set_backends([("127.0.0.1", ports[1])])  # A turned unready
        answers += [await ask() for _ in range(3)]
        forwarder.set_backends([])
        answers.append(await ask())
        await forwarder.stop()
        for server in servers:
            server.close()
        return answers

    answers = asyncio.run(scenario())
    assert sorted(answers[:4]) == [b"A", b"A", b"B", b"B"]
    assert answers[4:7] == [b"B", b"B", b"B"]
    assert answers[7] in (b"", b"reset")
