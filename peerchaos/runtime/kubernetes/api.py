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
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from peerchaos.errors import PeerchaosError, UsageError

T = TypeVar("T")

ALLOW_LABEL = "peerchaos.io/allow"

# kind -> (API class, method suffix): create_<suffix>, patch_<suffix>, delete_<suffix>.
KINDS: dict[str, tuple[type, str]] = {
    "StatefulSet": (client.AppsV1Api, "namespaced_stateful_set"),
    "Service": (client.CoreV1Api, "namespaced_service"),
    "Endpoints": (client.CoreV1Api, "namespaced_endpoints"),
    "PodDisruptionBudget": (client.PolicyV1Api, "namespaced_pod_disruption_budget"),
    "NetworkPolicy": (client.NetworkingV1Api, "namespaced_network_policy"),
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


def _api_for(api: client.ApiClient, kind: str) -> tuple[Any, str]:
    if kind not in KINDS:
        raise UsageError(f"{kind}: not a kind peerchaos applies ({', '.join(KINDS)})")
    cls, suffix = KINDS[kind]
    return cls(api), suffix


def describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{obj.get('kind')} {meta.get('namespace')}/{meta.get('name')}"


def apply_object(api: client.ApiClient, obj: dict[str, Any]) -> str:
    """Create the object, or patch it when it exists already; returns what was done."""
    typed, suffix = _api_for(api, obj["kind"])
    name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
    try:
        getattr(typed, f"create_{suffix}")(namespace, obj)
        return f"created {describe(obj)}"
    except ApiException as error:
        if error.status != 409:
            raise PeerchaosError(f"kubernetes: create {describe(obj)}: {reason(error)}") from None
    call(f"patch {describe(obj)}", lambda: getattr(typed, f"patch_{suffix}")(name, namespace, obj))
    return f"patched {describe(obj)}"


def delete_object(api: client.ApiClient, kind: str, namespace: str, name: str) -> bool:
    """Delete one object in the foreground; False when it was not there."""
    typed, suffix = _api_for(api, kind)
    body = client.V1DeleteOptions(propagation_policy="Foreground")

    def delete() -> Any:
        # The API answers a delete with the object or a Status, depending on kind and
        # version; nothing here reads it, so it is not parsed into a model.
        return getattr(typed, f"delete_{suffix}")(
            name, namespace, body=body, _preload_content=False
        )

    return call(f"delete {kind} {namespace}/{name}", lambda: missing(delete)) is not None


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
