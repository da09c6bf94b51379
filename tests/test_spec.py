"""The ensemble spec: every field rejects bad input with one line naming source, path, problem."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerchaos.errors import SpecError
from peerchaos.manifests import find, render, to_yaml
from peerchaos.spec import (
    ClientService,
    EnsembleSpec,
    HeadlessService,
    LocalNetwork,
    ReadinessProbe,
    Selectorless,
    load_spec,
    parse_spec,
)
from peerchaos.systems.zookeeper.settings import ZooKeeperSettings

# (spec data, the line after "s.yaml: "), one or more per field of every model.
BAD_SPECS = [
    # EnsembleSpec
    (
        {"name": "Zoo_Keeper"},
        "name: must be a lowercase RFC 1123 label such as 'zk' (got 'Zoo_Keeper')",
    ),
    (
        {"name": "z" * 64},
        f"name: must be a lowercase RFC 1123 label such as 'zk' (got '{'z' * 64}')",
    ),
    ({"name": 7}, "name: must be a string (got 7)"),
    (
        {"namespace": "-ns"},
        "namespace: must be a lowercase RFC 1123 label such as 'zk' (got '-ns')",
    ),
    # The system seam: an unknown system, not a name, a setting of the system's group.
    ({"system": "mysql"}, "system: must be one of zookeeper, etcd (got 'mysql')"),
    (
        {"system": "etcd", "etcd": {"heartbeat_interval_ms": 300}},
        "etcd: election_timeout_ms (1000) must be at least 5 x heartbeat_interval_ms (300), "
        "as etcd requires",
    ),
    (
        {"system": "zookeeper", "headless_service": {"leader_election_port": None}},
        "(top level): headless_service.leader_election_port is required for zookeeper",
    ),
    ({"system": 3}, "system: must be a string (got 3)"),
    ({"replicas": 12}, "replicas: must be at most 9 (got 12)"),
    ({"replicas": 0}, "replicas: must be at least 1 (got 0)"),
    ({"replicas": "three"}, "replicas: must be an integer (got 'three')"),
    ({"replicas": 2.5}, "replicas: must be a whole number (got 2.5)"),
    ({"replicas": True}, "replicas: must be an integer (got True)"),
    ({"replicas": "3"}, "replicas: must be an integer (got '3')"),
    (
        {"name": "z" * 53},
        "name: must be at most 52 characters, so that the pods' label controller-revision-hash "
        f"(name + 11) fits in 63 (got 53: '{'z' * 53}')",
    ),
    (
        {"image": ""},
        "image: must be an image reference such as zookeeper:3.8 or "
        "registry.example.com/zookeeper@sha256:<digest> (got '')",
    ),
    (
        {"image": "zookeeper:3.8\nrm -rf /"},
        "image: must be an image reference such as zookeeper:3.8 or "
        "registry.example.com/zookeeper@sha256:<digest> (got 'zookeeper:3.8\\nrm -rf /')",
    ),
    ({"image": ["zookeeper"]}, "image: must be a string (got list)"),
    ({"tick_time_ms": 5}, "tick_time_ms: must be at least 10 (got 5)"),
    ({"tick_time_ms": False}, "tick_time_ms: must be an integer (got False)"),
    ({"tick_time_ms": 60001}, "tick_time_ms: must be at most 60000 (got 60001)"),
    ({"init_limit": 0}, "init_limit: must be at least 1 (got 0)"),
    ({"init_limit": 1001}, "init_limit: must be at most 1000 (got 1001)"),
    ({"sync_limit": 0}, "sync_limit: must be at least 1 (got 0)"),
    ({"sync_limit": None}, "sync_limit: must be an integer (got None)"),
    (
        {"publish_not_ready_addresses": "maybe"},
        "publish_not_ready_addresses: must be true or false (got 'maybe')",
    ),
    ({"readiness_probe": "ruok"}, "readiness_probe: must be a mapping of fields (got 'ruok')"),
    (
        {"pod_management_policy": "Serial"},
        "pod_management_policy: must be 'OrderedReady' or 'Parallel' (got 'Serial')",
    ),
    ({"dns_ttl_s": -1}, "dns_ttl_s: must be at least 0 (got -1)"),
    ({"dns_ttl_s": 3601}, "dns_ttl_s: must be at most 3600 (got 3601)"),
    ({"jvm_dns_cache_s": -2}, "jvm_dns_cache_s: must be at least -1 (got -2)"),
    ({"jvm_dns_cache_s": 3601}, "jvm_dns_cache_s: must be at most 3600 (got 3601)"),
    ({"jvm_dns_cache_s": "forever"}, "jvm_dns_cache_s: must be an integer (got 'forever')"),
    (
        {"jvm_dns_negative_cache_s": -2},
        "jvm_dns_negative_cache_s: must be at least -1 (got -2)",
    ),
    ({"heap_mb": 16}, "heap_mb: must be at least 32 (got 16)"),
    ({"heap_mb": 9000}, "heap_mb: must be at most 8192 (got 9000)"),
    # ZooKeeper's settings in their group (the same settings at the top level: above).
    ({"zookeeper": "fast"}, "zookeeper: must be a mapping of fields (got 'fast')"),
    ({"zookeeper": {"tick_time_ms": 5}}, "zookeeper.tick_time_ms: must be at least 10 (got 5)"),
    ({"zookeeper": {"init_limit": 0}}, "zookeeper.init_limit: must be at least 1 (got 0)"),
    (
        {"zookeeper": {"sync_limit": "5"}},
        "zookeeper.sync_limit: must be an integer (got '5')",
    ),
    (
        {"zookeeper": {"jvm_dns_cache_s": 3601}},
        "zookeeper.jvm_dns_cache_s: must be at most 3600 (got 3601)",
    ),
    (
        {"zookeeper": {"jvm_dns_negative_cache_s": -2}},
        "zookeeper.jvm_dns_negative_cache_s: must be at least -1 (got -2)",
    ),
    ({"zookeeper": {"heap_mb": 16}}, "zookeeper.heap_mb: must be at least 32 (got 16)"),
    ({"zookeeper": {"tick": 5}}, "zookeeper.tick: unknown field"),
    (
        {"tick_time_ms": 500, "zookeeper": {"tick_time_ms": 600}},
        "(top level): tick_time_ms is given twice, at the top level (500) and as "
        "zookeeper.tick_time_ms (600); write it once",
    ),
    ({"headless_service": []}, "headless_service: must be a mapping of fields (got list)"),
    ({"client_service": 2181}, "client_service: must be a mapping of fields (got 2181)"),
    ({"selectorless": True}, "selectorless: must be a mapping of fields (got True)"),
    ({"local": "loopback"}, "local: must be a mapping of fields (got 'loopback')"),
    (
        {"headless_service": {"name": "zk"}, "client_service": {"name": "zk"}},
        "(top level): headless_service.name and client_service.name must differ (both 'zk')",
    ),
    (
        {"client_service": {"port": 3888}},
        "(top level): client_service.port 3888 collides with a peer port",
    ),
    (
        {"selectorless": {"addresses": []}},
        "(top level): selectorless.addresses must not be empty when given",
    ),
    # ReadinessProbe
    (
        {"readiness_probe": {"kind": "tcp"}},
        "readiness_probe.kind: must be 'ruok', 'quorum' or 'health' (got 'tcp')",
    ),
    (
        {"readiness_probe": {"period_s": 0}},
        "readiness_probe.period_s: must be greater than 0 (got 0)",
    ),
    (
        {"readiness_probe": {"period_s": 301}},
        "readiness_probe.period_s: must be at most 300 (got 301)",
    ),
    (
        {"readiness_probe": {"period_s": "10s"}},
        "readiness_probe.period_s: must be a number (got '10s')",
    ),
    (
        {"readiness_probe": {"period_s": float("nan")}},
        "readiness_probe.period_s: must be a finite number (got nan)",
    ),
    (
        {"readiness_probe": {"timeout_s": True}},
        "readiness_probe.timeout_s: must be a number (got True)",
    ),
    (
        {"readiness_probe": {"timeout_s": -0.5}},
        "readiness_probe.timeout_s: must be greater than 0 (got -0.5)",
    ),
    (
        {"readiness_probe": {"timeout_s": 61}},
        "readiness_probe.timeout_s: must be at most 60 (got 61)",
    ),
    (
        {"readiness_probe": {"success_threshold": 0}},
        "readiness_probe.success_threshold: must be at least 1 (got 0)",
    ),
    (
        {"readiness_probe": {"success_threshold": 101}},
        "readiness_probe.success_threshold: must be at most 100 (got 101)",
    ),
    (
        {"readiness_probe": {"failure_threshold": 0}},
        "readiness_probe.failure_threshold: must be at least 1 (got 0)",
    ),
    (
        {"readiness_probe": {"failure_threshold": 1.5}},
        "readiness_probe.failure_threshold: must be a whole number (got 1.5)",
    ),
    (
        {"readiness_probe": {"initial_delay_s": -1}},
        "readiness_probe.initial_delay_s: must be at least 0 (got -1)",
    ),
    (
        {"readiness_probe": {"initial_delay_s": 601}},
        "readiness_probe.initial_delay_s: must be at most 600 (got 601)",
    ),
    # HeadlessService
    (
        {"headless_service": {"name": "zk.hs"}},
        "headless_service.name: must be a lowercase RFC 1123 label such as 'zk' (got 'zk.hs')",
    ),
    (
        {"headless_service": {"server_port": 0}},
        "headless_service.server_port: must be at least 1 (got 0)",
    ),
    (
        {"headless_service": {"server_port": 65536}},
        "headless_service.server_port: must be at most 65535 (got 65536)",
    ),
    (
        {"headless_service": {"leader_election_port": "election"}},
        "headless_service.leader_election_port: must be an integer (got 'election')",
    ),
    (
        {"headless_service": {"leader_election_port": 2888}},
        "headless_service: server_port and leader_election_port must differ (both 2888)",
    ),
    # ClientService
    (
        {"client_service": {"name": "ZK-CS"}},
        "client_service.name: must be a lowercase RFC 1123 label such as 'zk' (got 'ZK-CS')",
    ),
    ({"client_service": {"port": 0}}, "client_service.port: must be at least 1 (got 0)"),
    ({"client_service": {"port": 70000}}, "client_service.port: must be at most 65535 (got 70000)"),
    # Selectorless
    (
        {"selectorless": {"enabled": "perhaps"}},
        "selectorless.enabled: must be true or false (got 'perhaps')",
    ),
    ({"selectorless": {"enabled": 1}}, "selectorless.enabled: must be true or false (got 1)"),
    (
        {"selectorless": {"addresses": "10.0.0.1"}},
        "selectorless.addresses: must be a list (got '10.0.0.1')",
    ),
    (
        {"selectorless": {"addresses": ["10.0.0.1", "10.0.0.300"]}},
        "selectorless.addresses: must be IPv4 addresses (got '10.0.0.300')",
    ),
    (
        {"selectorless": {"addresses": ["fd00::1"]}},
        "selectorless.addresses: must be IPv4 addresses (got 'fd00::1')",
    ),
    ({"selectorless": {"addresses": [1]}}, "selectorless.addresses.0: must be a string (got 1)"),
    # LocalNetwork
    (
        {"local": {"mode": "bridge"}},
        "local.mode: must be 'auto', 'netns' or 'loopback' (got 'bridge')",
    ),
    (
        {"local": {"pod_cidr": "10.244.0.1/24"}},
        "local.pod_cidr: must be network-aligned (host bits zero) like 10.244.0.0/24 "
        "(got '10.244.0.1/24')",
    ),
    (
        {"local": {"pod_cidr": "0.0.0.0/1"}},
        "local.pod_cidr: must lie in a private range (10.0.0.0/8, 172.16.0.0/12, "
        "192.168.0.0/16 or 100.64.0.0/10) (got '0.0.0.0/1')",
    ),
    (
        {"local": {"pod_cidr": "10.0.0.0/8"}},
        "local.pod_cidr: must be between /16 and /28 (got /8)",
    ),
    (
        {"local": {"pod_cidr": "10.244.0.0/255.255.255.0"}},
        "local.pod_cidr: must be written ADDRESS/PREFIX like 10.244.0.0/24 "
        "(got '10.244.0.0/255.255.255.0')",
    ),
    (
        {"local": {"service_cidr": "fd00::/64"}},
        "local.service_cidr: must be an IPv4 network such as 10.244.0.0/24 (got 'fd00::/64')",
    ),
    (
        {"local": {"service_cidr": "8.8.8.0/24"}},
        "local.service_cidr: must lie in a private range (10.0.0.0/8, 172.16.0.0/12, "
        "192.168.0.0/16 or 100.64.0.0/10) (got '8.8.8.0/24')",
    ),
    (
        {"local": {"loopback_cidr": "127.77.0.0/30"}},
        "local.loopback_cidr: must be between /16 and /28 (got /30)",
    ),
    (
        {"local": {"service_cidr": "10.244.0.0/16"}},
        "local: pod_cidr 10.244.0.0/24 overlaps service_cidr 10.244.0.0/16",
    ),
    (
        {"local": {"loopback_cidr": "10.77.0.0/24"}},
        "local.loopback_cidr: must lie in 127.0.0.0/8 (got '10.77.0.0/24')",
    ),
    # Unknown fields, top level and nested.
    ({"replica": 3}, "replica: unknown field"),
    ({"readiness_probe": {"period": 5}}, "readiness_probe.period: unknown field"),
    ({"local": {"cidr": "10.0.0.0/24"}}, "local.cidr: unknown field"),
]

MODELS = (
    EnsembleSpec,
    ReadinessProbe,
    HeadlessService,
    ClientService,
    Selectorless,
    LocalNetwork,
    ZooKeeperSettings,
)
NESTED = {
    ReadinessProbe: "readiness_probe",
    HeadlessService: "headless_service",
    ClientService: "client_service",
    Selectorless: "selectorless",
    LocalNetwork: "local",
    ZooKeeperSettings: "zookeeper",
}


def _error(data: object) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(data, "s.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("data", "expected"), BAD_SPECS, ids=[line.split(": ")[0] for _, line in BAD_SPECS]
)
def test_bad_field_gives_one_line_naming_source_path_and_problem(data: dict, expected: str) -> None:
    message = _error(data)
    assert "\n" not in message
    assert message == f"s.yaml: {expected}"


def test_every_field_of_every_model_has_a_bad_case() -> None:
    # The table above must grow with the models: a new field without a bad case fails here.
    paths = {line.split(": ")[0] for _, line in BAD_SPECS}
    fields = [
        f"{NESTED[model]}.{field}" if model in NESTED else field
        for model in MODELS
        for field in model.model_fields
    ]
    assert [path for path in fields if path not in paths] == []


@pytest.mark.parametrize(
    ("data", "kind"), [([1, 2], "list"), ("zk", "str"), (3, "int"), (True, "bool")]
)
def test_non_mapping_document(data: object, kind: str) -> None:
    assert _error(data) == f"s.yaml: must be a mapping of fields (got {kind})"


@pytest.mark.parametrize(("text", "kind"), [("- replicas: 3\n", "list"), ("zk\n", "str")])
def test_non_mapping_file(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=r"s\.yaml: must be a mapping of fields") as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: must be a mapping of fields (got {kind})"


@pytest.mark.parametrize(
    ("name", "reason"), [("missing.yaml", "No such file or directory"), (".", "Is a directory")]
)
def test_unreadable_file(tmp_path: Path, name: str, reason: str) -> None:
    path = tmp_path / name
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: cannot read spec ({reason})"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("replicas: 3\nname: [zk\n", 3),  # unclosed flow sequence, noticed at the end
        ("replicas: 3\n  name: zk\n", 2),  # mapping value where none may start
        ('replicas: 3\nimage: "zk\n', 3),  # unclosed quote
    ],
)
def test_invalid_yaml_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line {line} not valid YAML (")


def test_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ensemble.yaml"
    path.write_text("replicas: 12\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: replicas: must be at most 9 (got 12)"


@pytest.mark.parametrize("text", ["{}\n", "", "# only a comment\n", "---\n"])
def test_empty_spec_is_the_tutorial_ensemble(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    spec = load_spec(path)
    assert spec == EnsembleSpec() == parse_spec({}) == load_spec(None)
    assert spec.name == "zk"
    assert spec.namespace == "default"
    assert spec.replicas == 3
    assert spec.headless_service.name == "zk-hs"
    assert (spec.headless_service.server_port, spec.headless_service.leader_election_port) == (
        2888,
        3888,
    )
    assert (spec.client_service.name, spec.client_service.port) == ("zk-cs", 2181)
    assert spec.publish_not_ready_addresses is True
    assert spec.pod_management_policy == "OrderedReady"
    probe = spec.readiness_probe
    assert (probe.kind, probe.period_s, probe.timeout_s) == ("ruok", 10.0, 1.0)
    assert (probe.success_threshold, probe.failure_threshold, probe.initial_delay_s) == (1, 3, 0.0)
    zk = spec.zookeeper  # ZooKeeper's settings, in their group
    assert (zk.tick_time_ms, zk.init_limit, zk.sync_limit) == (2000, 10, 5)
    assert (spec.dns_ttl_s, zk.jvm_dns_cache_s, zk.heap_mb) == (5, None, 256)
    assert spec.selectorless == Selectorless(enabled=False, addresses=None)
    assert spec.local.mode == "auto"
    assert spec.pod_names() == ["zk-0", "zk-1", "zk-2"]
    assert spec.pod_fqdn("zk-0") == "zk-0.zk-hs.default.svc.cluster.local"


# --- property: any spec built from valid field values parses and renders -------------------


# Labels YAML would read as other types ("no", "null", "123") included on purpose.
dns_labels = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
images = st.from_regex(
    r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,20})?",
    fullmatch=True,
)
ports = st.integers(1, 65535)
ipv4 = st.ip_addresses(v=4).map(str)


PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")


@st.composite
def networks(draw: st.DrawFn, within: tuple[str, ...] = PRIVATE, longest: int = 27) -> str:
    # /27 holds what the local runtime puts in any network for up to 9 replicas.
    outer = ipaddress.IPv4Network(draw(st.sampled_from(within)))
    prefix = draw(st.integers(max(outer.prefixlen, 16), longest))
    offset = draw(st.integers(0, outer.num_addresses - 1))
    return ipaddress.IPv4Network(
        (int(outer.network_address) + offset, prefix), strict=False
    ).with_prefixlen


@st.composite
def valid_specs(draw: st.DrawFn) -> dict:
    # Either Service may be left to its default below, so neither may take the other's
    # default name or ports (those combinations are invalid, see BAD_SPECS).
    service_names = dns_labels.filter(lambda name: name not in ("zk-hs", "zk-cs"))
    headless, client = draw(st.lists(service_names, min_size=2, max_size=2, unique=True))
    service_ports = ports.filter(lambda port: port not in (2181, 2888, 3888))
    server, election, client_port = draw(
        st.lists(service_ports, min_size=3, max_size=3, unique=True)
    )
    pod_cidr = draw(networks())
    service_cidr = draw(
        networks().filter(
            lambda net: not ipaddress.IPv4Network(net).overlaps(ipaddress.IPv4Network(pod_cidr))
        )
    )
    data = {
        "name": draw(dns_labels.filter(lambda name: len(name) <= 52)),
        "namespace": draw(dns_labels),
        "replicas": draw(st.integers(1, 9)),
        "image": draw(images.filter(lambda image: len(image) <= 255)),
        "tick_time_ms": draw(st.integers(10, 60000)),
        "init_limit": draw(st.integers(1, 1000)),
        "sync_limit": draw(st.integers(1, 1000)),
        "publish_not_ready_addresses": draw(st.booleans()),
        "readiness_probe": {
            "kind": draw(st.sampled_from(["ruok", "quorum"])),
            "period_s": draw(st.floats(0.001, 300)),
            "timeout_s": draw(st.floats(0.001, 60)),
            "success_threshold": draw(st.integers(1, 100)),
            "failure_threshold": draw(st.integers(1, 100)),
            "initial_delay_s": draw(st.floats(0, 600)),
        },
        "pod_management_policy": draw(st.sampled_from(["OrderedReady", "Parallel"])),
        "dns_ttl_s": draw(st.integers(0, 3600)),
        "jvm_dns_cache_s": draw(st.none() | st.integers(-1, 3600)),
        "jvm_dns_negative_cache_s": draw(st.none() | st.integers(-1, 3600)),
        "heap_mb": draw(st.integers(32, 8192)),
        "headless_service": {
            "name": headless,
            "server_port": server,
            "leader_election_port": election,
        },
        "client_service": {"name": client, "port": client_port},
        "selectorless": {
            "enabled": draw(st.booleans()),
            "addresses": draw(st.none() | st.lists(ipv4, min_size=1, max_size=9)),
        },
        "local": {
            "mode": draw(st.sampled_from(["auto", "netns", "loopback"])),
            "pod_cidr": pod_cidr,
            "service_cidr": service_cidr,
            "loopback_cidr": draw(networks(within=("127.0.0.0/8",))),
        },
    }
    # Any subset of fields may be left to its default.
    drop = draw(st.sets(st.sampled_from(sorted(data))))
    return {key: value for key, value in data.items() if key not in drop}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_any_valid_spec_parses_and_renders(data: dict) -> None:
    spec = parse_spec(data, "generated")
    dumped = spec.model_dump()
    # The ZooKeeper settings the data writes at the top level are dumped in their group.
    flat = {**dumped, **dumped["zookeeper"]}
    assert {key: flat[key] for key in data} == data
    assert parse_spec(dumped) == spec
    objects = render(spec)
    statefulset = find(objects, "StatefulSet", spec.name)
    assert statefulset["metadata"]["namespace"] == spec.namespace
    assert statefulset["spec"]["replicas"] == spec.replicas
    assert statefulset["spec"]["serviceName"] == spec.headless_service.name
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == spec.image
    env = {item["name"]: item["value"] for item in container["env"]}
    assert len(env["ZOO_SERVERS"].split()) == spec.replicas
    assert find(objects, "Service", spec.headless_service.name)["spec"]["clusterIP"] == "None"
    assert find(objects, "Service", spec.client_service.name)["metadata"]["namespace"] == (
        spec.namespace
    )
    assert find(objects, "PodDisruptionBudget", f"{spec.name}-pdb")
    assert (len(objects) == 5) is spec.selectorless.enabled
    assert list(yaml.safe_load_all(to_yaml(objects))) == objects


@pytest.mark.parametrize(
    "data",
    [{"name": "no"}, {"namespace": "null"}, {"client_service": {"name": "on"}}, {"image": "1.5"}],
)
def test_yaml_lookalike_names_render_as_strings(data: dict) -> None:
    spec = parse_spec(data)
    objects = render(spec)
    statefulset = find(objects, "StatefulSet")
    assert statefulset["metadata"]["name"] == spec.name
    assert statefulset["metadata"]["namespace"] == spec.namespace
    assert statefulset["spec"]["template"]["spec"]["containers"][0]["image"] == spec.image
    assert objects[2]["metadata"]["name"] == spec.client_service.name


# --- the spec file as YAML: duplicate keys, nesting, encoding ------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("replicas: 3\nreplicas: 5\n", "line 2: duplicate key 'replicas' (first at line 1)"),
        (
            "local:\n  pod_cidr: 10.1.0.0/24\n  pod_cidr: 10.2.0.0/24\n",
            "line 3: duplicate key 'pod_cidr' (first at line 2)",
        ),
        ("a: " + "[" * 2000 + "]" * 2000 + "\n", "line 1: nested more than 50 levels deep"),
        ("x:\n" + "".join("  " * i + "- \n" for i in range(1, 60)), "nested more than 50"),
    ],
    ids=["duplicate", "nested duplicate", "2000 deep", "deep block list"],
)
def test_yaml_that_would_mislead_or_crash_is_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"{path}: ") and message in line


def test_a_spec_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"replicas: 3\nname: zk\nimage: zoo\xff\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: line 3: not UTF-8 text (byte 0xff)"


def test_merge_keys_override_as_written() -> None:
    # `<<: *base` is how people share settings; keys written beside it win, by design.
    from peerchaos.yamlfile import parse_yaml

    text = "a: &probe {period_s: 2, timeout_s: 1}\nb: {<<: *probe, period_s: 3}\n"
    assert parse_yaml(text, "t")["b"] == {"period_s": 3, "timeout_s": 1}


# --- local networks: private, aligned, /16../28, room for what the runtime puts there ---


@pytest.mark.parametrize(
    "local",
    [
        {"pod_cidr": "10.1.0.0/16", "service_cidr": "172.16.0.0/16"},
        {"pod_cidr": "192.168.7.0/28", "service_cidr": "100.64.0.0/27"},
        {"pod_cidr": "100.127.255.240/28", "loopback_cidr": "127.0.0.0/16"},
        {"pod_cidr": "172.31.255.0/24", "service_cidr": "10.96.0.0/24"},
    ],
)
def test_private_networks_at_the_limits_are_accepted(local: dict) -> None:
    assert parse_spec({"local": local}).local.pod_cidr == local["pod_cidr"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"replicas": 5, "local": {"pod_cidr": "10.0.0.0/28"}},
            "(top level): local.pod_cidr 10.0.0.0/28 is too small for 5 pods from .10 on: "
            "needs /27 or shorter",
        ),
        (
            {"local": {"service_cidr": "10.96.0.0/28"}},
            "(top level): local.service_cidr 10.96.0.0/28 is too small for Service IPs from "
            ".20: needs /27 or shorter",
        ),
        (
            {"local": {"loopback_cidr": "127.77.0.0/28"}},
            "(top level): local.loopback_cidr 127.77.0.0/28 is too small for pods and Service "
            "IPs: needs /27 or shorter",
        ),
        (
            {"local": {"pod_cidr": "224.0.0.0/24"}},
            "local.pod_cidr: must lie in a private range (10.0.0.0/8, 172.16.0.0/12, "
            "192.168.0.0/16 or 100.64.0.0/10) (got '224.0.0.0/24')",
        ),
        (
            {"local": {"pod_cidr": "127.0.0.0/16"}},
            "local.pod_cidr: must lie in a private range (10.0.0.0/8, 172.16.0.0/12, "
            "192.168.0.0/16 or 100.64.0.0/10) (got '127.0.0.0/16')",
        ),
        (
            {"local": {"service_cidr": "1.1.1.0/26"}},
            "local.service_cidr: must lie in a private range (10.0.0.0/8, 172.16.0.0/12, "
            "192.168.0.0/16 or 100.64.0.0/10) (got '1.1.1.0/26')",
        ),
        ({"local": {"loopback_cidr": "127.77.0.0/8"}}, "local.loopback_cidr: must be network"),
    ],
)
def test_networks_the_local_runtime_cannot_use(data: dict, expected: str) -> None:
    assert _error(data).startswith(f"s.yaml: {expected}")


def test_the_spec_knows_where_the_local_runtime_puts_things() -> None:
    from peerchaos import spec as spec_module
    from peerchaos.runtime.local import controlplane, network

    assert spec_module.FIRST_POD_OFFSET == network.FIRST_POD_OFFSET
    assert spec_module.SERVICE_OFFSET == controlplane.SERVICE_OFFSET
    assert controlplane.DNS_OFFSET < controlplane.SERVICE_OFFSET


def test_pod_names_fit_in_a_label() -> None:
    longest = parse_spec({"name": "z" * 52, "replicas": 9})
    assert all(len(pod) <= 63 for pod in longest.pod_names())
    assert "must be at most 52 characters" in _error({"name": "z" * 53})


@pytest.mark.parametrize(
    "image",
    [
        "zookeeper:3.8",
        "zookeeper",
        "library/zookeeper:3.8.4-jre-17",
        "registry.example.com:5000/team/zk:3.8",
        "localhost/zk",
        "zk@sha256:" + "a" * 64,
        "ghcr.io/org/zk:3.8@sha256:" + "0123456789abcdef" * 4,
    ],
)
def test_image_references_as_registries_write_them(image: str) -> None:
    assert parse_spec({"image": image}).image == image
