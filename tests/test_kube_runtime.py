"""The kubernetes runtime through the real `kubernetes` client against a fake API server.

The fake (tests/fake_apiserver.py) speaks HTTP and the exec WebSocket on loopback; the
runtime cannot tell it from a cluster. Each test checks what the runtime asked the API
to do — and what it did not ask — as well as what it reports back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest

from peerchaos import nemesis
from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.manifests import ownership_labels, render
from peerchaos.runtime import open_runtime
from peerchaos.runtime.kubernetes.objects import partition_policy
from peerchaos.runtime.kubernetes.podexec import MARKER
from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime
from peerchaos.spec import parse_spec

from conftest import REPO, wait_until
from fake_apiserver import FakeApiServer

NS = "chaos"
SPEC = parse_spec({"namespace": NS})


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        server.cluster.add_namespace(NS, {"peerchaos.io/allow": "true"})
        yield server


def runtime_for(fake: FakeApiServer, tmp_path: Path, spec=SPEC, **options) -> KubernetesRuntime:
    return KubernetesRuntime(spec, tmp_path / "state", host=fake.url, **options)


@pytest.fixture
def deployed(fake: FakeApiServer, tmp_path: Path) -> Iterator[KubernetesRuntime]:
    runtime = runtime_for(fake, tmp_path, watch=True, watch_period_s=0.05)
    runtime.apply(render(SPEC))
    try:
        yield runtime
    finally:
        runtime.teardown()


def kinds_created(fake: FakeApiServer) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in fake.cluster.requests if r.method == "POST"]


def test_a_namespace_without_the_opt_in_label_is_refused_before_anything_is_touched(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    fake.cluster.add_namespace("prod", {"team": "storage"})
    runtime = runtime_for(fake, tmp_path, spec=parse_spec({"namespace": "prod"}))
    with pytest.raises(UsageError) as refused:
        runtime.apply(render(runtime.spec))
    message = str(refused.value)
    assert "\n" not in message
    assert "namespace prod: lacks the label peerchaos.io/allow=true" in message
    assert "kubectl label namespace prod peerchaos.io/allow=true" in message
    with pytest.raises(UsageError, match="lacks the label"):
        runtime.kill("zk-0")
    assert fake.cluster.changes() == []
    missing = runtime_for(fake, tmp_path, spec=parse_spec({"namespace": "nowhere"}))
    with pytest.raises(UsageError, match="namespace nowhere: does not exist"):
        missing.preflight()


def test_apply_creates_the_ensemble_and_the_runtime_reports_it(
    deployed: KubernetesRuntime, fake: FakeApiServer
) -> None:
    assert kinds_created(fake) == [
        "statefulsets",
        "services",
        "services",
        "poddisruptionbudgets",
    ]
    assert deployed.wait_ready(10) >= 0
    pods = deployed.pods()
    assert [p.name for p in pods] == ["zk-0", "zk-1", "zk-2"]
    assert all(p.ready and p.ip and p.phase == "Running" for p in pods)
    headless, _ = deployed.endpoints()
    assert headless.service == "zk-hs" and sorted(headless.ready) == sorted(p.ip for p in pods)
    host, port = deployed.client_service_address()
    assert host.startswith("10.96.") and port == 2181
    assert deployed.dns_server() == ("10.96.0.10", 53)
    status = deployed.status()
    assert status["mode"] == "kubernetes" and status["cluster_ips"] == {"zk-cs": host}
    assert set(deployed.pod_addresses()) == {"zk-0", "zk-1", "zk-2"}
    assert deployed.is_up()
    # Applying again patches what exists instead of failing.
    deployed.apply(render(SPEC))
    assert [r.method for r in fake.cluster.requests].count("PATCH") == 4


def test_kill_deletes_the_pod_with_grace_zero_and_the_watcher_sees_it_return(
    deployed: KubernetesRuntime, fake: FakeApiServer
) -> None:
    before = {p.name: p.ip for p in deployed.pods()}
    t = deployed.kill("zk-1")
    deletes = [r for r in fake.cluster.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == [f"/api/v1/namespaces/{NS}/pods/zk-1"]
    grace = deletes[0].query.get("gracePeriodSeconds") or [
        str((deletes[0].body or {}).get("gracePeriodSeconds"))
    ]
    assert grace == ["0"]
    wait_until(
        lambda: (deployed.pod_addresses().get("zk-1") or ("",))[0] not in ("", before["zk-1"])
    )
    wait_until(lambda: any(e["kind"] == "pod_started" for e in deployed.runtime_events(t - 1)), 5)
    events = deployed.runtime_events(t - 1)
    fault = next(e for e in events if e["kind"] == "fault")
    assert fault["pod"] == "zk-1" and fault["ip"] == before["zk-1"] and fault["t_fault"] == t
    exited = next(e for e in events if e["kind"] == "pod_exited")
    started = next(e for e in events if e["kind"] == "pod_started")
    assert exited["ip"] == before["zk-1"] and started["ip"] != before["zk-1"]
    assert exited["t"] <= started["t"]


def test_unready_and_pause_go_through_exec_and_the_rollback_heals_both(
    deployed: KubernetesRuntime, fake: FakeApiServer
) -> None:
    deployed.make_unready("zk-0")
    deployed.pause("zk-2")
    state = fake.cluster.pods
    assert state[(NS, "zk-0")].marker and state[(NS, "zk-2")].paused
    assert state[(NS, "zk-0")].execs == [["sh", "-c", f"touch {MARKER}"]]
    assert "kill -STOP" in state[(NS, "zk-2")].execs[0][-1]
    pods = {p.name: p for p in deployed.pods()}
    assert not pods["zk-0"].ready and pods["zk-0"].unready_marker
    assert pods["zk-2"].paused and pods["zk-1"].ready
    headless = deployed.endpoints()[0]
    assert pods["zk-0"].ip in headless.ready  # publishNotReadyAddresses: still published
    done = nemesis.heal_everything(deployed)
    assert "made zk-0 ready" in done and "resumed zk-2" in done
    assert not state[(NS, "zk-0")].marker and not state[(NS, "zk-2")].paused
    assert "kill -CONT" in state[(NS, "zk-2")].execs[-1][-1]
    assert all(p.ready and not p.paused for p in deployed.pods())
    wait_until(lambda: any(e["kind"] == "pod_ready" for e in deployed.runtime_events(0)), 5)
    kinds = [e["kind"] for e in deployed.runtime_events(0)]
    assert "pod_unready" in kinds and kinds.count("heal") == 2


def test_a_failing_exec_is_one_line_naming_the_pod(
    deployed: KubernetesRuntime, fake: FakeApiServer
) -> None:
    del fake.cluster.pods[(NS, "zk-1")]  # the container is gone, the pod object is not
    with pytest.raises(PeerchaosError) as failed:
        deployed.pause("zk-1")
    assert str(failed.value) == f"pause (SIGSTOP) in {NS}/zk-1: exit 1 (pod zk-1 is not running)"
    assert not deployed.pods()[1].paused


def test_partition_isolates_groups_with_network_policies_and_heal_removes_them(
    deployed: KubernetesRuntime, fake: FakeApiServer
) -> None:
    deployed.partition([["zk-0"]])
    names = fake.cluster.names("networkpolicies", NS)
    assert names == ["peerchaos-partition-zk-0", "peerchaos-partition-zk-1"]
    isolated = fake.cluster.get("networkpolicies", NS, names[0])
    rest = fake.cluster.get("networkpolicies", NS, names[1])
    assert isolated["spec"]["podSelector"]["matchExpressions"][0]["values"] == ["zk-0"]
    assert rest["spec"]["podSelector"]["matchExpressions"][0]["values"] == ["zk-1", "zk-2"]
    peers_allowed = isolated["spec"]["ingress"][0]["from"][0]["podSelector"]
    assert peers_allowed["matchExpressions"][0]["values"] == ["zk-0"]
    assert nemesis.heal_everything(deployed)[0] == "healed partitions"
    assert fake.cluster.names("networkpolicies", NS) == []
    kinds = [e["kind"] for e in deployed.runtime_events(0)]
    assert kinds.count("fault") == 1 and kinds.count("heal") == 1


def test_the_partition_policy_is_a_valid_network_policy() -> None:
    policy = partition_policy(SPEC, 0, ["zk-0"], "20261126T000000Z-00000000")
    kubernetes_validate.validate(policy, kubernetes_validate.latest_version(), strict=True)


def test_pods_outside_the_ensemble_selector_are_never_touched(
    deployed: KubernetesRuntime, fake: FakeApiServer
) -> None:
    fake.cluster.add_pod(NS, "zk-9", {"app": "zk"}, {"containers": [{"name": "zookeeper"}]})
    with pytest.raises(UsageError, match="not one of the ensemble's"):
        deployed.kill("zk-9")
    # A pod with an ensemble name but without its labels (someone else's pod).
    pod = fake.cluster.objects[("pods", NS, "zk-2")]
    pod["metadata"]["labels"] = {"app": "billing"}
    for fault in (deployed.kill, deployed.make_unready, deployed.pause):
        with pytest.raises(
            UsageError, match=f"^Pod {NS}/zk-2: lacks the label app.kubernetes.io/managed-by="
        ):
            fault("zk-2")
    # Ownership labels but not the ensemble's selector: still not one of its peers.
    pod["metadata"]["labels"] = {**ownership_labels("zk"), "app": "billing"}
    for fault in (deployed.kill, deployed.make_unready, deployed.pause):
        with pytest.raises(UsageError, match="lacks the ensemble's selector app=zk"):
            fault("zk-2")
    with pytest.raises(UsageError):
        deployed.partition([["zk-2"]])
    touched = [
        r for r in fake.cluster.changes() if "/pods/" in r.path or "networkpolicies" in r.path
    ]
    assert touched == []


def test_selectorless_endpoints_are_deleted_and_restored_as_they_were(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    spec = parse_spec(
        {"namespace": NS, "selectorless": {"enabled": True, "addresses": ["10.244.9.9"]}}
    )
    runtime = runtime_for(fake, tmp_path, spec=spec)
    runtime.apply(render(spec))
    try:
        original = fake.cluster.get("endpoints", NS, "zk-cs")
        runtime.delete_endpoints("zk-cs")
        assert fake.cluster.get("endpoints", NS, "zk-cs") is None
        assert not runtime.endpoints()[1].exists
        runtime.restore_endpoints("zk-cs")
        restored = fake.cluster.get("endpoints", NS, "zk-cs")
        assert restored["subsets"] == original["subsets"]
        assert runtime.endpoints()[1].ready == ("10.244.9.9",)
        with pytest.raises(UsageError, match="none deleted to restore"):
            runtime.restore_endpoints("zk-cs")
    finally:
        runtime.teardown()


def test_teardown_heals_and_deletes_everything_it_applied_and_claims_when_asked(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    runtime = runtime_for(fake, tmp_path, delete_pvcs=True)
    runtime.apply(render(SPEC))
    fake.cluster.add_pod(NS, "bystander", {"app": "other"}, {"containers": [{"name": "c"}]})
    runtime.partition([["zk-0"]])
    runtime.pause("zk-1")
    assert len(fake.cluster.names("persistentvolumeclaims", NS)) == 3
    removed = runtime.teardown()
    assert f"StatefulSet {NS}/zk" in removed and f"Service {NS}/zk-hs" in removed
    assert len([r for r in removed if r.startswith("PersistentVolumeClaim")]) == 3
    for res in ("statefulsets", "services", "poddisruptionbudgets", "networkpolicies"):
        assert fake.cluster.names(res, NS) == [], res
    assert fake.cluster.names("pods", NS) == ["bystander"]
    assert fake.cluster.names("persistentvolumeclaims", NS) == []
    assert not fake.cluster.pods.get((NS, "zk-1"))  # resumed, then deleted with its set
    assert not runtime.is_up()
    assert runtime.teardown() == []  # harmless when nothing is there


def test_claims_stay_by_default(fake: FakeApiServer, tmp_path: Path) -> None:
    runtime = runtime_for(fake, tmp_path)
    runtime.apply(render(SPEC))
    runtime.teardown()
    assert len(fake.cluster.names("persistentvolumeclaims", NS)) == 3


def test_a_dry_run_changes_nothing_and_says_what_it_would_do(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    runtime = runtime_for(fake, tmp_path, dry_run=True)
    runtime.apply(render(SPEC))
    runtime.kill("zk-0")
    runtime.make_unready("zk-1")
    runtime.partition([["zk-2"]])
    runtime.teardown()
    assert fake.cluster.requests == []
    assert runtime.plan[0] == f"would apply StatefulSet {NS}/zk"
    assert f"would delete pod {NS}/zk-0 (grace period 0 s)" in runtime.plan
    assert any(line.startswith(f"would exec in pod {NS}/zk-1: touch") for line in runtime.plan)
    assert any("isolating zk-2" in line for line in runtime.plan)


def test_logs_come_from_the_pods_and_a_locator_opens_the_same_runtime(
    deployed: KubernetesRuntime, tmp_path: Path
) -> None:
    assert "zk-0 started" in deployed.logs("zk-0")
    deployed.copy_logs(tmp_path / "peers")
    assert sorted(p.name for p in (tmp_path / "peers").iterdir()) == [
        "zk-0.log",
        "zk-1.log",
        "zk-2.log",
    ]
    again = open_runtime(deployed.locator())
    assert isinstance(again, KubernetesRuntime)
    assert again.pod_addresses() == deployed.pod_addresses()


def test_an_unreachable_api_server_is_one_line(tmp_path: Path) -> None:
    runtime = KubernetesRuntime(SPEC, tmp_path, host="http://127.0.0.1:9")
    with pytest.raises(PeerchaosError) as failed:
        runtime.preflight()
    assert str(failed.value).startswith(f"kubernetes: read namespace {NS}: ")
    assert "\n" not in str(failed.value)
    assert not runtime.is_up()


def test_chaos_run_on_an_unlabelled_namespace_stops_before_the_method(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    """The real `chaos` command, `runtime: kubernetes` set with --var: the namespace guard
    stops the run with one line and nothing is created."""
    fake.cluster.add_namespace("default", {})
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
    temp_dirs = set(Path("/tmp").glob("pc-chaos-*"))
    chaos = Path(sys.executable).with_name("chaos")
    result = subprocess.run(
        [
            str(chaos),
            "--no-log-file",
            "run",
            str(REPO / "experiments" / "zk-leader-kill.yaml"),
            "--journal-path",
            str(tmp_path / "journal.json"),
            "--var",
            "runtime=kubernetes",
            "--var",
            f"results_dir={tmp_path / 'results'}",
        ],
        cwd=REPO,
        # KUBECONFIG, as a person points kubectl at a cluster.
        env={**os.environ, "KUBECONFIG": kubeconfig},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "namespace default: lacks the label peerchaos.io/allow=true" in output, output
    assert "Traceback" not in output
    assert result.returncode != 0
    assert fake.cluster.changes() == []
    assert set(Path("/tmp").glob("pc-chaos-*")) == temp_dirs  # its state dir went too


def test_the_kube_commands_drive_the_same_runtime(
    fake: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from peerchaos.cli import main

    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(f"namespace: {NS}\n")
    monkeypatch.setenv("KUBECONFIG", fake.kubeconfig(tmp_path / "kubeconfig"))
    monkeypatch.setenv("PEERCHAOS_STATE_DIR", str(tmp_path / "state"))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["kube", *args, "--spec", str(spec_file)])
        assert result.exit_code == 0, result.output
        return result.output

    assert run("up", "--dry").splitlines()[0] == f"would apply StatefulSet {NS}/zk"
    assert fake.cluster.requests == []
    KubernetesRuntime(SPEC, tmp_path / "rt", host=fake.url).apply(render(SPEC))  # no watcher
    assert run("fault", "unready", "zk-1").startswith(f"unready {NS}/zk-1 at ")
    assert "zk-1\t" in run("status") and "not ready\tunready" in run("status")
    assert run("fault", "ready", "zk-1").startswith(f"ready {NS}/zk-1 at ")
    bad = runner.invoke(main, ["kube", "fault", "kill", "zk-5", "--spec", str(spec_file)])
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "zk-5" in bad.output
    out = run("down", "--delete-pvcs")
    assert f"deleted StatefulSet {NS}/zk" in out
    assert fake.cluster.names("persistentvolumeclaims", NS) == []
    assert not (tmp_path / "state-kube-chaos-zk").exists()


def test_every_call_the_runtime_makes_is_allowed_by_the_shipped_rbac(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    """Drive every runtime call once, then check each request against the Role and the
    ClusterRole `peerchaos jobs` ships: least privilege that is still enough."""
    from peerchaos.jobs import JobRequest
    from peerchaos.jobs import render as render_jobs

    selectorless = parse_spec({"namespace": NS, "selectorless": {"enabled": True}})
    runtime = runtime_for(fake, tmp_path, spec=selectorless, delete_pvcs=True)
    runtime.apply(render(selectorless))
    runtime.status()
    runtime.kill("zk-0")
    runtime.make_unready("zk-1")
    runtime.pause("zk-2")
    nemesis.heal_everything(runtime)
    runtime.partition([["zk-1"]])
    runtime.heal()
    runtime.delete_endpoints("zk-cs")
    runtime.restore_endpoints("zk-cs")
    runtime.copy_logs(tmp_path / "peers")
    runtime.teardown()

    objects = render_jobs(JobRequest(namespace=NS))
    role = next(o for o in objects if o["kind"] == "Role")
    cluster_role = next(o for o in objects if o["kind"] == "ClusterRole")
    group_of = {"statefulsets": "apps", "poddisruptionbudgets": "policy"}
    group_of["networkpolicies"] = "networking.k8s.io"

    def allowed(rules: list[dict], resource: str, verb: str, name: str | None = None) -> bool:
        group = group_of.get(resource.split("/")[0], "")
        return any(
            group in rule["apiGroups"]
            and resource in rule["resources"]
            and verb in rule["verbs"]
            and (name is None or name in rule.get("resourceNames", [name]))
            for rule in rules
        )

    calls = {(r.resource, r.verb) for r in fake.cluster.requests if f"/namespaces/{NS}" in r.path}
    assert {("pods", "delete"), ("pods/exec", "create"), ("networkpolicies", "create")} <= calls
    for resource, verb in sorted(calls):
        if resource == "namespaces":
            assert allowed(cluster_role["rules"], resource, verb, NS), (resource, verb)
        else:
            assert allowed(role["rules"], resource, verb), (resource, verb)


def test_without_a_usable_kubeconfig_nothing_is_up_and_preflight_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    runtime = KubernetesRuntime(SPEC, tmp_path / "state")
    assert not runtime.is_up()  # a session is closed (and its temp dir removed) on this
    with pytest.raises(PeerchaosError, match=r"^kubernetes: no usable cluster configuration in"):
        runtime.preflight()
