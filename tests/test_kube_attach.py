"""deploy: attach — the ZooKeeper StatefulSets people already run, seen and broken, never
changed.

Against the fake API server (the official client on the wire), with objects shaped like
the rendered manifests of the kubernetes.io tutorial, the Bitnami chart and the official
image (tests/data/attach/): what peerchaos derives from each (and where each value came
from), that a kill reaches their pod and their StatefulSet brings it back, that their
objects are never created, patched or deleted and teardown leaves them byte for byte as
they were, and that a pod of another StatefulSet is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peerchaos import nemesis
from peerchaos.errors import UnsupportedFault, UsageError
from peerchaos.manifests import render
from peerchaos.runtime import open_runtime
from peerchaos.runtime.kubernetes.attached import AttachedRuntime
from peerchaos.runtime.kubernetes.changes import apply_owned, delete_all_owned
from peerchaos.runtime.kubernetes.podexec import MARKER, find_server
from peerchaos.systems import get_system

from conftest import wait_until
from fake_apiserver import FakeApiServer
from kube_world import (
    MANAGED,
    another_teams_web,
    attach_world,
    attached_runtime,
    refusal,
    their_deployment,
    their_objects,
)

NS = "shop"
# The exec that lists the ZooKeeper server's PIDs (its process pattern is the system's).
FIND_SERVER = find_server(get_system("zookeeper").server_process_pattern)
THEIR_KINDS = ("statefulsets", "services", "poddisruptionbudgets", "persistentvolumeclaims")


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with attach_world() as server:
        yield server


def theirs(fake: FakeApiServer) -> dict[tuple[str, str, str], str]:
    """Their stored objects other than pods, as canonical text (pods come and go)."""
    return {key: text for key, text in fake.cluster.dump().items() if key[0] in THEIR_KINDS}


def setting(runtime: AttachedRuntime, key: str) -> tuple[Any, str]:
    found = runtime.attach().settings[key]
    return found["value"], found["source"]


EXPECTED = {
    "tutorial": {
        "statefulset": "zk",
        "container": "kubernetes-zookeeper",
        "headless": ("zk-hs", False),
        "client": "zk-cs",
        "pdb": {"name": "zk-pdb", "maxUnavailable": 1},
        "settings": {
            "client_port": (2181, "--client_port flag"),
            "server_port": (2888, "--server_port flag"),
            "election_port": (3888, "--election_port flag"),
            "tick_time_ms": (2000, "--tick_time flag"),
            "init_limit": (10, "--init_limit flag"),
            "sync_limit": (5, "--sync_limit flag"),
            "log_format": ("text", "1 of the last 1 lines of pod zk-0's log"),
        },
        "words": "*",  # 3.4.10 without a whitelist answers every word
        "supported": ["kill", "partition", "pause"],  # the shell is PID 1, not the server
        "probe": (["sh", "-c", "zookeeper-ready 2181"], 10.0, 5.0),
    },
    "bitnami": {
        "statefulset": "zk-zookeeper",
        "container": "zookeeper",
        "headless": ("zk-zookeeper-headless", True),
        "client": "zk-zookeeper",
        "pdb": {"name": "zk-zookeeper", "maxUnavailable": 1},
        "settings": {
            "client_port": (2181, "env ZOO_PORT_NUMBER"),
            "server_port": (2888, "env ZOO_SERVERS"),
            "election_port": (3888, "env ZOO_SERVERS"),
            "tick_time_ms": (2000, "env ZOO_TICK_TIME"),
            "init_limit": (10, "env ZOO_INIT_LIMIT"),
            "sync_limit": (5, "env ZOO_SYNC_LIMIT"),
            "log_format": ("json", "1 of the last 1 lines of pod zk-zookeeper-0's log"),
        },
        "words": ["mntr", "ruok", "srvr"],
        "supported": ["kill", "partition"],
        "probe": (
            ["/bin/bash", "-ec", "ZOO_HC_TIMEOUT=2 /opt/bitnami/scripts/zookeeper/healthcheck.sh"],
            10.0,
            5.0,
        ),
    },
    "official": {
        "statefulset": "zookeeper",
        "container": "zookeeper",
        "headless": ("zookeeper-headless", True),
        "client": "zookeeper-client",
        "pdb": {"name": "zookeeper-pdb", "minAvailable": 2},
        "settings": {
            "client_port": (2181, "env ZOO_SERVERS"),
            "server_port": (2888, "env ZOO_SERVERS"),
            "election_port": (3888, "env ZOO_SERVERS"),
            "tick_time_ms": (2000, "env ZOO_TICK_TIME"),
            "init_limit": (10, "env ZOO_INIT_LIMIT"),
            "sync_limit": (5, "env ZOO_SYNC_LIMIT"),
            "jvm_dns_cache_s": (10, "env JVMFLAGS -Dsun.net.inetaddr.ttl"),
            "log_format": ("text", "1 of the last 1 lines of pod zookeeper-0's log"),
        },
        "words": ["mntr", "ruok", "srvr"],
        "supported": ["kill", "partition"],
        "probe": (["sh", "-c", "echo ruok | nc -w 2 127.0.0.1 2181 | grep imok"], 5.0, 3.0),
    },
}


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_each_deployment_is_seen_with_where_each_value_came_from(
    fake: FakeApiServer, tmp_path: Path, fixture: str
) -> None:
    expected = EXPECTED[fixture]
    their_deployment(fake.cluster, NS, fixture)
    before = fake.cluster.dump()
    runtime = attached_runtime(fake, tmp_path, NS, expected["statefulset"])
    seen = runtime.attach()
    name = expected["statefulset"]
    assert (seen.statefulset, seen.container, seen.replicas) == (name, expected["container"], 3)
    assert (seen.headless_service, seen.publish_not_ready_addresses) == expected["headless"]
    assert seen.client_service == expected["client"] and seen.client_service_port == 2181
    assert seen.pdb == expected["pdb"]
    for key, value in expected["settings"].items():
        assert setting(runtime, key) == value, key
    assert seen.settings["four_letter_words"]["value"] == expected["words"]
    assert seen.faults["supported"] == expected["supported"]
    assert set(seen.faults["reasons"]) == {"kill", "partition", "unready", "pause", "endpoints"} - {
        *expected["supported"]
    }
    command, period, timeout = expected["probe"]
    probe = seen.readiness_probe
    assert (probe["command"], probe["period_s"], probe["timeout_s"]) == (command, period, timeout)
    assert probe["checks_marker"] is False and probe["kind"] == "ruok"
    assert seen.problems == []
    # The spec the rest of peerchaos reads: the same ensemble, by name.
    spec = runtime.spec
    assert spec.pod_names() == [f"{name}-{i}" for i in range(3)]
    assert spec.pod_fqdn(f"{name}-0") == (
        f"{name}-0.{expected['headless'][0]}.{NS}.svc.cluster.local"
    )
    assert (spec.client_service.name, spec.headless_service.server_port) == (
        seen.client_service,
        2888,
    )
    assert spec.zookeeper.tick_time_ms == expected["settings"]["tick_time_ms"][0]
    # Reading changed nothing: the only request that is not a read is the exec that lists
    # the server's PID in the first pod.
    assert fake.cluster.dump() == before
    execs = [r for r in fake.cluster.changes()]
    assert [r.path.rsplit("/", 2)[-2] for r in execs] == [f"{name}-0"]
    assert execs[0].query["command"] == FIND_SERVER


def test_a_kill_deletes_their_pod_and_their_statefulset_brings_it_back(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(fake.cluster, NS, "tutorial")
    runtime = attached_runtime(fake, tmp_path, NS, "zk", watch=True, watch_period_s=0.05)
    runtime.attach()
    runtime.watch()
    try:
        old = fake.cluster.get("pods", NS, "zk-1")
        t = runtime.kill("zk-1")
        delete = next(r for r in fake.cluster.requests if r.method == "DELETE")
        assert delete.path == f"/api/v1/namespaces/{NS}/pods/zk-1"
        assert delete.body["preconditions"] == {"uid": old["metadata"]["uid"]}
        back = wait_until(lambda: fake.cluster.get("pods", NS, "zk-1"), 5, "zk-1 recreated")
        assert back["metadata"]["uid"] != old["metadata"]["uid"]
        assert back["status"]["podIP"] != old["status"]["podIP"]
        pods = wait_until(lambda: [p for p in runtime.pods() if p.name == "zk-1" and p.ip], 5)
        assert pods[0].ip == back["status"]["podIP"]
        events = runtime.runtime_events(t - 1)
        assert any(e["kind"] == "fault" and e["pod"] == "zk-1" for e in events)
        wait_until(lambda: any(e["kind"] == "pod_started" for e in runtime.runtime_events(t)), 5)
        # The killed instance's log was kept, read from their container by its name.
        runtime.copy_logs(tmp_path / "peers")
        assert "instance 1" in (tmp_path / "peers" / "zk-1.log").read_text()
    finally:
        runtime.teardown()
    assert fake.cluster.names("statefulsets", NS) == ["zk"]


def test_their_objects_are_never_created_patched_or_deleted(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(fake.cluster, NS, "bitnami")
    runtime = attached_runtime(fake, tmp_path, NS, "zk-zookeeper")
    seen = runtime.attach()
    before, requests = fake.cluster.dump(), len(fake.cluster.requests)
    assert refusal(runtime.apply, render(runtime.spec)) == (
        f"StatefulSet {NS}/zk-zookeeper is attached: peerchaos never creates, patches or "
        "deletes its objects (deploy: attach)"
    )
    # The ownership rule itself: attached objects pass for faults that heal, nothing else.
    sts = fake.cluster.get("statefulsets", NS, "zk-zookeeper")
    scaled = {**sts, "spec": {**sts["spec"], "replicas": 1}}
    assert refusal(apply_owned, runtime.api, scaled, runtime.ownership) == (
        f"StatefulSet {NS}/zk-zookeeper: lacks the label {MANAGED}; peerchaos creates only "
        "objects it can later prove are its own"
    )
    objects = [
        fake.cluster.get(res, NS, name)
        for res, space, name in sorted(fake.cluster.objects)
        if space == NS and res != "pods"
    ]
    removed, kept = delete_all_owned(runtime.api, objects, runtime.ownership)
    assert removed == [] and len(kept) == len(objects)
    assert all(f"lacks the label {MANAGED}" in line for line in kept)
    for kind, name in (("StatefulSet", "zk-zookeeper"), ("Service", "zk-zookeeper")):
        assert (kind, name) in runtime.ownership.attached
        with pytest.raises(UsageError, match="refusing to delete it"):
            runtime.ownership.check(kind, name, sts, "delete")
    for action in (runtime.delete_endpoints, runtime.restore_endpoints):
        with pytest.raises(UnsupportedFault) as refused:
            action("zk-zookeeper")
        assert str(refused.value) == (
            f"endpoints StatefulSet {NS}/zk-zookeeper: {seen.faults['reasons']['endpoints']}"
        )
    assert [r for r in fake.cluster.requests[requests:] if r.method != "GET"] == []
    assert fake.cluster.dump() == before


def sharing_with_the_marker(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The official-image deployment with the two settings peerchaos's refusals name: a
    readiness probe that checks the unready marker and a shared process namespace."""
    sts = objects[-1]
    pod = sts["spec"]["template"]["spec"]
    pod["shareProcessNamespace"] = True
    probe = pod["containers"][0]["readinessProbe"]["exec"]["command"]
    probe[-1] = f"test ! -e {MARKER} && {probe[-1]}"
    return objects


def test_teardown_only_heals_and_leaves_their_objects_byte_for_byte(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(
        fake.cluster, NS, "official", sharing_with_the_marker(their_objects("official", NS))
    )
    before = theirs(fake)
    runtime = attached_runtime(fake, tmp_path, NS, "zookeeper")
    assert runtime.capabilities().faults == {"kill", "partition", "unready", "pause"}
    runtime.partition([["zookeeper-0"]])
    policies = fake.cluster.names("networkpolicies", NS)
    assert policies == ["peerchaos-partition-zookeeper-0", "peerchaos-partition-zookeeper-1"]
    policy = fake.cluster.get("networkpolicies", NS, policies[0])
    # Their pods are selected by their StatefulSet's own labels, and the victim by name.
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app": "zookeeper"}
    assert policy["spec"]["podSelector"]["matchExpressions"][0]["values"] == ["zookeeper-0"]
    runtime.pause("zookeeper-1")
    runtime.make_unready("zookeeper-2")
    assert fake.cluster.pods[(NS, "zookeeper-1")].paused
    assert not next(p for p in runtime.pods() if p.name == "zookeeper-2").ready
    assert runtime.teardown() == [] and runtime.kept == []
    assert fake.cluster.names("networkpolicies", NS) == []
    assert not fake.cluster.pods[(NS, "zookeeper-1")].paused
    assert not fake.cluster.pods[(NS, "zookeeper-2")].marker
    assert not runtime.memory.faults_file.exists()
    assert theirs(fake) == before
    methods = {(r.method, r.resource) for r in fake.cluster.requests if r.method != "GET"}
    assert methods == {("POST", "networkpolicies"), ("DELETE", "networkpolicies")}
    assert runtime.is_up()  # their ensemble is still there


def test_a_pod_of_another_statefulset_or_none_is_refused(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    another_teams_web(fake.cluster, NS)
    # A pod named like their third peer but made by hand: the StatefulSet does not adopt it.
    fake.cluster.add_pod(NS, "zk-2", {"app.kubernetes.io/name": "zk"}, {"containers": []})
    their_deployment(fake.cluster, NS, "tutorial")
    before = fake.cluster.dump()
    runtime = attached_runtime(fake, tmp_path, NS, "zk")
    assert [p.name for p in runtime.pods()] == ["zk-0", "zk-1"]
    assert (
        refusal(runtime.kill, "web-0")
        == "pod 'web-0': not one of the ensemble's (zk-0, zk-1, zk-2)"
    )
    assert refusal(runtime.kill, "zk-2") == (
        f"pod {NS}/zk-2: not a pod of the attached StatefulSet {NS}/zk (no controller "
        "reference to it); refusing to delete it"
    )
    assert refusal(runtime.partition, [["zk-2"]]).startswith(f"pod {NS}/zk-2: not a pod of")
    # Only the exec that lists the server's PID, in zk-0, when the ensemble was read.
    assert [r.query.get("command") for r in fake.cluster.changes()] == [FIND_SERVER]
    assert fake.cluster.dump() == before


def test_the_unready_and_pause_refusals_name_the_setting_before_anything_is_done(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(fake.cluster, NS, "bitnami")
    runtime = attached_runtime(fake, tmp_path, NS, "zk-zookeeper")
    runtime.attach()
    requests = len(fake.cluster.requests)
    unready = refusal(runtime.make_unready, "zk-zookeeper-0")
    assert unready.startswith(f"unready StatefulSet {NS}/zk-zookeeper: the readinessProbe of")
    assert f"does not check {MARKER}" in unready
    pause = refusal(runtime.pause, "zk-zookeeper-0")
    assert pause.endswith(
        f"set spec.template.spec.shareProcessNamespace: true in StatefulSet {NS}/zk-zookeeper"
    )
    assert fake.cluster.requests[requests:] == []  # refused before any call


def test_an_image_without_a_shell_is_found_out_and_named(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    fake.cluster.shell_less_images.add("zookeeper:3.8.4")
    their_deployment(
        fake.cluster, NS, "official", sharing_with_the_marker(their_objects("official", NS))
    )
    runtime = attached_runtime(fake, tmp_path, NS, "zookeeper")
    seen = runtime.attach()
    assert seen.shell["present"] is False
    assert 'exec: "sh": executable file not found in $PATH' in seen.shell["evidence"]
    for fault in ("pause", "unready"):
        reason = seen.faults["reasons"][fault]
        assert reason.startswith("the image zookeeper:3.8.4 has no shell (")
        assert reason.endswith("use an image with /bin/sh") and "\n" not in reason
    assert seen.faults["supported"] == ["kill", "partition"]


def test_a_locator_opens_the_same_attached_ensemble(fake: FakeApiServer, tmp_path: Path) -> None:
    their_deployment(fake.cluster, NS, "tutorial")
    runtime = attached_runtime(fake, tmp_path, NS, "zk")
    locator = runtime.locator()
    requests = len(fake.cluster.requests)
    again = open_runtime(locator)
    assert isinstance(again, AttachedRuntime)
    assert again.seen == runtime.seen and again.spec == runtime.spec
    assert [p.name for p in again.pods()] == ["zk-0", "zk-1", "zk-2"]
    # From the seen ensemble it carries: the namespace's opt-in label is checked again,
    # but no second exec and no second read of the StatefulSet.
    paths = [r.path for r in fake.cluster.requests[requests:]]
    assert paths == [f"/api/v1/namespaces/{NS}", f"/api/v1/namespaces/{NS}/pods"]
    assert again.client_service_address() == runtime.client_service_address()
    assert nemesis.heal_everything(again) == ["healed partitions"]
