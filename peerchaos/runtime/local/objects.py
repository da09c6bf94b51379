"""Read the rendered Kubernetes objects into what the local runtime acts on.

The local runtime takes the same objects `peerchaos manifests` prints (and the
kubernetes runtime applies): the StatefulSet gives replicas, ordering, the readiness
probe and the peers' environment; the Services give names, ports, publishing and TTLs;
a hand-written Endpoints object feeds a selectorless Service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from peerchaos.errors import SpecError
from peerchaos.systems import DEFAULT_SYSTEM, get_system

SYSTEM_ANNOTATION = "peerchaos.io/system"


@dataclass(frozen=True)
class Probe:
    kind: str  # one of the system's readiness kinds (ZooKeeper: ruok | quorum)
    period_s: float
    timeout_s: float
    success_threshold: int
    failure_threshold: int
    initial_delay_s: float


@dataclass(frozen=True)
class ServiceDef:
    name: str
    headless: bool
    selector: dict[str, str] | None
    ports: tuple[tuple[str, int], ...]  # (name, port)
    publish_not_ready: bool
    ttl_s: int


@dataclass(frozen=True)
class Ensemble:
    name: str
    namespace: str
    replicas: int
    service_name: str  # the StatefulSet's governing (headless) Service
    ordered_ready: bool
    labels: dict[str, str]
    env: dict[str, str]
    probe: Probe
    client_port: int
    services: tuple[ServiceDef, ...]
    manual_endpoints: dict[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)
    system: str = DEFAULT_SYSTEM  # which system the pods run (`peerchaos.systems`)

    def pod_names(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.replicas)]

    def pod_fqdn(self, pod: str) -> str:
        return f"{pod}.{self.service_name}.{self.namespace}.svc.cluster.local"

    def service(self, name: str) -> ServiceDef:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise SpecError(f"service {name!r}: not among the applied Services")

    @property
    def client_services(self) -> list[ServiceDef]:
        return [svc for svc in self.services if not svc.headless]


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [obj for obj in objects if obj.get("kind") == kind]
    if len(found) != 1:
        raise SpecError(f"objects: the local runtime needs exactly one {kind} (got {len(found)})")
    return found[0]


def _probe(template: dict[str, Any], default_kind: str) -> Probe:
    annotations = template.get("metadata", {}).get("annotations", {})
    container = template["spec"]["containers"][0]
    raw = container.get("readinessProbe", {})
    return Probe(
        kind=annotations.get("peerchaos.io/readiness", default_kind),
        period_s=float(
            annotations.get("peerchaos.io/readiness-period-s", raw.get("periodSeconds", 10))
        ),
        timeout_s=float(
            annotations.get("peerchaos.io/readiness-timeout-s", raw.get("timeoutSeconds", 1))
        ),
        success_threshold=int(raw.get("successThreshold", 1)),
        failure_threshold=int(raw.get("failureThreshold", 3)),
        initial_delay_s=float(raw.get("initialDelaySeconds", 0)),
    )


def _service(obj: dict[str, Any]) -> ServiceDef:
    spec = obj["spec"]
    annotations = obj["metadata"].get("annotations", {})
    return ServiceDef(
        name=obj["metadata"]["name"],
        headless=spec.get("clusterIP") == "None",
        selector=spec.get("selector"),
        ports=tuple((p.get("name", str(p["port"])), int(p["port"])) for p in spec.get("ports", [])),
        publish_not_ready=bool(spec.get("publishNotReadyAddresses", False)),
        ttl_s=int(annotations.get("peerchaos.io/dns-ttl-seconds", 5)),
    )


def ensemble_from_objects(objects: list[dict[str, Any]]) -> Ensemble:
    """Interpret rendered objects; one line naming the object when something is missing."""
    sts = _one(objects, "StatefulSet")
    template = sts["spec"]["template"]
    container = template["spec"]["containers"][0]
    env = {item["name"]: str(item.get("value", "")) for item in container.get("env", [])}
    ports = {p.get("name"): int(p["containerPort"]) for p in container.get("ports", [])}
    name = (sts["metadata"].get("annotations") or {}).get(SYSTEM_ANNOTATION, DEFAULT_SYSTEM)
    system = get_system(name)
    system.check_container(container)
    client_port = ports.get("client", system.spec_defaults()["client_service"]["port"])
    services = tuple(_service(obj) for obj in objects if obj.get("kind") == "Service")
    manual: dict[str, tuple[tuple[str, ...], int]] = {}
    for obj in objects:
        if obj.get("kind") != "Endpoints":
            continue
        subsets = obj.get("subsets") or [{}]
        addresses = tuple(a["ip"] for s in subsets for a in s.get("addresses", []))
        port = int((subsets[0].get("ports") or [{"port": client_port}])[0]["port"])
        manual[obj["metadata"]["name"]] = (addresses, port)
    return Ensemble(
        name=sts["metadata"]["name"],
        namespace=sts["metadata"].get("namespace", "default"),
        replicas=int(sts["spec"]["replicas"]),
        service_name=sts["spec"]["serviceName"],
        ordered_ready=sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady",
        labels=dict(template["metadata"].get("labels", {})),
        env=env,
        probe=_probe(template, system.readiness_kinds[0]),
        client_port=client_port,
        services=services,
        manual_endpoints=manual,
        system=system.name,
    )


def system_of(objects: list[dict[str, Any]]) -> str:
    """The system the objects' StatefulSet names (the default when it names none)."""
    for obj in objects:
        if isinstance(obj, dict) and obj.get("kind") == "StatefulSet":
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            return str(annotations.get(SYSTEM_ANNOTATION, DEFAULT_SYSTEM))
    return DEFAULT_SYSTEM
