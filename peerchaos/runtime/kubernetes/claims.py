"""The peers' PersistentVolumeClaims: the StatefulSet's data claims outlive it, so
teardown deletes them only when asked (`delete_pvcs`), and only the ensemble's own.

The claim template carries the ownership labels, so the claims the StatefulSet made are
selected by both labels — a claim with a peer's claim name but without them (one made by
hand, or by another team before peerchaos deployed, which the StatefulSet then used)
stays, as does every claim of another ensemble.
"""

from __future__ import annotations

from kubernetes import client

from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.changes import delete_checked
from peerchaos.runtime.kubernetes.ownership import Ownership, owned


def delete_claims(api: client.ApiClient, ownership: Ownership) -> list[str]:
    """Delete the ensemble's claims; what was removed."""
    namespace = ownership.namespace
    listed = kubeapi.call(
        f"list persistentvolumeclaims in {namespace}",
        lambda: client.CoreV1Api(api).list_namespaced_persistent_volume_claim(
            namespace, label_selector=ownership.selector()
        ),
    )
    items = api.sanitize_for_serialization(listed).get("items") or []
    return [
        f"PersistentVolumeClaim {namespace}/{claim['metadata']['name']}"
        for claim in owned(ownership, items)
        if delete_checked(api, "PersistentVolumeClaim", claim)
    ]
