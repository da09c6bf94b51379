"""Render an ensemble spec into the Kubernetes objects every runtime applies.

The templates live under `workloads/manifests/` (data, not code). The result is a list
of plain dicts in apply order: StatefulSet, headless Service, client Service, PDB, and —
in the selectorless form — the hand-written Endpoints of the client Service.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
import yaml

from peerchaos.spec import EnsembleSpec

# Editable installs (the README's setup) find the repository's workloads/ here;
# PEERCHAOS_WORKLOADS points elsewhere for other layouts.
WORKLOADS_DIR = Path(os.environ.get("PEERCHAOS_WORKLOADS", Path(__file__).parents[1] / "workloads"))

TEMPLATE_ORDER = (
    "statefulset.yaml.j2",
    "headless-service.yaml.j2",
    "client-service.yaml.j2",
    "pdb.yaml.j2",
)


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


def render(spec: EnsembleSpec) -> list[dict[str, Any]]:
    """The objects for `spec`, in the order a runtime applies them."""
    env = _environment()
    names = list(TEMPLATE_ORDER)
    if spec.selectorless.enabled:
        names.append("endpoints.yaml.j2")
    context = {"spec": spec, "endpoint_addresses": endpoint_addresses(spec)}
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
