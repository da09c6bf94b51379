"""The Kubernetes API as the kubernetes runtime uses it: one client, typed objects.

Everything goes through the official `kubernetes` client. This module knows which API
group serves each kind the manifests render, turns `ApiException`s into one-line
`PeerchaosError`s naming the call and the object, and guards the namespace: peerchaos
only touches a namespace that opted in with the label `peerchaos.io/allow=true`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from peerchaos.errors import PeerchaosError, UsageError

T = TypeVar("T")

ALLOW_LABEL = "peerchaos.io/allow"

# kind -> (API class, method suffix): read_, create_, patch_, delete_<suffix>.
KINDS: dict[str, tuple[type, str]] = {
    "StatefulSet": (client.AppsV1Api, "namespaced_stateful_set"),
    "Service": (client.CoreV1Api, "namespaced_service"),
    "Endpoints": (client.CoreV1Api, "namespaced_endpoints"),
    "PodDisruptionBudget": (client.PolicyV1Api, "namespaced_pod_disruption_budget"),
    "NetworkPolicy": (client.NetworkingV1Api, "namespaced_network_policy"),
    "PersistentVolumeClaim": (client.CoreV1Api, "namespaced_persistent_volume_claim"),
}


def api_client(
    kubeconfig: str | None = None, context: str | None = None, host: str | None = None
) -> client.ApiClient:
    """A client for the cluster: `host` as given (tests), in-cluster config inside a pod,
    else the kubeconfig (`KUBECONFIG` or ~/.kube/config) and its current or given context."""
    configuration = client.Configuration()
    try:
        if host:
            configuration.host = host
        elif os.environ.get("KUBERNETES_SERVICE_HOST") and not (
            kubeconfig and os.path.exists(kubeconfig)
        ):
            # In a pod: its service account — also for an actor whose driver, outside the
            # cluster, named a kubeconfig that only exists on the driver's machine.
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
    except (ConfigException, OSError, TypeError) as error:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise PeerchaosError(
            f"kubernetes: no usable cluster configuration in {where} ({error})"
        ) from None
    return client.ApiClient(configuration)


def reason(error: ApiException) -> str:
    """`404 Not Found: pods "zk-7" not found`: the status and the server's message."""
    message = ""
    try:
        message = json.loads(error.body or "{}").get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return f"{error.status} {error.reason}" + (f": {message}" if message else "")


def call(what: str, action: Callable[[], T]) -> T:
    """Run one API call; an `ApiException` becomes one line saying what was being done."""
    try:
        return action()
    except ApiException as error:
        raise PeerchaosError(f"kubernetes: {what}: {reason(error)}") from None
    except (OSError, ValueError, HTTPError) as error:  # refused, TLS, a bad URL
        raise PeerchaosError(f"kubernetes: {what}: {error}") from None


def missing(action: Callable[[], T]) -> T | None:
    """The result, or None when the object does not exist (404)."""
    try:
        return action()
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def api_for(api: client.ApiClient, kind: str) -> tuple[Any, str]:
    """The typed API serving `kind` and its method suffix."""
    if kind not in KINDS:
        raise UsageError(f"{kind}: not a kind peerchaos handles ({', '.join(KINDS)})")
    cls, suffix = KINDS[kind]
    return cls(api), suffix


def describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{obj.get('kind')} {meta.get('namespace')}/{meta.get('name')}"


def cluster_dns(core: client.CoreV1Api, in_a_pod: bool) -> tuple[str, int]:
    """The cluster DNS: the resolver a pod is given (in a pod), else kube-dns's IP."""
    if in_a_pod:
        for line in Path("/etc/resolv.conf").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1], 53
    service = call(
        "read service kube-system/kube-dns",
        lambda: core.read_namespaced_service("kube-dns", "kube-system"),
    )
    return service.spec.cluster_ip, 53


def check_namespace(api: client.ApiClient, namespace: str) -> None:
    """Refuse a namespace that lacks the opt-in label, with the command that adds it."""
    ns = call(
        f"read namespace {namespace}",
        lambda: missing(lambda: client.CoreV1Api(api).read_namespace(namespace)),
    )
    if ns is None:
        raise UsageError(f"namespace {namespace}: does not exist")
    labels = ns.metadata.labels or {}
    if labels.get(ALLOW_LABEL) != "true":
        raise UsageError(
            f"namespace {namespace}: lacks the label {ALLOW_LABEL}=true that lets peerchaos "
            f"break pods there; add it with `kubectl label namespace {namespace} "
            f"{ALLOW_LABEL}=true`"
        )
