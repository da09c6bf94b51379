"""The system seam: the registry, ZooKeeper behind it, and the spec's system parts.

Pure tests (no ensemble): what a second system fills is checked on the one that fills it
now — every member is implemented, the rendered objects come from it, the pause and
attach commands are built from its process pattern (run through a real `sh` and `grep`),
and a spec writes ZooKeeper's settings in their group or, as before, at the top level.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from peerchaos.errors import SpecError, UsageError
from peerchaos.manifests import find, render
from peerchaos.runtime.kubernetes.podexec import find_server, signal_server
from peerchaos.runtime.local.objects import ensemble_from_objects, system_of
from peerchaos.spec import EnsembleSpec, parse_spec, spec_with_overrides
from peerchaos.systems import DEFAULT_SYSTEM, available, get_system
from peerchaos.systems import system_of as system_of_spec
from peerchaos.systems.base import SERVING_MODES, Role, System


def test_the_registry_hands_out_zookeeper_and_refuses_the_rest_in_one_line() -> None:
    zookeeper = get_system()
    assert isinstance(zookeeper, System) and zookeeper.name == DEFAULT_SYSTEM == "zookeeper"
    assert get_system("zookeeper") is zookeeper
    assert available() == ("zookeeper", "etcd")
    assert get_system("etcd").name == "etcd"
    with pytest.raises(
        UsageError, match=r"^system: must be one of zookeeper, etcd \(got 'mysql'\)$"
    ):
        get_system("mysql")
    # A run dir's meta.json names its system; older runs (or none) are ZooKeeper's.
    assert system_of_spec({"system": "zookeeper"}) is zookeeper
    assert system_of_spec({}) is system_of_spec(None) is zookeeper


def test_roles_serve_only_in_serving_modes() -> None:
    assert {m for m in ("leader", "follower", "observer", "standalone")} == SERVING_MODES
    assert Role("follower", 3).serving and not Role("candidate", 4).serving
    assert not Role("unreachable").serving and Role("unreachable").detail == {}


def test_zookeeper_answers_unreachable_when_nothing_listens() -> None:
    role = get_system().role("127.0.0.1", 9, 0.2)  # the discard port: nothing answers here
    assert (role.mode, role.epoch, role.detail) == ("unreachable", None, {"zxid": None})
    assert get_system().answering_ordinal("127.0.0.1", 9, 0.2) is None


def test_the_statefulset_carries_the_systems_container_and_name() -> None:
    spec = parse_spec({"replicas": 5})
    objects = render(spec)
    sts = find(objects, "StatefulSet")
    assert sts["metadata"]["annotations"]["peerchaos.io/system"] == "zookeeper"
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    assert container == get_system().container(spec)
    assert container["name"] == get_system().container_name
    headless = find(objects, "Service", spec.headless_service.name)
    assert [(p["name"], p["port"]) for p in headless["spec"]["ports"]] == (
        get_system().peer_ports(spec)
    )
    # The local runtime reads the system back from the objects it is given.
    assert system_of(objects) == ensemble_from_objects(objects).system == "zookeeper"


def _grep_finds(command: list[str], cmdline: str, tmp_path: Path) -> str:
    """Run the exec command with /proc replaced by a directory holding one process."""
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True, exist_ok=True)
    (proc / "4242" / "cmdline").write_bytes(cmdline.replace(" ", "\0").encode())
    script = command[-1].replace("/proc/", f"{proc}/")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10)
    return done.stdout.strip()


def test_pause_and_attach_find_the_server_by_the_systems_pattern(tmp_path: Path) -> None:
    pattern = get_system().server_process_pattern
    java = "java -cp zookeeper.jar org.apache.zookeeper.server.quorum.QuorumPeerMain zoo.cfg"
    assert _grep_finds(find_server(pattern), java, tmp_path) == "4242"
    # The shell that greps holds the pattern itself on its command line: never matched.
    assert _grep_finds(find_server(pattern), f"sh -c grep {pattern}", tmp_path / "b") == ""
    assert signal_server(pattern, "STOP")[:2] == ["sh", "-c"]
    assert f"grep -aq '{pattern}'" in signal_server(pattern, "STOP")[-1]


def test_zookeeper_settings_in_their_group_or_at_the_top_level_are_one_spec() -> None:
    grouped = parse_spec({"zookeeper": {"tick_time_ms": 500, "jvm_dns_cache_s": 1}})
    older = parse_spec({"tick_time_ms": 500, "jvm_dns_cache_s": 1})
    assert grouped == older
    assert older.zookeeper.tick_time_ms == 500 and older.zookeeper.init_limit == 10
    assert parse_spec(older.model_dump()) == older
    # Written twice with the same value: one setting.
    twice = parse_spec({"tick_time_ms": 500, "zookeeper": {"tick_time_ms": 500}})
    assert twice.zookeeper.tick_time_ms == 500
    env = {e["name"]: e["value"] for e in get_system().container(older)["env"]}
    assert env["ZOO_TICK_TIME"] == "500"
    assert env["PEERCHAOS_JVM_DNS"] == (
        "networkaddress.cache.ttl=1 networkaddress.cache.negative.ttl=1"
    )


def test_overrides_replace_a_systems_settings_one_by_one() -> None:
    base = parse_spec({"tick_time_ms": 500, "init_limit": 7})
    top = spec_with_overrides(base, {"jvm_dns_cache_s": 1})
    assert (top.zookeeper.tick_time_ms, top.zookeeper.init_limit) == (500, 7)
    assert top.zookeeper.jvm_dns_cache_s == 1
    nested = spec_with_overrides(base, {"zookeeper": {"init_limit": 3}, "replicas": 5})
    assert (nested.zookeeper.tick_time_ms, nested.zookeeper.init_limit) == (500, 3)
    assert nested.replicas == 5
    # A bad override is named as the override wrote it.
    with pytest.raises(SpecError) as caught:
        spec_with_overrides(base, {"tick_time_ms": 5}, "configuration.spec_overrides")
    assert str(caught.value) == (
        "configuration.spec_overrides: tick_time_ms: must be at least 10 (got 5)"
    )
    with pytest.raises(SpecError) as caught:
        spec_with_overrides(base, {"zookeeper": {"tick_time_ms": 5}})
    assert str(caught.value) == "spec override: zookeeper.tick_time_ms: must be at least 10 (got 5)"


def test_the_systems_defaults_fill_what_a_spec_leaves_out() -> None:
    defaults = get_system().spec_defaults()
    spec = EnsembleSpec()
    assert (spec.name, spec.image) == (defaults["name"], defaults["image"])
    assert spec.headless_service.model_dump() == defaults["headless_service"]
    assert spec.client_service.model_dump() == defaults["client_service"]
    assert spec.readiness_probe.kind == get_system().readiness_kinds[0]
    # A spec's own values win, key by key inside a Service.
    mine = parse_spec({"headless_service": {"name": "peers"}, "name": "coord"})
    assert (mine.name, mine.headless_service.name, mine.headless_service.server_port) == (
        "coord",
        "peers",
        defaults["headless_service"]["server_port"],
    )
