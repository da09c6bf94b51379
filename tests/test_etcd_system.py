"""etcd behind the seam, without a cluster: its spec, objects, flags, logs, gateway answers,
causes and attach recognition (real etcd 3.4 log lines from tests/data/etcd/)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from peerchaos.manifests import render
from peerchaos.runtime.kubernetes.podexec import find_server
from peerchaos.spec import parse_spec
from peerchaos.systems import get_system
from peerchaos.systems.base import LocalPod
from peerchaos.systems.etcd import attach, causes, gateway, localpod

DATA = Path(__file__).parent / "data" / "etcd"
ETCD = get_system("etcd")


def _spec(**extra):
    return parse_spec({"system": "etcd", **extra}, "test")


def test_an_etcd_spec_takes_etcds_defaults_and_its_own_group() -> None:
    spec = _spec(etcd={"election_timeout_ms": 500, "heartbeat_interval_ms": 50})
    assert (spec.name, spec.headless_service.name, spec.client_service.name) == (
        "etcd",
        "etcd-hs",
        "etcd-cs",
    )
    assert (spec.headless_service.server_port, spec.client_service.port) == (2380, 2379)
    assert spec.headless_service.leader_election_port is None
    assert spec.readiness_probe.kind == "health"
    with pytest.raises(Exception, match=r"readiness_probe\.kind 'ruok' is not one of etcd's"):
        _spec(readiness_probe={"kind": "ruok"})


def _container(spec) -> dict:
    sts = next(o for o in render(spec) if o["kind"] == "StatefulSet")
    return sts["spec"]["template"]["spec"]["containers"][0]


def test_the_container_configures_etcd_through_its_own_env_with_stable_names() -> None:
    spec = _spec(etcd={"election_timeout_ms": 1500})
    container = _container(spec)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ETCD_INITIAL_CLUSTER"] == ",".join(
        f"etcd-{i}=http://etcd-{i}.etcd-hs.default.svc.cluster.local:2380" for i in range(3)
    )
    assert env["ETCD_ELECTION_TIMEOUT"] == "1500" and env["ETCD_HEARTBEAT_INTERVAL"] == "100"
    assert env["ETCD_INITIAL_ADVERTISE_PEER_URLS"] == (
        "http://$(POD_NAME).$(PEERCHAOS_PEER_DOMAIN):2380"
    )
    assert [p["name"] for p in container["ports"]] == ["client", "peer"]
    probe = container["readinessProbe"]["exec"]["command"][-1]
    assert probe.startswith("test ! -e /tmp/peerchaos-unready && ") and "endpoint health" in probe


def test_a_local_member_runs_with_its_env_as_flags_in_its_pod_dir(tmp_path: Path) -> None:
    container = _container(_spec())
    env = {e["name"]: str(e.get("value", "")) for e in container["env"]}
    pod = LocalPod("etcd-1", 1, env, 2379, tmp_path / "etcd-1", "tag")
    command = localpod.local_command(pod)
    assert command[0].endswith("etcd")
    flags = dict(item[2:].split("=", 1) for item in command[1:])
    assert flags["name"] == "etcd-1"
    assert flags["data-dir"] == str(tmp_path / "etcd-1" / "data")
    assert flags["initial-advertise-peer-urls"] == (
        "http://etcd-1.etcd-hs.default.svc.cluster.local:2380"
    )
    assert flags["listen-peer-urls"] == "http://0.0.0.0:2380"
    assert flags["logger"] == "zap" and flags["election-timeout"] == "1000"
    # Loopback addresses: listen on the pod's own.
    bound = LocalPod("etcd-1", 1, env, 2379, tmp_path / "b", "tag", bind_address="127.0.9.3")
    assert "--listen-client-urls=http://127.0.9.3:2379" in localpod.local_command(bound)
    localpod.check_container(container)
    with pytest.raises(Exception, match="lacks ETCD_INITIAL_CLUSTER"):
        localpod.check_container({"env": []})


def test_the_role_comes_from_the_status_answer() -> None:
    status = {
        "header": {"member_id": "3319814642761637952", "raft_term": "2"},
        "leader": "3319814642761637952",
        "raftTerm": "2",
        "raftIndex": "4",
    }
    role = gateway.role_from_status(status)
    assert (role.mode, role.epoch, role.detail["member_id"]) == ("leader", 2, "2e1259d415f2a040")
    follower = gateway.role_from_status({**status, "leader": "17"})
    assert (follower.mode, follower.detail["leader_id"]) == ("follower", "11")
    alone = gateway.role_from_status({"header": {"member_id": "5"}, "raftTerm": "9"})
    assert (alone.mode, alone.epoch, alone.serving) == ("candidate", 9, False)
    assert ETCD.role("127.0.0.1", 9, 0.2).mode == "unreachable"
    assert ETCD.answering_ordinal("127.0.0.1", 9, 0.2) is None


def test_ground_truth_from_real_etcd_log_lines(tmp_path: Path) -> None:
    text = (DATA / "single-member.log").read_text()
    (tmp_path / "etcd-0.log").write_text(
        "# peerchaos: starting at 2026-12-01T13:02:05Z in x\n" + text
    )
    events = ETCD.parse_logs(tmp_path)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "process_start" and "member_id" in kinds and "campaign" in kinds
    states = [(e["state"], e["term"]) for e in events if e["kind"] == "peer_state"]
    assert states == [("no-leader", 0), ("no-leader", 1), ("candidate", 2), ("leader", 2)]
    (leader,) = ETCD.leader_serving(events)
    assert leader["t"] == pytest.approx(1796130125.400) and leader["pod"] == "etcd-0"
    assert [ETCD.log_state(e) for e in events if e["kind"] == "peer_state"][-2:] == [
        "looking",
        "leader",
    ]
    assert ETCD.version_from_logs(tmp_path) == "3.4.23"
    assert ETCD.split_log_line("2026-12-01 13:00:00,000 [myid:1] - INFO hello") is None


def _state(t: float, pod: str, state: str, term: int) -> dict:
    return {"t": t, "pod": pod, "kind": "peer_state", "state": state, "term": term}


def test_causes_name_the_election_timeout_and_a_split_vote() -> None:
    events = [
        {"t": 11.2, "pod": "etcd-0", "kind": "campaign", "member": "a", "term": 3},
        {"t": 11.25, "pod": "etcd-1", "kind": "campaign", "member": "b", "term": 3},
        _state(11.2, "etcd-0", "candidate", 4),
        _state(11.25, "etcd-1", "candidate", 4),
        {"t": 13.0, "pod": "etcd-1", "kind": "campaign", "member": "b", "term": 4},
        _state(13.01, "etcd-1", "leader", 5),
    ]
    spec = {"election_timeout_ms": 1000, "heartbeat_interval_ms": 100}
    found = ETCD.trial_causes(events, None, 10.0, 20.0, spec, {}, ["etcd-2"], 3, False)
    kinds = [c["kind"] for c in found]
    assert kinds == ["election_timeout", "split_vote"]
    assert found[0]["peer"] == "etcd-0" and found[0]["at_s"] == pytest.approx(1.2)
    assert found[1]["term"] == 4 and found[1]["peers"] == ["etcd-0", "etcd-1"]
    # A rejoining partitioned member deposes the new leader with its higher term.
    rejoin = [
        _state(12.0, "etcd-1", "leader", 5),
        {"t": 14.0, "pod": "etcd-2", "kind": "campaign", "member": "c", "term": 7},
        _state(15.0, "etcd-1", "no-leader", 8),
    ]
    deposed = causes.disruptive_rejoins(rejoin, 10.0, 20.0, ["etcd-2"])
    # A lone member behind a partition campaigning seconds after the others: no split.
    lone = [
        {"t": 11.0, "pod": "etcd-2", "kind": "campaign", "member": "c", "term": 8},
        {"t": 14.0, "pod": "etcd-0", "kind": "campaign", "member": "a", "term": 8},
    ]
    assert causes.split_votes(lone, 10.0, 20.0, spec) == []
    assert [(c["peer"], c["by"], c["term"]) for c in deposed] == [("etcd-1", "etcd-2", 8)]


def _grep_finds(command: list[str], cmdline: str, tmp_path: Path) -> str:
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True, exist_ok=True)
    (proc / "4242" / "cmdline").write_bytes(cmdline.replace(" ", "\0").encode() + b"\0")
    script = command[-1].replace("/proc/", f"{proc}/")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10)
    return done.stdout.strip()


def test_pause_finds_the_etcd_server_but_not_etcdctl(tmp_path: Path) -> None:
    pattern = ETCD.server_process_pattern
    assert _grep_finds(find_server(pattern), "/usr/local/bin/etcd", tmp_path / "a") == "4242"
    local = "/usr/bin/etcd --name=etcd-0 --data-dir=/x"
    assert _grep_finds(find_server(pattern), local, tmp_path / "b") == "4242"
    probe = "/usr/local/bin/etcdctl endpoint health"
    assert _grep_finds(find_server(pattern), probe, tmp_path / "c") == ""
    assert _grep_finds(find_server(pattern), f"sh -c grep {pattern}", tmp_path / "d") == ""


def test_attach_recognises_an_etcd_statefulset_and_reads_its_options() -> None:
    container = {
        "name": "etcd",
        "image": "quay.io/coreos/etcd:v3.4.23",
        "command": ["/usr/local/bin/etcd", "--election-timeout=1200", "--pre-vote=true"],
        "env": [{"name": "ETCD_LISTEN_CLIENT_URLS", "value": "http://0.0.0.0:12379"}],
        "ports": [{"name": "peer", "containerPort": 12380}],
    }
    sts = {
        "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "nginx"}, container]}}}
    }
    assert ETCD.attach_container(sts) is container
    assert ETCD.attach_identity(container) == ("the official etcd image", "3.4.23")
    found = ETCD.attach_settings(container, [])
    assert (
        found["client_port"].value == 12379
        and "ETCD_LISTEN_CLIENT_URLS" in found["client_port"].source
    )
    assert found["server_port"].value == 12380
    assert found["election_timeout_ms"].value == 1200
    findings = ETCD.attach_findings(container, found, "StatefulSet default/etcd")
    assert findings.settings["pre_vote"].value is True and not findings.problems
    zk = {"name": "zookeeper", "image": "zookeeper:3.8", "command": ["zkServer.sh"]}
    assert attach.find_container({"spec": {"template": {"spec": {"containers": [zk]}}}}) is None
    tls = {
        **container,
        "env": [{"name": "ETCD_LISTEN_CLIENT_URLS", "value": "https://0.0.0.0:2379"}],
    }
    assert ETCD.attach_findings(tls, {}, "here").problems[0].startswith("here: etcd serves TLS")


def test_the_kubernetes_runtime_runs_etcd_faults_through_its_container(tmp_path: Path) -> None:
    """The etcd StatefulSet on the test API server: the pods, an unready marker, a pause
    of the etcd process (its pattern), a kill — the same runtime, through the seam."""
    from peerchaos import nemesis
    from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime

    from fake_apiserver import FakeApiServer

    spec = _spec(namespace="chaos")
    with FakeApiServer() as fake:
        fake.cluster.add_namespace("chaos", {"peerchaos.io/allow": "true"})
        runtime = KubernetesRuntime(spec, tmp_path / "state", host=fake.url)
        runtime.apply(render(spec))
        try:
            assert runtime.wait_ready(10) >= 0
            assert [p.name for p in runtime.pods()] == ["etcd-0", "etcd-1", "etcd-2"]
            assert runtime.client_service_address()[1] == 2379
            runtime.make_unready("etcd-0")
            runtime.pause("etcd-2")
            pods = fake.cluster.pods
            assert pods[("chaos", "etcd-0")].marker and pods[("chaos", "etcd-2")].paused
            assert (
                f"grep -aq '{ETCD.server_process_pattern}'"
                in pods[("chaos", "etcd-2")].execs[0][-1]
            )
            execs = [r for r in fake.cluster.requests if r.path.endswith("/exec")]
            assert {r.query.get("container", [None])[0] for r in execs} == {"etcd"}
            done = nemesis.heal_everything(runtime)
            assert "made etcd-0 ready" in done and "resumed etcd-2" in done
            runtime.kill("etcd-1")
            deletes = [r.path for r in fake.cluster.requests if r.method == "DELETE"]
            assert deletes == ["/api/v1/namespaces/chaos/pods/etcd-1"]
        finally:
            runtime.teardown()
