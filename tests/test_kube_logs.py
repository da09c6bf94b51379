"""The peers' logs on a cluster: every container instance, each after its start line.

Against the fake API server with the official client: a restarted container's previous
instance is read (`previous=true`, which the server refuses with 400 when there is
none), a killed pod's log is kept before the delete, and `peers/<pod>.log` holds them
oldest first, each after `# peerchaos: starting at <time> (container start|restart)`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from peerchaos.manifests import render
from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime
from peerchaos.spec import parse_spec

from conftest import wait_until
from fake_apiserver import FakeApiServer

NS = "chaos"
SPEC = parse_spec({"namespace": NS})
START = re.compile(
    r"^# peerchaos: starting at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) "
    r"\((container start|container restart)\)$"
)


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[tuple[KubernetesRuntime, FakeApiServer]]:
    with FakeApiServer() as fake:
        fake.cluster.add_namespace(NS, {"peerchaos.io/allow": "true"})
        runtime = KubernetesRuntime(SPEC, tmp_path / "state", host=fake.url)
        runtime.apply(render(SPEC))
        try:
            yield runtime, fake
        finally:
            runtime.teardown()


def instances(text: str) -> list[tuple[str, str, str]]:
    """(start time, why, log) per container instance in a copied log."""
    found: list[tuple[str, str, str]] = []
    for line in text.splitlines(keepends=True):
        if match := START.match(line.rstrip("\n")):
            found.append((match.group(1), match.group(2), ""))
        else:
            assert found, f"a log line before any start line: {line!r}"
            when, why, log = found[-1]
            found[-1] = (when, why, log + line)
    return found


def stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_the_api_refuses_a_previous_log_that_does_not_exist(
    deployed: tuple[KubernetesRuntime, FakeApiServer],
) -> None:
    runtime, fake = deployed
    core = client.CoreV1Api(runtime.api)
    with pytest.raises(ApiException) as refused:
        core.read_namespaced_pod_log("zk-0", NS, container="zookeeper", previous=True)
    assert refused.value.status == 400
    message = json.loads(refused.value.body)["message"]
    assert message == 'previous terminated container "zookeeper" in pod "zk-0" not found'
    fake.cluster.restart_container(NS, "zk-0")
    previous = core.read_namespaced_pod_log("zk-0", NS, container="zookeeper", previous=True)
    assert "zk-0 started (instance 1)" in previous
    current = core.read_namespaced_pod_log("zk-0", NS, container="zookeeper")
    assert "zk-0 started (instance 2)" in current


def test_a_restarted_container_gives_its_previous_then_its_current_log(
    deployed: tuple[KubernetesRuntime, FakeApiServer], tmp_path: Path
) -> None:
    runtime, fake = deployed
    fake.cluster.restart_container(NS, "zk-1")
    runtime.copy_logs(tmp_path / "peers")
    starts = fake.cluster.pods[(NS, "zk-1")].starts
    assert instances((tmp_path / "peers" / "zk-1.log").read_text()) == [
        (stamp(starts[0]), "container start", fake.cluster.pods[(NS, "zk-1")].logs[0]),
        (stamp(starts[1]), "container restart", fake.cluster.pods[(NS, "zk-1")].logs[1]),
    ]
    (only,) = instances((tmp_path / "peers" / "zk-0.log").read_text())
    assert only[1] == "container start" and "zk-0 started (instance 1)" in only[2]
    # The previous instance is asked for only where the container restarted.
    previous = [r.path for r in fake.cluster.requests if r.query.get("previous") == ["true"]]
    assert previous == [f"/api/v1/namespaces/{NS}/pods/zk-1/log"]


def test_a_killed_pods_log_is_kept_before_the_delete_and_comes_first(
    deployed: tuple[KubernetesRuntime, FakeApiServer], tmp_path: Path
) -> None:
    runtime, fake = deployed
    before = fake.cluster.pods[(NS, "zk-2")]
    fake.cluster.restart_container(NS, "zk-2")  # an earlier container restart too
    killed_logs = list(before.logs)
    runtime.kill("zk-2")
    wait_until(lambda: (NS, "zk-2") in fake.cluster.pods, 5)
    kinds = [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.cluster.requests]
    assert kinds.index(("GET", "log")) < kinds.index(("DELETE", "zk-2"))
    runtime.copy_logs(tmp_path / "peers")
    copied = instances((tmp_path / "peers" / "zk-2.log").read_text())
    assert [(why, log) for _, why, log in copied] == [
        ("container start", killed_logs[0]),
        ("container restart", killed_logs[1]),
        ("container start", fake.cluster.pods[(NS, "zk-2")].logs[0]),  # the new pod
    ]
    runtime.teardown()
    assert not (runtime.root / "killed-logs").exists()
