"""How the ensemble seen is derived from an attached StatefulSet's objects.

`derive` takes the objects as read and what a look at a running pod showed
(`seen.AttachedObjects`, `seen.Live`, from `attach.py`) with the container's own
settings as its system reads them (`System.attach_settings`, `attach_findings`) and
builds the `EnsembleSeen`: what a running server answers about itself wins over the
manifest, the manifest over the image's defaults, and a value nothing shows is
peerchaos's default, said so in the notes. It then works out the faults allowed and the
problems that forbid attaching.
"""

from __future__ import annotations

from typing import Any

from peerchaos.errors import SpecError
from peerchaos.runtime.kubernetes.seen import (
    FAULTS,
    AttachedObjects,
    EnsembleSeen,
    Live,
    fault_reasons,
)
from peerchaos.spec import ReadinessProbe
from peerchaos.systems import get_system
from peerchaos.systems.base import MARKER, Found, System

PROBE_DEFAULTS = {
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
    "initialDelaySeconds": 0,
}


def checks_marker(probe: dict[str, Any] | None) -> bool:
    """Whether the probe fails while peerchaos's unready marker file exists."""
    command = ((probe or {}).get("exec") or {}).get("command") or []
    return any(MARKER in str(part) for part in command)


def readiness(system: System, container: dict[str, Any]) -> dict[str, Any]:
    """The readiness probe as the spec and the report need it."""
    probe = container.get("readinessProbe")
    if not probe:
        kind = system.readiness_kinds[0]
        none = {"handler": None, "command": None, "kind": kind, "checks_marker": False}
        return {**none, **default_probe(kind)}
    handler = next((h for h in ("exec", "tcpSocket", "httpGet", "grpc") if h in probe), None)
    command = (probe.get("exec") or {}).get("command")
    timing = {key: probe.get(key, default) for key, default in PROBE_DEFAULTS.items()}
    return {
        "handler": handler,
        "command": command,
        "kind": system.readiness_kind(probe),
        "checks_marker": checks_marker(probe),
        "period_s": float(timing["periodSeconds"]),
        "timeout_s": float(timing["timeoutSeconds"]),
        "success_threshold": int(timing["successThreshold"]),
        "failure_threshold": int(timing["failureThreshold"]),
        "initial_delay_s": float(timing["initialDelaySeconds"]),
    }


def spec_problem(seen: EnsembleSeen) -> str | None:
    """Why the seen values make no ensemble peerchaos can measure (one line), if so."""
    try:
        seen.spec()
    except SpecError as error:
        return str(error)
    return None


def default_limits(seen: EnsembleSeen) -> None:
    """Values nothing showed: the spec's defaults, said so in the notes."""
    for key, value in get_system(seen.system).attach_defaults.items():
        if key not in seen.settings:
            seen.settings[key] = {"value": value, "source": "not seen: peerchaos's default"}
            seen.notes.append(
                f"{key}: not set in the manifest and not read from a running server; "
                f"assumed {value} (measurement's timeouts use it)"
            )


def finish(seen: EnsembleSeen) -> EnsembleSeen:
    """What follows from the seen values: the faults allowed, and whether they make an
    ensemble spec at all (when nothing else forbade attaching)."""
    reasons = fault_reasons(seen)
    seen.faults = {
        "supported": [f for f in FAULTS if f not in reasons],
        "reasons": {f: reasons[f] for f in FAULTS if f in reasons},
    }
    problem = None if seen.problems else spec_problem(seen)
    if problem is not None:
        seen.problems.append(problem)
    return seen


def default_probe(kind: str) -> dict[str, Any]:
    """The spec's readiness defaults, for a container without a probe."""
    probe = ReadinessProbe(kind=kind)
    return {
        "period_s": probe.period_s,
        "timeout_s": probe.timeout_s,
        "success_threshold": probe.success_threshold,
        "failure_threshold": probe.failure_threshold,
        "initial_delay_s": probe.initial_delay_s,
    }


def pick_container(statefulset: dict[str, Any]) -> tuple[System, dict[str, Any]] | None:
    """The pod template's container of a system peerchaos knows, and that system."""
    from peerchaos.systems import all_systems

    for system in all_systems():
        container = system.attach_container(statefulset)
        if container is not None:
            return system, container
    return None


def _service_port(service: dict[str, Any], container: dict[str, Any], port: int) -> int | None:
    """The port of `service` that reaches the container's client port."""
    names = {p.get("name") for p in container.get("ports") or [] if p.get("containerPort") == port}
    for item in service["spec"].get("ports") or []:
        target = item.get("targetPort", item.get("port"))
        if target == port or (isinstance(target, str) and target in names):
            return item.get("port")
    return None


def derive(
    system: System,
    objects: AttachedObjects,
    container: dict[str, Any],
    settings: dict[str, Found],
    live: Live,
) -> EnsembleSeen:
    """The ensemble seen, from the objects, the container's settings and the live look
    (what a running server answers about itself wins over what the manifest says)."""
    sts = objects.statefulset
    meta, spec = sts["metadata"], sts["spec"]
    template = spec["template"]
    shape, version = system.attach_identity(container)
    image = str(container.get("image", ""))
    found = {**settings, **live.conf}
    default_port = system.attach_defaults.get("client_port")
    client_port = found.get("client_port", Found(default_port, "")).value
    services = []
    for service in objects.client_services:
        port = _service_port(service, container, client_port)
        if port is not None:
            ip = service["spec"].get("clusterIP")
            services.append({"name": service["metadata"]["name"], "cluster_ip": ip, "port": port})
    selector = dict((spec.get("selector") or {}).get("matchLabels") or {})
    pdb = None
    if objects.pdbs:
        first = objects.pdbs[0]
        pdb = {"name": first["metadata"]["name"]}
        budget = ("maxUnavailable", "minAvailable")
        pdb.update({k: v for k, v in first["spec"].items() if k in budget})
    replicas = int(spec.get("replicas", 1))
    headless = objects.headless or {}
    where = f"StatefulSet {objects.namespace}/{meta['name']}"
    findings = system.attach_findings(container, found, where)
    seen = EnsembleSeen(
        namespace=objects.namespace,
        statefulset=meta["name"],
        uid=meta["uid"],
        shape=shape,
        replicas=replicas,
        pods=[f"{meta['name']}-{i}" for i in range(replicas)],
        selector=selector or dict(template["metadata"].get("labels") or {}),
        pod_management_policy=spec.get("podManagementPolicy", "OrderedReady"),
        container=str(container.get("name")),
        image=image,
        version=version,
        headless_service=str(spec.get("serviceName")),
        publish_not_ready_addresses=bool(
            (headless.get("spec") or {}).get("publishNotReadyAddresses", False)
        ),
        client_service=services[0]["name"] if services else None,
        client_service_port=services[0]["port"] if services else None,
        client_services=services,
        pdb=pdb,
        settings={key: found[key].to_dict() for key in system.attach_setting_names if key in found},
        readiness_probe=readiness(system, container),
        share_process_namespace=bool(template["spec"].get("shareProcessNamespace", False)),
        shell={"present": live.shell, "evidence": live.shell_evidence},
        server_pid=live.server_pid,
        notes=list(findings.notes) + list(live.notes),
        system=system.name,
    )
    seen.settings.update({key: value.to_dict() for key, value in findings.settings.items()})
    seen.settings["log_format"] = live.log_format.to_dict()
    default_limits(seen)
    problems_and_notes(seen, objects, findings.problems)
    return finish(seen)


def problems_and_notes(
    seen: EnsembleSeen, objects: AttachedObjects, system_problems: list[str]
) -> None:
    """What forbids attaching (`problems`, the system's own after the Services') and what
    a person should know (`notes`)."""
    where = seen.where()
    if seen.replicas < 1:
        seen.problems.append(f"{where}: scaled to 0 replicas; there is no peer to break")
    if objects.headless is None:
        seen.problems.append(
            f"{where}: its serviceName {seen.headless_service} names no Service; the peers' "
            "DNS names need that headless Service"
        )
    elif objects.headless["spec"].get("clusterIP") != "None":
        seen.problems.append(
            f"Service {seen.namespace}/{seen.headless_service}: not headless (clusterIP "
            f"{objects.headless['spec'].get('clusterIP')}); the peers' DNS names need "
            "clusterIP: None"
        )
    if seen.client_service is None:
        labels = ",".join(f"{k}={v}" for k, v in sorted(seen.selector.items()))
        seen.problems.append(
            f"{where}: no ClusterIP Service selects its pods on the client port "
            f"{seen.value('client_port')}; peerchaos's load and DNS observers need one "
            f"(a Service with selector {labels})"
        )
    seen.problems.extend(system_problems)
    if seen.log_value() == "unknown":
        seen.notes.append(
            f"peer logs: {seen.settings['log_format']['source']}; the ground truth from the "
            "servers' logs (elections, causes) may be missing from the report"
        )
    if seen.pdb is not None:
        seen.notes.append(
            f"PodDisruptionBudget {seen.namespace}/{seen.pdb['name']}: a kill is a pod delete, "
            "not an eviction, so the budget does not stop it (the quorum guard does)"
        )
    seen.notes.append(
        "partition: NetworkPolicies peerchaos creates and deletes; the cluster's network "
        "plugin must enforce them"
    )
