"""Faults from anywhere become measured trials (issue 10, part 2).

A pod exit, a container restart or a readiness flip that no peerchaos fault explains is
an external fault: from crafted runtime records, from the cluster watcher when another
client deletes a pod (the official client against the fake API server), and on a real
local ensemble whose leader JVM is SIGKILLed from outside while `peerchaos observe` runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from test_kube_runtime import NS, SPEC, runtime_for

from peerchaos.external import external_faults
from peerchaos.manifests import render
from peerchaos.measure import measure

from conftest import REPO, needs_zookeeper, wait_until
from fake_apiserver import FakeApiServer

T = 1000.0


def rt(t: float, kind: str, **fields: Any) -> dict[str, Any]:
    return {"t": T + t, "kind": kind, "source": "runtime", **fields}


START = {"t": T - 5, "kind": "observe_start", "source": "observers"}


def test_an_exit_no_peerchaos_fault_explains_is_an_external_kill() -> None:
    events = [
        START,
        rt(-4, "pod_ready", pod="zk-0", ip="a"),
        rt(0, "fault", fault="kill", pod="zk-1", ip="b", t_fault=T),
        rt(0.01, "pod_exited", pod="zk-1", ip="b", returncode=-9),  # peerchaos's own kill
        rt(3, "pod_exited", pod="zk-2", ip="c", returncode=-9),  # nobody of ours did this
        {"t": T + 9, "kind": "observe_stop", "source": "observers"},
        rt(9.5, "pod_exited", pod="zk-0", ip="a", returncode=-9),  # teardown: not a trial
    ]
    (fault,) = external_faults(events)
    assert (fault["fault"], fault["pod"], fault["source"]) == ("kill", "zk-2", "external")
    assert fault["t_fault"] == T + 3 and fault["observed_by"] == "container exit"
    # Written once: a run dir measured again does not gain a second copy.
    assert external_faults([*events, fault]) == []


def test_readiness_flips_count_only_when_no_peerchaos_fault_holds() -> None:
    events = [
        START,
        rt(-4, "pod_ready", pod="zk-0"),
        rt(-4, "pod_ready", pod="zk-1"),
        rt(0, "fault", fault="pause", pod="zk-0", t_fault=T),
        rt(0.5, "pod_unready", pod="zk-0"),  # explained: peerchaos paused it
        rt(4, "heal", fault="pause", pod="zk-0", t_heal=T + 4),
        rt(4.4, "pod_ready", pod="zk-0"),
        rt(6, "pod_unready", pod="zk-1"),  # another tool froze it
        rt(7, "container_restarted", pod="zk-0", restarts=1),
    ]
    unready, restart = external_faults(events)
    assert (unready["fault"], unready["pod"]) == ("unready", "zk-1")
    assert unready["observed_by"] == "readiness failed: endpoint removed"
    assert (restart["fault"], restart["pod"]) == ("restart", "zk-0")


def test_readiness_lost_by_the_others_during_a_peerchaos_faults_recovery_is_its_own() -> None:
    # etcd's /health (and ZooKeeper's `quorum` probe) fails on every member while no
    # leader is known: the survivors' flips during the election follow the kill.
    pods = ("etcd-0", "etcd-1", "etcd-2")
    events = [START, *(rt(-4, "pod_ready", pod=p) for p in pods)]
    events += [
        rt(0, "fault", fault="kill", pod="etcd-1", t_fault=T),
        rt(0.01, "pod_exited", pod="etcd-1"),
        rt(1.3, "pod_unready", pod="etcd-0"),
        rt(1.3, "pod_unready", pod="etcd-2"),
        rt(1.4, "pod_ready", pod="etcd-0"),
        rt(1.4, "pod_ready", pod="etcd-2"),
        rt(2.0, "pod_ready", pod="etcd-1"),  # every pod ready again: recovered
        rt(5.0, "pod_unready", pod="etcd-0"),  # after the recovery: someone else's
    ]
    (fault,) = external_faults(events)
    assert (fault["fault"], fault["pod"], fault["t_fault"]) == ("unready", "etcd-0", T + 5)


def test_an_external_kill_is_measured_like_any_trial() -> None:
    roles = [
        {"t": T - 1, "kind": "role", "pod": p, "mode": m, "epoch": 1, "source": "role-probe"}
        for p, m in (("zk-0", "follower"), ("zk-1", "follower"), ("zk-2", "leader"))
    ]
    after = [
        {"t": T + t, "kind": "role", "pod": p, "mode": m, "epoch": e, "source": "role-probe"}
        for t, p, m, e in (
            (0.02, "zk-2", "unreachable", None),
            (0.4, "zk-1", "leader", 2),
            (0.45, "zk-0", "follower", 2),
            (1.3, "zk-2", "follower", 2),
        )
    ]
    events = [START, *roles, rt(0, "pod_exited", pod="zk-2", ip="c"), *after]
    events += external_faults(events)
    (trial,) = measure(events, [], [], {"spec": {"replicas": 3}})["trials"]
    assert trial["fault"]["source"] == "external" and trial["fault"]["pod"] == "zk-2"
    assert trial["fault"]["observed_by"] == "container exit"
    assert abs(trial["election_time_s"] - 0.4) < 1e-9  # zk-0 had not left service
    assert abs(trial["full_redundancy_s"] - 1.3) < 1e-9


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        server.cluster.add_namespace(NS, {"peerchaos.io/allow": "true"})
        yield server


def test_a_pod_deleted_by_another_client_is_an_external_kill(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    runtime = runtime_for(fake, tmp_path, watch=True, watch_period_s=0.05)
    runtime.apply(render(SPEC))
    try:
        wait_until(lambda: all(p.ready for p in runtime.pods()), 10, "every pod ready")
        since = time.time()
        config = kubernetes.client.Configuration(host=fake.url)
        other = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(config))
        # Not peerchaos: another client (kubectl, Chaos Mesh, an operator) deletes the pod.
        other.delete_namespaced_pod("zk-1", NS, grace_period_seconds=0, _preload_content=False)
        wait_until(
            lambda: any(e["kind"] == "pod_started" for e in runtime.runtime_events(since)),
            10,
            "zk-1 recreated",
        )
        events = [{**START, "t": since - 1}, *runtime.runtime_events(since - 1)]
        (fault,) = external_faults(events)
        assert (fault["fault"], fault["pod"], fault["source"]) == ("kill", "zk-1", "external")
        assert fault["observed_by"].startswith("pod gone from the API")
        assert not [e for e in runtime.runtime_events(since) if e["kind"] == "fault"]
    finally:
        runtime.teardown()


@needs_zookeeper
def test_a_leader_jvm_killed_from_outside_during_observe_is_a_trial(tmp_path: Path) -> None:
    """The issue's check: SIGKILL the leader's JVM by PID (not through peerchaos) while
    `peerchaos observe` runs on the fast spec: an external trial with an election time."""
    peerchaos = [sys.executable, "-m", "peerchaos.cli"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        (REPO / "workloads/specs/fast.yaml").read_text()
        + "jvm_dns_cache_s: 1\nlocal: {pod_cidr: 10.244.30.0/24, service_cidr: 10.96.30.0/24}\n"
    )
    state = tmp_path / "state"
    env = {**os.environ, "PEERCHAOS_STATE_DIR": str(state)}
    up = subprocess.run(
        [*peerchaos, "up", "--spec", str(spec)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stdout + up.stderr
    observer = None
    try:
        results = tmp_path / "results"
        observer = subprocess.Popen(
            [
                *peerchaos,
                "observe",
                "--duration",
                "14",
                "--results",
                str(results),
                "--name",
                "outside",
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(7)  # Ray and the observers start
        status = json.loads(
            subprocess.run(
                [*peerchaos, "status", "--json"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        (pid,) = [p["pid"] for p in status["pods"] if p["name"] == status["leader"]]
        os.kill(pid, signal.SIGKILL)  # another tool's fault
        output, _ = observer.communicate(timeout=120)
        assert observer.returncode == 0, output
        (run,) = list((results / "outside").iterdir())
        (trial,) = json.loads((run / "summary.json").read_text())["trials"]
        assert trial["fault"]["source"] == "external"
        assert trial["fault"]["pod"] == status["leader"] and trial["fault"]["fault"] == "kill"
        assert isinstance(trial["election_time_s"], float) or trial["victim_re_elected"]
        assert trial["full_redundancy_s"] is not None
    finally:
        if observer is not None and observer.poll() is None:
            observer.kill()
        subprocess.run([*peerchaos, "down"], env=env, cwd=REPO, capture_output=True, timeout=60)
