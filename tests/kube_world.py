"""Other teams' objects for the ownership tests, put in place through the fake API
server's own create (so its controllers run), and the checks those tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from peerchaos.errors import UsageError
from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime
from peerchaos.spec import EnsembleSpec

from fake_apiserver import FakeApiServer, FakeCluster

MANAGED = "app.kubernetes.io/managed-by=peerchaos"
UNTOUCHED = "(peerchaos touches only what it created)"


def refusal(call: Any, *args: Any) -> str:
    """The one line a refused call gives."""
    with pytest.raises(UsageError) as refused:
        call(*args)
    message = str(refused.value)
    assert "\n" not in message
    return message


def another_teams_web(cluster: FakeCluster, ns: str) -> None:
    """A shop's own `web`: StatefulSet (its pods and claims), Services, hand-written
    Endpoints, a PDB and NetworkPolicies — names peerchaos would use for an ensemble `web`."""
    cluster.create(
        "statefulsets",
        ns,
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "web", "labels": {"app": "web", "team": "shop"}},
            "spec": {
                "serviceName": "web-hs",
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "datadir"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
    )
    labels = {"app": "web", "team": "shop"}
    cluster.create(
        "services",
        ns,
        {
            "metadata": {"name": "web-hs", "labels": labels},
            "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    cluster.create(
        "services",
        ns,
        {"metadata": {"name": "web-cs", "labels": labels}, "spec": {"ports": [{"port": 80}]}},
    )
    cluster.create(
        "endpoints",
        ns,
        {
            "metadata": {"name": "web-cs", "labels": labels},
            "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}],
        },
    )
    cluster.create(
        "poddisruptionbudgets",
        ns,
        {
            "apiVersion": "policy/v1",
            "metadata": {"name": "web-pdb", "labels": labels},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": 1},
        },
    )
    partition_policies(cluster, ns, "web")


def partition_policies(cluster: FakeCluster, ns: str, prefix: str) -> None:
    """Partition-looking NetworkPolicies that are not this ensemble's: one of another
    peerchaos ensemble, one labelled `peerchaos.io/fault=partition` and nothing else."""
    deny = {"podSelector": {}, "policyTypes": ["Ingress"]}
    for name, labels in (
        (
            f"peerchaos-partition-{prefix}-0",
            {
                "peerchaos.io/fault": "partition",
                "app.kubernetes.io/managed-by": "peerchaos",
                "peerchaos.io/ensemble": "other",
            },
        ),
        (f"peerchaos-partition-{prefix}-1", {"peerchaos.io/fault": "partition"}),
    ):
        cluster.create(
            "networkpolicies",
            ns,
            {
                "apiVersion": "networking.k8s.io/v1",
                "metadata": {"name": name, "labels": labels},
                "spec": deny,
            },
        )


def the_apiserver_service(cluster: FakeCluster) -> None:
    """`default/kubernetes`, as every cluster has it."""
    cluster.create(
        "services",
        "default",
        {"metadata": {"name": "kubernetes"}, "spec": {"ports": [{"name": "https", "port": 443}]}},
    )
    cluster.create(
        "endpoints",
        "default",
        {
            "metadata": {"name": "kubernetes"},
            "subsets": [{"addresses": [{"ip": "172.18.0.2"}], "ports": [{"port": 6443}]}],
        },
    )


def runtime_for(
    fake: FakeApiServer, tmp_path: Path, spec: EnsembleSpec, **options: Any
) -> KubernetesRuntime:
    return KubernetesRuntime(spec, tmp_path / f"state-{spec.name}", host=fake.url, **options)


def foreign(cluster: FakeCluster, ensemble: str) -> dict[tuple[str, str, str], str]:
    """The stored objects that are not `ensemble`'s, as canonical text."""
    dump = cluster.dump()
    return {
        key: text
        for key, text in dump.items()
        if cluster.objects[key]["metadata"].get("labels", {}).get("peerchaos.io/ensemble")
        != ensemble
    }


# -- deployments people already run, for the attach tests ----------------------------------

ATTACH_DATA = Path(__file__).parent / "data" / "attach"
RESOURCE_OF = {
    "StatefulSet": "statefulsets",
    "Service": "services",
    "PodDisruptionBudget": "poddisruptionbudgets",
}
# The images the fixtures run, as the fake kubelet should run them: Bitnami's and the
# official image's entrypoints exec the JVM, so the server is PID 1 of its container; the
# tutorial's `sh -c start-zookeeper` keeps the shell as PID 1.
SERVER_IS_PID_ONE = {
    "docker.io/bitnami/zookeeper:3.9.3-debian-12-r8",
    "zookeeper:3.8.4",
}


def their_objects(fixture: str, ns: str) -> list[dict[str, Any]]:
    """The objects of tests/data/attach/<fixture>.yaml for namespace `ns`."""
    text = (ATTACH_DATA / f"{fixture}.yaml").read_text().replace("${NAMESPACE}", ns)
    return [obj for obj in yaml.safe_load_all(text) if obj]


def their_deployment(
    cluster: FakeCluster, ns: str, fixture: str, objects: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Create a deployment's objects as its owner would (Services and PDB first), through
    the fake's own create, so its controllers make the pods; the created objects."""
    cluster.pid_one_images |= SERVER_IS_PID_ONE
    return [
        cluster.create(RESOURCE_OF[obj["kind"]], ns, obj)
        for obj in (objects if objects is not None else their_objects(fixture, ns))
    ]


def server_log_line(pod: str, image: str, instance: int) -> str:
    """One line of a peer's log in its image's format: Bitnami's JSON (ECS) lines, else
    logback's / log4j's text pattern."""
    message = f"Peer state changed: following - broadcast ({pod}, instance {instance})"
    if "bitnami" in image:
        return (
            '{"@timestamp":"2026-11-26T10:00:00.123Z","log.level":"INFO","message":"'
            + message
            + '","process.thread.name":"QuorumPeer[myid=1]","log.logger":"org.apache.zookeeper'
            '.server.quorum.QuorumPeer"}\n'
        )
    return (
        "2026-11-26 10:00:00,123 [myid:1] - INFO  [QuorumPeer[myid=1]:QuorumPeer@915] - "
        f"{message}\n"
    )


def attach_world() -> FakeApiServer:
    """A fake API server whose pods get loopback addresses (nothing listens there, so a
    `conf` asked of a pod is refused at once) and log in their image's format, with an
    opted-in namespace `shop`. Use in a `with` block."""
    cluster = FakeCluster(pod_network="127.66")
    cluster.log_line = server_log_line
    cluster.add_namespace("shop", {"peerchaos.io/allow": "true"})
    return FakeApiServer(cluster)


def attached_runtime(fake: FakeApiServer, tmp_path: Path, ns: str, name: str, **options: Any):
    """The attached runtime of StatefulSet `ns/name` (not yet attached)."""
    from peerchaos.runtime.kubernetes.attached import AttachedRuntime

    return AttachedRuntime(ns, name, tmp_path / f"state-{name}", host=fake.url, **options)
