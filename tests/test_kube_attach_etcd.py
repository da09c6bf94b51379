"""deploy: attach for etcd — the Bitnami etcd chart's StatefulSet, seen and broken through
the same generic attach as ZooKeeper's, against the fake API server (the official client
on the wire; tests/data/attach/etcd-bitnami.yaml, written from the chart's templates)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from peerchaos.kube_cli import describe_seen
from peerchaos.runtime.kubernetes.podexec import find_server
from peerchaos.systems import get_system

from conftest import wait_until
from fake_apiserver import FakeApiServer
from kube_world import attach_world, attached_runtime, their_deployment

NS = "shop"
ETCD = get_system("etcd")


def etcd_log_line(pod: str, image: str, instance: int) -> str:
    """A member's zap JSON line, as etcd 3.5 writes it."""
    message = f"raft.node: 1 elected leader 2 at term {instance + 2}"
    return json.dumps({"level": "info", "ts": "2026-11-26T10:00:00.123Z", "msg": message}) + "\n"


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with attach_world() as server:
        server.cluster.log_line = etcd_log_line
        yield server


def test_the_bitnami_etcd_chart_is_seen_with_where_each_value_came_from(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(fake.cluster, NS, "etcd-bitnami")
    before = fake.cluster.dump()
    runtime = attached_runtime(fake, tmp_path, NS, "etcd")
    seen = runtime.attach()
    assert (seen.system, seen.statefulset, seen.container, seen.replicas) == (
        "etcd",
        "etcd",
        "etcd",
        3,
    )
    assert (seen.headless_service, seen.publish_not_ready_addresses) == ("etcd-headless", True)
    assert (seen.client_service, seen.client_service_port) == ("etcd", 2379)
    assert seen.pdb == {"name": "etcd", "minAvailable": 2}
    settings = seen.settings
    assert settings["client_port"] == {"value": 2379, "source": "env ETCD_LISTEN_CLIENT_URLS"}
    assert settings["server_port"] == {"value": 2380, "source": "env ETCD_LISTEN_PEER_URLS"}
    # Not set by the chart: etcd's own defaults, said to be assumed.
    assert settings["election_timeout_ms"]["value"] == 1000
    assert seen.readiness_probe["kind"] == "health"
    assert seen.problems == []
    spec = runtime.spec
    assert spec.system == "etcd"
    assert spec.pod_fqdn("etcd-1") == f"etcd-1.etcd-headless.{NS}.svc.cluster.local"
    assert spec.headless_service.server_port == 2380 and spec.client_service.port == 2379
    # What `peerchaos kube attach` prints for it: etcd's own lines, each value's source.
    lines = describe_seen(seen.to_dict())
    assert (
        "  ports: client 2379 (env ETCD_LISTEN_CLIENT_URLS), peer 2380 (env ETCD_LISTEN_PEER_URLS)"
        in lines
    )
    assert any(
        line.startswith("  Raft: heartbeat 100 ms") and "pre-vote false" in line for line in lines
    )
    assert fake.cluster.dump() == before  # reading changed nothing
    execs = fake.cluster.changes()
    assert execs and execs[0].query["command"] == find_server(ETCD.server_process_pattern)


def test_a_kill_reaches_their_etcd_pod_and_their_statefulset_brings_it_back(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(fake.cluster, NS, "etcd-bitnami")
    runtime = attached_runtime(fake, tmp_path, NS, "etcd", watch=True, watch_period_s=0.05)
    runtime.attach()
    runtime.watch()
    try:
        old = fake.cluster.get("pods", NS, "etcd-1")
        runtime.kill("etcd-1")
        back = wait_until(lambda: fake.cluster.get("pods", NS, "etcd-1"), 5, "etcd-1 recreated")
        assert back["metadata"]["uid"] != old["metadata"]["uid"]
        runtime.copy_logs(tmp_path / "peers")
        truth = ETCD.parse_logs(tmp_path / "peers")
        assert any(e["kind"] == "peer_state" and e["state"] == "follower" for e in truth)
    finally:
        runtime.teardown()
    assert fake.cluster.names("statefulsets", NS) == ["etcd"]
