"""Experiments on a real Kubernetes cluster: `pytest -m k8s` with KUBECONFIG set.

Skipped (with the reason) when KUBECONFIG does not point at a reachable cluster. The
test makes its own namespace (`PEERCHAOS_K8S_NAMESPACE`, default `peerchaos-e2e`) with
the opt-in label, runs the experiment files unchanged apart from `runtime=kubernetes`
and the namespace, and deletes the namespace afterwards. The driver must reach pod and
Service IPs (in a pod, or on kind with a route to the node: see README).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.k8s
NAMESPACE = os.environ.get("PEERCHAOS_K8S_NAMESPACE", "peerchaos-e2e")
CHAOS = str(Path(sys.executable).parent / "chaos")


def _cluster_or_skip() -> object:
    if not os.environ.get("KUBECONFIG"):
        pytest.skip("KUBECONFIG is not set: no Kubernetes cluster to run on")
    from kubernetes import client, config

    try:
        config.load_kube_config()
        api = client.CoreV1Api()
        api.list_namespace(limit=1, _request_timeout=5)
    except Exception as error:  # any reason the cluster cannot be used is a skip reason
        pytest.skip(f"KUBECONFIG={os.environ['KUBECONFIG']}: cluster not reachable ({error})")
    return api


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    from kubernetes import client

    api = _cluster_or_skip()
    body = client.V1Namespace(
        metadata=client.V1ObjectMeta(name=NAMESPACE, labels={"peerchaos.io/allow": "true"})
    )
    api.create_namespace(body)
    try:
        yield NAMESPACE
    finally:
        api.delete_namespace(NAMESPACE)


def run_on_cluster(experiment: str, namespace: str, tmp_path: Path) -> tuple[int, str, Path]:
    """`chaos run` of the experiment file with runtime=kubernetes, in `namespace`."""
    document = yaml.safe_load((REPO / "experiments" / experiment).read_text())
    configuration = document["configuration"]
    results = tmp_path / "results"
    args = [CHAOS, "--no-log-file", "run", str(REPO / "experiments" / experiment)]
    args += ["--journal-path", str(tmp_path / "journal.json")]
    args += ["--var", "runtime=kubernetes", "--var", f"results_dir={results}"]
    args += ["--var", f"namespace={namespace}"]
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=1200)
    (run_dir,) = list((results / configuration["name"]).iterdir())
    return done.returncode, done.stdout + done.stderr, run_dir


def test_zk_leader_kill_on_a_cluster(namespace: str, tmp_path: Path) -> None:
    code, output, run_dir = run_on_cluster("zk-leader-kill.yaml", namespace, tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["runtime"] == "kubernetes"
    assert code == 0, output
    kills = [t for t in summary["trials"] if t["fault"]["fault"] == "kill"]
    assert kills and all(t["election_time_s"] is not None for t in kills[:1])
    assert (run_dir / "report.html").exists()


def test_zk_leader_unready_on_a_cluster(namespace: str, tmp_path: Path) -> None:
    code, output, run_dir = run_on_cluster("zk-leader-unready.yaml", namespace, tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["runtime"] == "kubernetes"
    assert code == 0, output
    assert any(t["fault"]["fault"] == "unready" for t in summary["trials"])
