"""The peers' PersistentVolumeClaims: the StatefulSet's data claims outlive it, so
teardown deletes them only when asked (`delete_pvcs`), and only the ensemble's own."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from peerchaos.runtime.kubernetes import api as kubeapi


def claim_names(statefulset: dict[str, Any], pods: list[str]) -> set[str]:
    """`<template>-<pod>` for every volumeClaimTemplate and pod, as the controller names them."""
    templates = statefulset["spec"].get("volumeClaimTemplates") or []
    return {f"{t['metadata']['name']}-{pod}" for t in templates for pod in pods}


def delete_claims(core: client.CoreV1Api, namespace: str, names: set[str]) -> list[str]:
    """Delete the claims among `names` that exist; what was removed."""
    listed = kubeapi.call(
        f"list persistentvolumeclaims in {namespace}",
        lambda: core.list_namespaced_persistent_volume_claim(namespace),
    )
    removed = []
    for claim in listed.items:
        name = claim.metadata.name
        if name in names:
            kubeapi.call(
                f"delete persistentvolumeclaim {namespace}/{name}",
                lambda name=name: core.delete_namespaced_persistent_volume_claim(
                    name, namespace, _preload_content=False
                ),
            )
            removed.append(f"PersistentVolumeClaim {namespace}/{name}")
    return removed
