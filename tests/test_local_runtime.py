"""The local runtime against real ZooKeeper: DNS, readiness, the client Service, faults."""

from __future__ import annotations

import json
import socket

import pytest

from peerchaos import ensemble as ens
from peerchaos.errors import UsageError
from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.systems.zookeeper.fourletter import ask

from conftest import needs_root, needs_zookeeper, wait_until

pytestmark = needs_zookeeper


def names(runtime: LocalRuntime) -> tuple[str, str]:
    status = runtime.status()
    headless = f"{status['headless_service']}.{status['namespace']}.svc.cluster.local"
    return headless, status["namespace"]


def pod_ip(runtime: LocalRuntime, pod: str) -> str | None:
    return next(p.ip for p in runtime.pods() if p.name == pod)


def server_id_via(address: tuple[str, int]) -> int | None:
    """Which peer answered a connection: ZooKeeper's `conf` says its serverId."""
    try:
        reply = ask(address[0], address[1], "conf", timeout_s=2)
    except OSError:
        return None
    for line in reply.splitlines():
        if line.startswith("serverId="):
            return int(line.split("=", 1)[1])
    return None


def test_pods_resolve_each_other_through_cluster_dns(healthy: LocalRuntime) -> None:
    headless, _ = names(healthy)
    dns_server = healthy.dns_server()
    answer = ens.resolve(dns_server, headless)
    assert answer.rcode == "NOERROR"
    assert set(answer.addresses) == {p.ip for p in healthy.pods()}
    assert answer.ttl == 5
    for pod in healthy.pods():
        assert ens.resolve(dns_server, f"{pod.name}.{headless}").addresses == (pod.ip,)
    # The peers found each other by name: their own logs show the quorum formed.
    assert ens.current_leader(ens.roles(healthy)) is not None


def test_kill_recreates_pod_with_same_identity_and_new_ip(healthy: LocalRuntime) -> None:
    headless, _ = names(healthy)
    dns_server = healthy.dns_server()
    victim = ens.pick_target(healthy, "follower")
    old_ip = pod_ip(healthy, victim)
    before = next(p for p in healthy.pods() if p.name == victim)
    healthy.kill(victim)
    new_ip = wait_until(
        lambda: (ip := pod_ip(healthy, victim)) not in (None, old_ip) and ip,
        20,
        f"{victim} recreated with a new IP",
    )
    answer = wait_until(
        lambda: (a := ens.resolve(dns_server, f"{victim}.{headless}")).addresses == (new_ip,) and a,
        20,
        "the pod's DNS name to follow the new IP",
    )
    assert answer.rcode == "NOERROR"
    headless_answer = ens.resolve(dns_server, headless).addresses
    assert new_ip in headless_answer and old_ip not in headless_answer
    after = next(p for p in healthy.pods() if p.name == victim)
    assert after.restarts == before.restarts + 1
    # Same ordinal, myid and data dir: the recreated server says it is the same peer.
    myid = int(victim.rsplit("-", 1)[1]) + 1
    wait_until(lambda: server_id_via((new_ip, 2181)) == myid, 20, f"{victim} serving as myid")
    data_dir = healthy.state.pod_dir(victim) / "data"
    assert (data_dir / "myid").read_text().strip() == str(myid)
    assert (data_dir / "version-2").is_dir()


def test_kill_of_leader_elects_another(healthy: LocalRuntime) -> None:
    leader = ens.pick_target(healthy, "leader")
    epoch = ens.roles(healthy)[leader].epoch
    healthy.kill(leader)
    new_leader = ens.wait_for_leader(healthy, 20, exclude=leader)
    assert new_leader != leader
    assert ens.roles(healthy)[new_leader].epoch > epoch
    events = [json.loads(line) for line in healthy.state.events_file.read_text().splitlines()]
    kinds = [e["kind"] for e in events if e.get("pod") == leader]
    assert "fault" in kinds and "pod_exited" in kinds


def test_unready_keeps_pod_in_dns_when_publishing_not_ready(healthy: LocalRuntime) -> None:
    headless, _ = names(healthy)
    pod = "zk-0"
    ip = pod_ip(healthy, pod)
    healthy.make_unready(pod)
    wait_until(
        lambda: ip in next(e for e in healthy.endpoints() if e.service == "zk-hs").not_ready,
        10,
        "the endpoint to move to not-ready",
    )
    assert ip in ens.resolve(healthy.dns_server(), headless).addresses
    assert ens.resolve(healthy.dns_server(), f"{pod}.{headless}").addresses == (ip,)
    # The process keeps running and serving: no election happens.
    assert next(p for p in healthy.pods() if p.name == pod).phase == "Running"
    assert ens.roles(healthy)[pod].serving
    healthy.make_ready(pod)
    wait_until(lambda: next(p for p in healthy.pods() if p.name == pod).ready, 10, "ready again")


def test_client_service_never_forwards_to_unready_pod(healthy: LocalRuntime) -> None:
    vip = healthy.client_service_address()
    pod = ens.pick_target(healthy, "follower")
    myid = int(pod.rsplit("-", 1)[1]) + 1
    seen_before = {server_id_via(vip) for _ in range(6)}
    assert myid in seen_before  # round robin reaches every ready peer
    healthy.make_unready(pod)
    wait_until(
        lambda: pod_ip(healthy, pod) not in [b[0] for b in healthy.status()["backends"]["zk-cs"]],
        10,
        "the unready pod to leave the client Service",
    )
    seen = [server_id_via(vip) for _ in range(12)]
    assert myid not in seen
    assert len(set(seen) - {None}) == 2


def test_pause_is_noticed_by_followers(healthy: LocalRuntime) -> None:
    leader = ens.pick_target(healthy, "leader")
    healthy.pause(leader)
    try:
        assert next(p for p in healthy.pods() if p.name == leader).paused
        # syncLimit x tickTime = 1 s here: the followers give up on it and elect another.
        new_leader = ens.wait_for_leader(healthy, 20, exclude=leader)
        assert new_leader != leader
        assert ens.roles(healthy)[leader].mode == "unreachable"
    finally:
        healthy.resume(leader)
    wait_until(lambda: ens.roles(healthy)[leader].mode == "follower", 30, "old leader follows")


@needs_root
def test_partitioned_leader_is_replaced_by_the_majority(healthy: LocalRuntime) -> None:
    leader = ens.pick_target(healthy, "leader")
    healthy.partition([[leader]])
    try:
        new_leader = ens.wait_for_leader(healthy, 20, exclude=leader)
        assert new_leader != leader
        # The isolated peer loses its quorum and stops serving as leader.
        wait_until(lambda: ens.roles(healthy)[leader].mode != "leader", 20, "old leader steps down")
        assert healthy.status()["partition"] is not None
    finally:
        healthy.heal()
    wait_until(lambda: ens.roles(healthy)[leader].mode == "follower", 30, "old leader rejoins")


def test_faults_on_unknown_pods_are_one_line_errors(healthy: LocalRuntime) -> None:
    with pytest.raises(UsageError, match=r"^pod 'zk-9': no such pod \(pods: zk-0, zk-1, zk-2\)$"):
        healthy.kill("zk-9")
    with pytest.raises(UsageError, match="expected leader, follower, successor, random or a pod"):
        ens.pick_target(healthy, "the-boss")
    with pytest.raises(UsageError, match="unknown pod"):
        healthy.partition([["zk-7"]])
    with pytest.raises(UsageError, match="has a selector"):
        healthy.delete_endpoints("zk-cs")
    for action in (healthy.delete_endpoints, healthy.restore_endpoints):
        with pytest.raises(
            UsageError,
            match=r"^endpoints default/kubernetes: not one of the ensemble's Services "
            r"\(zk-hs, zk-cs\); refusing to touch it$",
        ):
            action("kubernetes")


def test_unready_drops_pod_from_dns_without_publishing_not_ready(
    strict_cluster: LocalRuntime,
) -> None:
    runtime = strict_cluster
    headless, _ = names(runtime)
    pod = "zk-1"
    ip = pod_ip(runtime, pod)
    assert ip in ens.resolve(runtime.dns_server(), headless).addresses
    runtime.make_unready(pod)
    try:
        wait_until(
            lambda: ip not in ens.resolve(runtime.dns_server(), headless).addresses,
            10,
            "headless DNS to drop the unready pod",
        )
        assert ens.resolve(runtime.dns_server(), f"{pod}.{headless}").rcode == "NXDOMAIN"
    finally:
        runtime.make_ready(pod)
    wait_until(
        lambda: ip in ens.resolve(runtime.dns_server(), headless).addresses, 10, "back in DNS"
    )


def test_deleting_selectorless_endpoints_empties_the_service(strict_cluster: LocalRuntime) -> None:
    runtime = strict_cluster
    vip = runtime.client_service_address()
    wait_until(lambda: server_id_via(vip) is not None, 15, "a peer behind the client Service")
    runtime.delete_endpoints("zk-cs")
    try:
        cs = next(e for e in runtime.endpoints() if e.service == "zk-cs")
        assert not cs.exists and cs.ready == ()
        assert server_id_via(vip) is None  # nothing behind the virtual IP any more
        # The Service's name still resolves: a ClusterIP Service keeps its virtual IP.
        assert ens.resolve(runtime.dns_server(), "zk-cs.default.svc.cluster.local").addresses
    finally:
        runtime.restore_endpoints("zk-cs")
    wait_until(lambda: server_id_via(vip) is not None, 15, "clients served again after restore")


def test_no_headless_endpoints_is_nxdomain_with_soa(strict_cluster: LocalRuntime) -> None:
    import dns.message
    import dns.query
    import dns.rcode

    runtime = strict_cluster
    headless, _ = names(runtime)
    for pod in runtime.pods():
        runtime.make_unready(pod.name)
    try:
        wait_until(
            lambda: ens.resolve(runtime.dns_server(), headless).rcode == "NXDOMAIN",
            10,
            "NXDOMAIN for a headless Service with no ready endpoint",
        )
        host, port = runtime.dns_server()
        reply = dns.query.udp(dns.message.make_query(headless, "A"), host, port=port, timeout=2)
        assert reply.rcode() == dns.rcode.NXDOMAIN and reply.authority
    finally:
        for pod in runtime.pods():
            runtime.make_ready(pod.name)
    wait_until(lambda: all(p.ready for p in runtime.pods()), 20, "all ready again")


def test_logs_have_millisecond_timestamps(healthy: LocalRuntime) -> None:
    log = healthy.logs("zk-0")
    stamped = [line for line in log.splitlines() if line[:4].isdigit()]
    assert stamped and all(line[19] == "." and line[20:23].isdigit() for line in stamped[:20])
    assert "QuorumPeer" in log


def test_status_reports_capabilities_and_dns(healthy: LocalRuntime) -> None:
    caps = healthy.capabilities()
    assert {"kill", "unready", "pause", "endpoints"} <= caps.faults
    host, port = healthy.dns_server()
    with socket.create_connection(healthy.client_service_address(), timeout=2):
        pass
    assert port == 53 and host.startswith("10.96.10.")
