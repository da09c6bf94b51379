"""Render an ensemble spec into the Kubernetes objects every runtime applies.

The templates live under `workloads/manifests/` (data, not code); what runs in the pods
comes from the spec's system (`System.container`, `System.peer_ports`: its container and
the headless Service's ports). The result is a list of plain dicts in apply order:
StatefulSet, headless Service, client Service, PDB, and — in the selectorless form — the
hand-written Endpoints of the client Service.

Every object carries the ownership labels (`app.kubernetes.io/managed-by: peerchaos`,
`peerchaos.io/ensemble: <name>`) and the deploy's id (annotation `peerchaos.io/deploy-id`);
the pods get the labels through the pod template, the data claims through the claim
template, and every selector includes the ensemble label, so nothing of another team's
that happens to be labelled `app=<name>` is selected, adopted or guarded.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import jinja2
import yaml

from peerchaos.spec import EnsembleSpec
from peerchaos.systems import get_system

# Editable installs (the README's setup) find the repository's workloads/ here;
# PEERCHAOS_WORKLOADS points elsewhere for other layouts.
WORKLOADS_DIR = Path(os.environ.get("PEERCHAOS_WORKLOADS", Path(__file__).parents[1] / "workloads"))

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGER = "peerchaos"
ENSEMBLE_LABEL = "peerchaos.io/ensemble"
DEPLOY_ID_ANNOTATION = "peerchaos.io/deploy-id"

TEMPLATE_ORDER = (
    "statefulset.yaml.j2",
    "headless-service.yaml.j2",
    "client-service.yaml.j2",
    "pdb.yaml.j2",
)


def ownership_labels(ensemble: str) -> dict[str, str]:
    """The labels that make an object this ensemble's (and peerchaos's)."""
    return {MANAGED_BY_LABEL: MANAGER, ENSEMBLE_LABEL: ensemble}


def new_deploy_id() -> str:
    """An id for one deploy: its UTC time and 8 random hex digits (`20261126T213844Z-1f2e3d4c`)."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"


def initial_pod_address(spec: EnsembleSpec, ordinal: int) -> str:
    """The address the local runtime gives a pod on its first start (`.10 + ordinal`)."""
    from peerchaos.runtime.local.network import first_address

    return first_address(spec.local.pod_cidr, ordinal)


def endpoint_addresses(spec: EnsembleSpec) -> list[str]:
    """Addresses written into the selectorless Endpoints: the spec's, else the first ones."""
    if spec.selectorless.addresses:
        return list(spec.selectorless.addresses)
    return [initial_pod_address(spec, i) for i in range(spec.replicas)]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(WORKLOADS_DIR / "manifests"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(spec: EnsembleSpec, deploy_id: str | None = None) -> list[dict[str, Any]]:
    """The objects for `spec`, in the order a runtime applies them, stamped with
    `deploy_id` (a new one when not given)."""
    env = _environment()
    names = list(TEMPLATE_ORDER)
    if spec.selectorless.enabled:
        names.append("endpoints.yaml.j2")
    system = get_system(spec.system)
    context = {
        "spec": spec,
        "system": system.name,
        "container": system.container(spec),
        "peer_ports": system.peer_ports(spec),
        "endpoint_addresses": endpoint_addresses(spec),
        "deploy_id": deploy_id or new_deploy_id(),
    }
    return [yaml.safe_load(env.get_template(name).render(**context)) for name in names]


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """A multi-document YAML stream, as `kubectl apply -f -` takes it."""
    return yaml.safe_dump_all(objects, sort_keys=False, explicit_start=True)


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of `kind` (and `name`); KeyError when absent."""
    for obj in objects:
        if obj.get("kind") == kind and (name is None or obj["metadata"]["name"] == name):
            return obj
    raise KeyError(f"no {kind}{' ' + name if name else ''} among the rendered objects")
