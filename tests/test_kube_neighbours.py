"""An ensemble among others' objects, and two peerchaos ensembles in one namespace.

Against the fake API server: the ensemble deploys, breaks and heals its own peers and
tears down its own objects and claims, while a tools pod labelled `app=zk`, a claim made
by hand under a peer's claim name, another team's Service, partition-labelled policies
of another ensemble — and a whole second ensemble — stay byte for byte as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peerchaos.manifests import render
from peerchaos.spec import parse_spec

from fake_apiserver import FakeApiServer
from kube_world import UNTOUCHED, foreign, partition_policies, refusal, runtime_for

NS = "chaos"
ZK = parse_spec({"namespace": NS})
OTHER = parse_spec(
    {
        "name": "other",
        "namespace": NS,
        "headless_service": {"name": "other-hs"},
        "client_service": {"name": "other-cs"},
    }
)


@pytest.fixture
def chaos() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        server.cluster.add_namespace(NS, {"peerchaos.io/allow": "true"})
        yield server


def test_beside_others_objects_the_ensemble_selects_heals_and_removes_only_its_own(
    chaos: FakeApiServer, tmp_path: Path
) -> None:
    cluster = chaos.cluster
    # A tools pod labelled app=zk, a claim made by hand under a peer's claim name, a
    # Service of another team, partition-labelled policies that are not the ensemble's.
    cluster.add_pod(NS, "zk-tools", {"app": "zk"}, {"containers": [{"name": "zookeeper"}]})
    cluster.create(
        "persistentvolumeclaims",
        NS,
        {"metadata": {"name": "datadir-zk-0", "labels": {"team": "storage"}}, "spec": {}},
    )
    cluster.create(
        "services", NS, {"metadata": {"name": "billing"}, "spec": {"ports": [{"port": 8080}]}}
    )
    partition_policies(cluster, NS, "other")
    theirs = foreign(cluster, "zk")

    runtime = runtime_for(chaos, tmp_path, ZK, delete_pvcs=True)
    runtime.apply(render(ZK))
    runtime.wait_ready(10)
    tools_ip = cluster.pods[(NS, "zk-tools")].ip
    assert [p.name for p in runtime.pods()] == ["zk-0", "zk-1", "zk-2"]
    headless, client = runtime.endpoints()
    assert tools_ip not in headless.ready + headless.not_ready  # the selector has the label
    assert tools_ip not in client.ready + client.not_ready
    # Every pod and claim the StatefulSet made carries the ownership labels.
    for res in ("pods", "persistentvolumeclaims"):
        for name in cluster.names(res, NS):
            labels = cluster.objects[(res, NS, name)]["metadata"]["labels"]
            mine = labels.get("peerchaos.io/ensemble") == "zk"
            assert mine is (name not in ("zk-tools", "datadir-zk-0")), (res, name)
            assert mine is (labels.get("app.kubernetes.io/managed-by") == "peerchaos")

    runtime.partition([["zk-0"]])
    assert len(cluster.names("networkpolicies", NS)) == 4
    runtime.heal()
    assert cluster.names("networkpolicies", NS) == [
        "peerchaos-partition-other-0",
        "peerchaos-partition-other-1",
    ]
    assert refusal(runtime.delete_endpoints, "billing").startswith("endpoints chaos/billing: not")
    assert foreign(cluster, "zk") == theirs
    # A policy of another ensemble under a name the partition needs: refused before the
    # partition's first policy is created.
    cluster.create(
        "networkpolicies",
        NS,
        {
            "metadata": {
                "name": "peerchaos-partition-zk-1",
                "labels": {
                    "app.kubernetes.io/managed-by": "peerchaos",
                    "peerchaos.io/ensemble": "zk2",
                },
            },
            "spec": {"podSelector": {}},
        },
    )
    theirs = foreign(cluster, "zk")
    assert refusal(runtime.partition, [["zk-2"]]) == (
        "NetworkPolicy chaos/peerchaos-partition-zk-1: lacks the label peerchaos.io/ensemble=zk "
        f"(it has peerchaos.io/ensemble=zk2); refusing to replace it {UNTOUCHED}"
    )
    assert "peerchaos-partition-zk-0" not in cluster.names("networkpolicies", NS)

    removed = runtime.teardown()
    assert [r for r in removed if r.startswith("PersistentVolumeClaim")] == [
        f"PersistentVolumeClaim {NS}/datadir-zk-1",
        f"PersistentVolumeClaim {NS}/datadir-zk-2",
    ]
    assert runtime.kept == []
    assert foreign(cluster, "zk") == theirs  # byte for byte
    assert cluster.names("pods", NS) == ["zk-tools"]


def test_two_ensembles_in_one_namespace_heal_and_tear_down_only_their_own(
    chaos: FakeApiServer, tmp_path: Path
) -> None:
    cluster = chaos.cluster
    zk = runtime_for(chaos, tmp_path, ZK, delete_pvcs=True)
    other = runtime_for(chaos, tmp_path, OTHER, delete_pvcs=True)
    zk.apply(render(ZK))
    other.apply(render(OTHER))
    zk.wait_ready(10)
    other.wait_ready(10)
    other.partition([["other-1"]])
    other.pause("other-2")
    zk.partition([["zk-0"]])
    theirs = foreign(cluster, "zk")
    assert len([key for key in theirs if key[0] == "networkpolicies"]) == 2

    zk.heal()
    assert foreign(cluster, "zk") == theirs
    assert not any(key[2].startswith("peerchaos-partition-zk") for key in cluster.objects)
    zk.teardown()
    assert foreign(cluster, "zk") == theirs  # byte for byte: pods, claims, policies, Services
    assert {p.name for p in other.pods()} == {"other-0", "other-1", "other-2"}
    assert cluster.pods[(NS, "other-2")].paused  # zk's teardown resumed only its own
    assert other.is_up() and not zk.is_up()

    other.teardown()
    assert cluster.names("networkpolicies", NS) == []
    assert cluster.names("persistentvolumeclaims", NS) == []
    assert not cluster.pods
