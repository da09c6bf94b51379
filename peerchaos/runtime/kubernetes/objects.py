"""Kubernetes objects as the runtime seam sees them, and the ones the runtime writes.

`pod_info` and `endpoints_info` read the client's models into `PodInfo` and
`EndpointsInfo`; `partition_policy` is the NetworkPolicy that isolates one group of peers
(with the ensemble's ownership labels, so heal and teardown can tell it from others').
"""

from __future__ import annotations

import copy
import re
from typing import Any

from kubernetes import client

from peerchaos.manifests import DEPLOY_ID_ANNOTATION, ENSEMBLE_LABEL, ownership_labels
from peerchaos.runtime.base import EndpointsInfo, PodInfo
from peerchaos.spec import EnsembleSpec

PARTITION_LABEL = "peerchaos.io/fault"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"


def pod_info(pod: client.V1Pod, faults: dict[str, Any]) -> PodInfo | None:
    """The pod as the seam reports it; None for a name without an ordinal."""
    name = pod.metadata.name
    match = re.search(r"-(\d+)$", name)
    if match is None:
        return None
    status = pod.status
    conditions = {c.type: c.status for c in (status.conditions or [])}
    restarts = sum(c.restart_count or 0 for c in (status.container_statuses or []))
    # A pod being deleted no longer serves, whatever its last status said.
    terminating = pod.metadata.deletion_timestamp is not None
    return PodInfo(
        name=name,
        ordinal=int(match.group(1)),
        ip=None if terminating else status.pod_ip,
        phase="Terminating" if terminating else (status.phase or "Pending"),
        ready=conditions.get("Ready") == "True" and not terminating,
        paused=name in faults["paused"],
        unready_marker=name in faults["unready"],
        restarts=restarts,
    )


def endpoints_info(service: str, found: client.V1Endpoints | None) -> EndpointsInfo:
    if found is None:
        return EndpointsInfo(service, (), (), exists=False)
    ready: list[str] = []
    not_ready: list[str] = []
    for subset in found.subsets or []:
        ready += [a.ip for a in subset.addresses or []]
        not_ready += [a.ip for a in subset.not_ready_addresses or []]
    return EndpointsInfo(service, tuple(sorted(ready)), tuple(sorted(not_ready)))


def restorable(found: dict[str, Any]) -> dict[str, Any]:
    """An Endpoints object (as read) as it can be created again: no uid, version or
    timestamps."""
    kept = copy.deepcopy(found)
    meta = kept.get("metadata", {})
    kept["metadata"] = {
        k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta
    }
    return {"apiVersion": "v1", "kind": "Endpoints", **kept}


def partition_policy(
    spec: EnsembleSpec,
    index: int,
    group: list[str],
    deploy_id: str,
    peer_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A NetworkPolicy letting the group's peers talk among themselves and with anything
    that is not a peer (clients, observers, DNS), but not with the other peers. It
    selects by the ensemble label, so it never applies to another team's pods — or, for
    an attached StatefulSet, by its own selector (`peer_labels`) and the pod names."""
    app = spec.name
    peers = peer_labels or {ENSEMBLE_LABEL: app}
    same_group = {
        "podSelector": {
            "matchLabels": dict(peers),
            "matchExpressions": [_in(POD_NAME_LABEL, group)],
        }
    }
    # A pod is not a peer when any one of the peers' labels differs (entries are ORed).
    not_a_peer = [
        {"podSelector": {"matchExpressions": [{"key": k, "operator": "NotIn", "values": [v]}]}}
        for k, v in sorted(peers.items())
    ]
    other_namespaces = {
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": [spec.namespace],
                }
            ]
        }
    }
    allowed = [same_group, *not_a_peer, other_namespaces]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"peerchaos-partition-{app}-{index}",
            "namespace": spec.namespace,
            "labels": {PARTITION_LABEL: "partition", **ownership_labels(app)},
            "annotations": {DEPLOY_ID_ANNOTATION: deploy_id},
        },
        "spec": {
            "podSelector": {
                "matchLabels": dict(peers) if peer_labels else {"app": app, ENSEMBLE_LABEL: app},
                "matchExpressions": [_in(POD_NAME_LABEL, group)],
            },
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": copy.deepcopy(allowed)}],
            "egress": [{"to": copy.deepcopy(allowed)}],
        },
    }


def _in(key: str, values: list[str]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": sorted(values)}
