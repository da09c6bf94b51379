"""The peers' logs on a cluster: what `kubectl logs` shows, kept in the run dir."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client

from peerchaos.errors import PeerchaosError
from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.podexec import CONTAINER


def pod_log(core: client.CoreV1Api, namespace: str, pod: str) -> str:
    """The ZooKeeper container's log of `pod`."""
    return kubeapi.call(
        f"read log of pod {namespace}/{pod}",
        lambda: core.read_namespaced_pod_log(pod, namespace, container=CONTAINER),
    )


def copy_logs(core: client.CoreV1Api, namespace: str, pods: list[str], dest: Path) -> None:
    """`dest/<pod>.log` for every pod that has a log now."""
    dest.mkdir(parents=True, exist_ok=True)
    for pod in pods:
        try:
            (dest / f"{pod}.log").write_text(pod_log(core, namespace, pod))
        except PeerchaosError:
            continue  # a pod that is gone has no log to keep
