"""deploy: attach — what forbids attaching, and bad attach configuration, in one line.

Each refusal names the object and the setting to change, comes before any fault, and
leaves the cluster as it was. Against the fake API server with the deployments of
tests/data/attach/ changed the way people's deployments differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peerchaos.ctk.config import read_config
from peerchaos.errors import PeerchaosError, SpecError

from fake_apiserver import FakeApiServer
from kube_world import (
    another_teams_web,
    attach_world,
    attached_runtime,
    their_deployment,
    their_objects,
)

NS = "shop"


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with attach_world() as server:
        yield server


def without(kind: str, name: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def change(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [o for o in objects if (o["kind"], o["metadata"]["name"]) != (kind, name)]

    return change


def with_env(name: str, value: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def change(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        container = objects[-1]["spec"]["template"]["spec"]["containers"][0]
        container["env"].append({"name": name, "value": value})
        return objects

    return change


def scaled_to(replicas: int) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def change(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        objects[-1]["spec"]["replicas"] = replicas
        return objects

    return change


FORBIDDEN = [
    (
        "bitnami",
        "zk-zookeeper",
        with_env("ZOO_TLS_CLIENT_ENABLE", "yes"),
        f"StatefulSet {NS}/zk-zookeeper: ZOO_TLS_CLIENT_ENABLE=yes removes the plain client "
        "port, and peerchaos's role probe asks each peer `srvr` over plain TCP; set "
        "ZOO_TLS_CLIENT_ENABLE=no",
    ),
    (
        "tutorial",
        "zk",
        without("Service", "zk-cs"),
        f"StatefulSet {NS}/zk: no ClusterIP Service selects its pods on the client port 2181; "
        "peerchaos's load and DNS observers need one (a Service with selector "
        "app.kubernetes.io/name=zk)",
    ),
    (
        "tutorial",
        "zk",
        without("Service", "zk-hs"),
        f"StatefulSet {NS}/zk: its serviceName zk-hs names no Service; the peers' DNS names "
        "need that headless Service",
    ),
    (
        "official",
        "zookeeper",
        scaled_to(12),
        f"StatefulSet {NS}/zookeeper as attached: replicas: must be at most 9 (got 12)",
    ),
    (
        "official",
        "zookeeper",
        scaled_to(0),
        f"StatefulSet {NS}/zookeeper: scaled to 0 replicas; there is no peer to break",
    ),
]


@pytest.mark.parametrize(("fixture", "name", "change", "line"), FORBIDDEN)
def test_what_forbids_attaching_is_one_line_naming_the_setting(
    fake: FakeApiServer, tmp_path: Path, fixture: str, name: str, change: Any, line: str
) -> None:
    their_deployment(fake.cluster, NS, fixture, change(their_objects(fixture, NS)))
    before = fake.cluster.dump()
    runtime = attached_runtime(fake, tmp_path, NS, name)
    with pytest.raises(PeerchaosError) as refused:
        runtime.preflight()
    assert str(refused.value) == line
    with pytest.raises(PeerchaosError, match="^" + line.split(":")[0]):
        runtime.kill(f"{name}-0")  # no fault once attaching is refused
    assert fake.cluster.dump() == before
    assert [r.method for r in fake.cluster.requests if r.method != "GET"] == []


def test_a_namespace_that_did_not_opt_in_a_missing_or_a_foreign_statefulset(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    fake.cluster.add_namespace("prod", {"team": "storage"})
    their_deployment(fake.cluster, "prod", "tutorial")
    another_teams_web(fake.cluster, NS)
    cases = [
        (
            "prod",
            "zk",
            "namespace prod: lacks the label peerchaos.io/allow=true that lets peerchaos "
            "break pods there; add it with `kubectl label namespace prod "
            "peerchaos.io/allow=true`",
        ),
        (
            NS,
            "zk",
            f"StatefulSet {NS}/zk: does not exist (configuration.attach.statefulset)",
        ),
        (
            NS,
            "web",
            f"StatefulSet {NS}/web: no container looks like ZooKeeper (image, ZOO_* "
            "environment or ports 2181/2888/3888) or etcd (an etcd image or an etcd "
            "command); peerchaos attaches to ZooKeeper or etcd only",
        ),
    ]
    before = fake.cluster.dump()
    for ns, name, line in cases:
        with pytest.raises(PeerchaosError) as refused:
            attached_runtime(fake, tmp_path, ns, name).preflight()
        assert str(refused.value) == line
    assert fake.cluster.changes() == [] and fake.cluster.dump() == before


def test_a_pid_one_server_is_fine_once_the_pod_shares_its_process_namespace(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    objects = their_objects("bitnami", NS)
    objects[-1]["spec"]["template"]["spec"]["shareProcessNamespace"] = True
    their_deployment(fake.cluster, NS, "bitnami", objects)
    runtime = attached_runtime(fake, tmp_path, NS, "zk-zookeeper")
    assert runtime.capabilities().supports("pause")
    runtime.pause("zk-zookeeper-2")
    assert fake.cluster.pods[(NS, "zk-zookeeper-2")].paused
    runtime.teardown()
    assert not fake.cluster.pods[(NS, "zk-zookeeper-2")].paused


def test_without_a_running_pod_pause_is_refused_for_want_of_evidence(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(fake.cluster, NS, "tutorial")
    for pod in ("zk-0", "zk-1", "zk-2"):
        fake.cluster.objects[("pods", NS, pod)]["status"]["phase"] = "Pending"
    seen = attached_runtime(fake, tmp_path, NS, "zk").attach()
    assert seen.shell == {"present": None, "evidence": "no running pod to look at"}
    assert seen.faults["reasons"]["pause"] == (
        f"no running pod of StatefulSet {NS}/zk to check that its image has a shell and that "
        "the ZooKeeper server is not PID 1 (pause is a SIGSTOP sent through exec)"
    )
    assert fake.cluster.changes() == []


BASE = {"runtime": "kubernetes", "deploy": "attach", "namespace": NS}
BAD_CONFIGURATIONS = [
    (
        {"attach": {"statefulset": "zk"}},
        "configuration.attach: only with deploy: attach (got deploy: true)",
    ),
    (
        {**BASE, "runtime": "local", "attach": {"statefulset": "zk"}},
        "configuration.deploy: attach needs runtime: kubernetes (got local)",
    ),
    ({**BASE}, "configuration.attach: must be a mapping {statefulset: NAME} (got None)"),
    (
        {**BASE, "attach": "zk"},
        "configuration.attach: must be a mapping {statefulset: NAME} (got 'zk')",
    ),
    (
        {**BASE, "attach": {"statefulset": "zk", "pods": 3}},
        "configuration.attach.pods: unknown key (known: statefulset)",
    ),
    (
        {**BASE, "attach": {"statefulset": "ZK_1"}},
        "configuration.attach.statefulset: must be a StatefulSet name, a lowercase RFC 1123 "
        "label of at most 63 characters (got 'ZK_1')",
    ),
    (
        {**BASE, "attach": {"statefulset": "zk"}, "spec": "workloads/specs/fast.yaml"},
        "configuration.spec: not with deploy: attach (the attached StatefulSet's own settings "
        "are what is measured)",
    ),
    (
        {**BASE, "attach": {"statefulset": "zk"}, "delete_pvcs": True},
        "configuration.delete_pvcs: not with deploy: attach (the attached StatefulSet's own "
        "settings are what is measured)",
    ),
]


@pytest.mark.parametrize(("configuration", "line"), BAD_CONFIGURATIONS)
def test_bad_attach_configuration_is_one_line(configuration: dict[str, Any], line: str) -> None:
    with pytest.raises(SpecError) as refused:
        read_config(configuration)
    assert str(refused.value) == line


def test_a_good_attach_configuration() -> None:
    config = read_config({**BASE, "attach": {"statefulset": "zk"}, "name": "nightly"})
    assert (config.deploy, config.attach, config.spec.namespace) == ("attach", "zk", NS)
