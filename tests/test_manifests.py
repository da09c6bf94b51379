"""Rendered manifests: the objects a runtime applies, asserted field by field."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from peerchaos.manifests import endpoint_addresses, find, render, to_yaml
from peerchaos.spec import EnsembleSpec, parse_spec


def _objects(**fields: Any) -> list[dict[str, Any]]:
    return render(parse_spec(fields))


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return find(objects, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]


def _env(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in _container(objects)["env"]}


def test_default_objects_in_apply_order() -> None:
    objects = _objects()
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("StatefulSet", "zk"),
        ("Service", "zk-hs"),
        ("Service", "zk-cs"),
        ("PodDisruptionBudget", "zk-pdb"),
    ]
    assert {o["metadata"]["namespace"] for o in objects} == {"default"}


@pytest.mark.parametrize("policy", ["OrderedReady", "Parallel"])
@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_statefulset_identity(replicas: int, policy: str) -> None:
    objects = _objects(
        name="zoo",
        namespace="chaos",
        replicas=replicas,
        pod_management_policy=policy,
        headless_service={"name": "peers"},
    )
    statefulset = find(objects, "StatefulSet", "zoo")
    assert statefulset["metadata"]["namespace"] == "chaos"
    assert statefulset["spec"]["replicas"] == replicas
    assert statefulset["spec"]["serviceName"] == "peers"
    assert statefulset["spec"]["podManagementPolicy"] == policy
    selector = {"app": "zoo", "peerchaos.io/ensemble": "zoo"}
    assert statefulset["spec"]["selector"]["matchLabels"] == selector
    assert statefulset["spec"]["template"]["metadata"]["labels"] == {
        **selector,
        "app.kubernetes.io/managed-by": "peerchaos",
    }


@pytest.mark.parametrize("replicas", [1, 3, 7])
def test_zoo_servers_lists_every_pod_fqdn_in_order(replicas: int) -> None:
    env = _env(_objects(namespace="chaos", replicas=replicas))
    assert env["ZOO_SERVERS"].split(" ") == [
        f"server.{i + 1}=zk-{i}.zk-hs.chaos.svc.cluster.local:2888:3888;2181"
        for i in range(replicas)
    ]


def test_zoo_servers_follow_the_ports_and_names() -> None:
    env = _env(
        _objects(
            name="zoo",
            replicas=2,
            headless_service={"name": "peers", "server_port": 2777, "leader_election_port": 3777},
            client_service={"port": 2182},
        )
    )
    assert env["ZOO_SERVERS"] == (
        "server.1=zoo-0.peers.default.svc.cluster.local:2777:3777;2182 "
        "server.2=zoo-1.peers.default.svc.cluster.local:2777:3777;2182"
    )


def test_zookeeper_settings_in_env_and_ports() -> None:
    objects = _objects(tick_time_ms=500, init_limit=7, sync_limit=3, image="zookeeper:3.9")
    container = _container(objects)
    env = _env(objects)
    assert container["image"] == "zookeeper:3.9"
    assert (env["ZOO_TICK_TIME"], env["ZOO_INIT_LIMIT"], env["ZOO_SYNC_LIMIT"]) == ("500", "7", "3")
    assert env["ZOO_4LW_COMMANDS_WHITELIST"] == "*"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "client": 2181,
        "server": 2888,
        "leader-election": 3888,
    }


@pytest.mark.parametrize(
    ("cache", "negative", "lines"),
    [
        (None, None, None),
        (0, None, "networkaddress.cache.ttl=0 networkaddress.cache.negative.ttl=0"),
        (-1, None, "networkaddress.cache.ttl=-1 networkaddress.cache.negative.ttl=-1"),
        (5, 10, "networkaddress.cache.ttl=5 networkaddress.cache.negative.ttl=10"),
        (None, 2, "networkaddress.cache.negative.ttl=2"),
    ],
)
def test_jvm_dns_caches_only_when_set(cache: int | None, negative: int | None, lines: str) -> None:
    """The JVM's DNS caches are security properties (java.security sets the negative one,
    which a -Dsun.net.inetaddr.* flag cannot override — it used to be set that way, and
    failed lookups stayed cached 10 s): the container writes PEERCHAOS_JVM_DNS to a file
    and points -Djava.security.properties at it."""
    env = _env(_objects(jvm_dns_cache_s=cache, jvm_dns_negative_cache_s=negative))
    assert env["JVMFLAGS"] == "-Xmx256m"
    assert env.get("PEERCHAOS_JVM_DNS") == lines
    command = _container(_objects(jvm_dns_cache_s=cache))["command"][-1]
    assert "-Djava.security.properties=/tmp/peerchaos-jvm-dns.security" in command


def test_heap_in_jvmflags() -> None:
    assert _env(_objects(heap_mb=1024))["JVMFLAGS"] == "-Xmx1024m"


def test_readiness_probe_defaults() -> None:
    objects = _objects()
    probe = _container(objects)["readinessProbe"]
    assert {key: value for key, value in probe.items() if key != "exec"} == {
        "initialDelaySeconds": 0,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert "echo ruok" in probe["exec"]["command"][-1]
    assert "/tmp/peerchaos-unready" in probe["exec"]["command"][-1]
    annotations = find(objects, "StatefulSet")["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "peerchaos.io/readiness": "ruok",
        "peerchaos.io/readiness-period-s": "10.0",
        "peerchaos.io/readiness-timeout-s": "1.0",
    }


@pytest.mark.parametrize(
    ("given", "seconds", "annotated"),
    [
        # Kubernetes counts whole seconds (at least 1); the annotations keep the exact values.
        ({"period_s": 2.5, "timeout_s": 0.2}, (3, 1), ("2.5", "0.2")),
        ({"period_s": 0.5, "timeout_s": 0.5}, (1, 1), ("0.5", "0.5")),
        ({"period_s": 30, "timeout_s": 5}, (30, 5), ("30.0", "5.0")),
    ],
)
def test_readiness_probe_timing(given: dict, seconds: tuple, annotated: tuple) -> None:
    objects = _objects(
        readiness_probe={
            **given,
            "success_threshold": 2,
            "failure_threshold": 4,
            "initial_delay_s": 7,
        }
    )
    probe = _container(objects)["readinessProbe"]
    assert (probe["periodSeconds"], probe["timeoutSeconds"]) == seconds
    assert (probe["successThreshold"], probe["failureThreshold"]) == (2, 4)
    assert probe["initialDelaySeconds"] == 7
    annotations = find(objects, "StatefulSet")["spec"]["template"]["metadata"]["annotations"]
    assert (
        annotations["peerchaos.io/readiness-period-s"],
        annotations["peerchaos.io/readiness-timeout-s"],
    ) == annotated


def test_quorum_readiness_is_annotated() -> None:
    objects = _objects(readiness_probe={"kind": "quorum"})
    annotations = find(objects, "StatefulSet")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["peerchaos.io/readiness"] == "quorum"


def test_quorum_readiness_asks_srvr() -> None:
    objects = _objects(readiness_probe={"kind": "quorum"}, client_service={"port": 2182})
    command = _container(objects)["readinessProbe"]["exec"]["command"][-1]
    assert isinstance(command, str)
    assert "/dev/tcp/127.0.0.1/2182 && echo srvr >&3" in command
    assert "grep -qE 'Mode: (leader|follower|standalone)'" in command


@pytest.mark.parametrize("publish", [True, False])
def test_headless_service(publish: bool) -> None:
    service = find(_objects(publish_not_ready_addresses=publish, dns_ttl_s=30), "Service", "zk-hs")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is publish
    assert service["spec"]["selector"] == {"app": "zk", "peerchaos.io/ensemble": "zk"}
    assert service["metadata"]["annotations"]["peerchaos.io/dns-ttl-seconds"] == "30"
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("server", 2888, 2888),
        ("leader-election", 3888, 3888),
    ]


def test_client_service_selects_the_pods() -> None:
    service = find(_objects(client_service={"name": "clients", "port": 2281}), "Service", "clients")
    assert service["spec"]["type"] == "ClusterIP"
    assert "clusterIP" not in service["spec"]
    assert service["spec"]["selector"] == {"app": "zk", "peerchaos.io/ensemble": "zk"}
    assert service["spec"]["ports"] == [{"name": "client", "port": 2281, "targetPort": 2281}]


def test_pdb_allows_one_unavailable() -> None:
    pdb = find(_objects(name="zoo"), "PodDisruptionBudget", "zoo-pdb")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"] == {
        "matchLabels": {"app": "zoo", "peerchaos.io/ensemble": "zoo"}
    }


def test_no_endpoints_unless_selectorless() -> None:
    objects = _objects(selectorless={"enabled": False, "addresses": ["10.0.0.1"]})
    assert [o for o in objects if o["kind"] == "Endpoints"] == []
    with pytest.raises(KeyError, match="no Endpoints"):
        find(objects, "Endpoints")


def _endpoint_ips(endpoints: dict[str, Any]) -> list[str]:
    [subset] = endpoints["subsets"]
    return [address["ip"] for address in subset["addresses"]]


def test_selectorless_with_written_addresses() -> None:
    objects = _objects(
        namespace="chaos",
        client_service={"port": 2182},
        selectorless={"enabled": True, "addresses": ["10.1.0.7", "10.1.0.9"]},
    )
    assert objects[-1]["kind"] == "Endpoints"
    service = find(objects, "Service", "zk-cs")
    assert "selector" not in service["spec"]
    endpoints = find(objects, "Endpoints", "zk-cs")
    # Bound to the Service by name and namespace only.
    assert endpoints["metadata"]["namespace"] == service["metadata"]["namespace"] == "chaos"
    assert _endpoint_ips(endpoints) == ["10.1.0.7", "10.1.0.9"]
    assert endpoints["subsets"][0]["ports"] == [{"name": "client", "port": 2182, "protocol": "TCP"}]


@pytest.mark.parametrize(
    ("replicas", "pod_cidr", "expected"),
    [
        (3, "10.244.0.0/24", ["10.244.0.10", "10.244.0.11", "10.244.0.12"]),
        (1, "10.50.0.0/16", ["10.50.0.10"]),
    ],
)
def test_selectorless_defaults_to_initial_addresses(
    replicas: int, pod_cidr: str, expected: list[str]
) -> None:
    spec = parse_spec(
        {"replicas": replicas, "selectorless": {"enabled": True}, "local": {"pod_cidr": pod_cidr}}
    )
    assert endpoint_addresses(spec) == expected
    assert _endpoint_ips(find(render(spec), "Endpoints", "zk-cs")) == expected


@pytest.mark.parametrize(
    "spec",
    [
        EnsembleSpec(),
        parse_spec({"replicas": 5, "jvm_dns_cache_s": 0, "selectorless": {"enabled": True}}),
        parse_spec({"readiness_probe": {"kind": "quorum"}, "publish_not_ready_addresses": False}),
    ],
)
def test_to_yaml_round_trips(spec: EnsembleSpec) -> None:
    objects = render(spec)
    text = to_yaml(objects)
    assert text.startswith("---\n")
    assert list(yaml.safe_load_all(text)) == objects


def test_find_by_kind_and_name() -> None:
    objects = _objects()
    assert find(objects, "Service")["metadata"]["name"] == "zk-hs"
    assert find(objects, "Service", "zk-cs")["metadata"]["name"] == "zk-cs"
    with pytest.raises(KeyError, match="no Service nope"):
        find(objects, "Service", "nope")
