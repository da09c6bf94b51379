"""Reading an attached StatefulSet and what goes with it — and nothing more.

`attach(api, namespace, name)` reads the StatefulSet, its `serviceName` (the headless
Service), the ClusterIP Services whose selector picks the same pods (the client
Services), the PodDisruptionBudgets that cover them and the StatefulSet's own pods (those
whose controller reference is its uid), finds the container of a system peerchaos knows
(`System.attach_container`), then looks at one running pod: an exec that lists the
server's PID (which also shows whether the image has a shell), what the server answers
about itself when it can be reached (`System.attach_live`; ZooKeeper: `conf`), and the
last lines of its log (their format, `System.split_log_line`). Nothing is created,
patched or deleted. It returns the `EnsembleSeen` (`derive.py`); what forbids attaching
at all is one line.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.changes import read_object
from peerchaos.runtime.kubernetes.derive import derive, pick_container
from peerchaos.runtime.kubernetes.podexec import exec_in_pod, find_server
from peerchaos.runtime.kubernetes.seen import AttachedObjects, EnsembleSeen, Live
from peerchaos.systems import all_systems
from peerchaos.systems.base import Found, System

LOG_LINES = 200


def _items(api: client.ApiClient, listed: Any) -> list[dict[str, Any]]:
    return api.sanitize_for_serialization(listed).get("items") or []


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels, matchExpressions) selects `labels`."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for rule in selector.get("matchExpressions") or []:
        key, op, values = rule.get("key"), rule.get("operator"), rule.get("values") or []
        holds = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(op, False)
        if not holds:
            return False
    return True


def selector_string(selector: dict[str, Any]) -> str:
    """A LabelSelector as `?labelSelector=` text."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for rule in selector.get("matchExpressions") or []:
        key, op, values = rule["key"], rule["operator"], ",".join(rule.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})"}.get(
                op, key if op == "Exists" else f"!{key}"
            )
        )
    return ",".join(parts)


def controlled_by(obj: dict[str, Any], uid: str) -> bool:
    """Whether `obj`'s controller reference is the object of `uid`."""
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    return any(ref.get("uid") == uid and ref.get("controller") for ref in refs)


def read_attached(api: client.ApiClient, namespace: str, name: str) -> AttachedObjects:
    """The StatefulSet and the objects that go with it, as plain data."""
    sts = read_object(api, "StatefulSet", namespace, name)
    if sts is None:
        raise UsageError(
            f"StatefulSet {namespace}/{name}: does not exist (configuration.attach.statefulset)"
        )
    spec = sts["spec"]
    labels = spec["template"]["metadata"].get("labels") or {}
    service_name = spec.get("serviceName")
    headless = read_object(api, "Service", namespace, service_name) if service_name else None
    core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    services = _items(
        api,
        kubeapi.call(
            f"list services in {namespace}", lambda: core.list_namespaced_service(namespace)
        ),
    )
    client_services = [
        s
        for s in services
        if s["metadata"]["name"] != service_name
        and s["spec"].get("selector")
        and selects({"matchLabels": s["spec"]["selector"]}, labels)
        and s["spec"].get("clusterIP") not in (None, "None")
    ]
    pdbs = _items(
        api,
        kubeapi.call(
            f"list poddisruptionbudgets in {namespace}",
            lambda: policy.list_namespaced_pod_disruption_budget(namespace),
        ),
    )
    selector = spec.get("selector") or {}
    pods = _items(
        api,
        kubeapi.call(
            f"list pods in {namespace}",
            lambda: core.list_namespaced_pod(namespace, label_selector=selector_string(selector)),
        ),
    )
    uid = sts["metadata"]["uid"]
    return AttachedObjects(
        namespace=namespace,
        statefulset=sts,
        headless=headless,
        client_services=sorted(client_services, key=lambda s: s["metadata"]["name"]),
        pdbs=[p for p in pdbs if selects((p.get("spec") or {}).get("selector") or {}, labels)],
        pods=[p for p in pods if controlled_by(p, uid)],
    )


def _running(objects: AttachedObjects) -> dict[str, Any] | None:
    """A running, ready pod of the StatefulSet (the lowest ordinal), else any running one."""
    running = [
        p
        for p in objects.pods
        if (p.get("status") or {}).get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
    ]
    ready = [
        p
        for p in running
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in p["status"].get("conditions") or []
        )
    ]
    chosen = sorted(ready or running, key=lambda p: p["metadata"]["name"])
    return chosen[0] if chosen else None


def look_live(
    api: client.ApiClient,
    system: System,
    objects: AttachedObjects,
    container: dict[str, Any],
    settings: dict[str, Found],
) -> Live:
    """What one running pod shows: the server's PID (and so whether there is a shell),
    what the server answers about itself and its log's format."""
    pod = _running(objects)
    if pod is None:
        return Live()
    name, namespace = pod["metadata"]["name"], objects.namespace
    live = Live(pod=name)
    container_name = str(container.get("name"))
    try:
        command = find_server(system.server_process_pattern)
        code, output = exec_in_pod(api, namespace, name, container_name, command)
        # A runtime that reports a missing executable as an exit code (126/127, as
        # Docker's did) says so in the output; any other exit means sh ran.
        live.shell = not (code in (126, 127) and "executable file not found" in output)
        pids = [int(word) for word in output.split() if word.isdigit()]
        live.server_pid = pids[0] if pids else None
        live.shell_evidence = f"exec `sh -c` in pod {name}: " + (
            f"server PID {live.server_pid}" if pids else f"exit {code}, no server process"
        )
    except PeerchaosError as error:
        text = str(error).removeprefix("kubernetes: ")
        live.shell = False if "executable file not found" in text else None
        live.shell_evidence = text
    live.log_format = log_format(api, system, namespace, name, container_name)
    ip = (pod.get("status") or {}).get("podIP")
    live.conf, notes = system.attach_live(ip, name, container, settings)
    live.notes.extend(notes)
    return live


def log_format(
    api: client.ApiClient, system: System, namespace: str, pod: str, container: str
) -> Found:
    """The format of the server's log as its last lines show it: json, text or unknown."""
    core = client.CoreV1Api(api)
    try:
        text = kubeapi.call(
            f"read log of pod {namespace}/{pod}",
            lambda: core.read_namespaced_pod_log(
                pod, namespace, container=container, tail_lines=LOG_LINES
            ),
        )
    except PeerchaosError as error:
        return Found("unknown", str(error).removeprefix("kubernetes: "))
    lines = [line for line in (text or "").splitlines() if line.strip()]
    read = [line for line in lines if system.split_log_line(line) is not None]
    if not read:
        return Found(
            "unknown",
            f"none of the last {len(lines)} lines of pod {pod}'s log is in a format "
            "peerchaos reads",
        )
    kind = "json" if sum(line.startswith("{") for line in read) * 2 > len(read) else "text"
    return Found(kind, f"{len(read)} of the last {len(lines)} lines of pod {pod}'s log")


def attach(api: client.ApiClient, namespace: str, name: str) -> EnsembleSeen:
    """The ensemble seen of StatefulSet `namespace/name`; its `problems` say what forbids
    attaching (a missing StatefulSet, or one without a container of a system peerchaos
    knows, is raised)."""
    objects = read_attached(api, namespace, name)
    picked = pick_container(objects.statefulset)
    if picked is None:
        systems = all_systems()
        titles = " or ".join(s.title for s in systems)
        hints = " or ".join(f"{s.title} ({s.attach_hint})" for s in systems)
        looks = hints if len(systems) > 1 else f"{titles} ({systems[0].attach_hint})"
        raise UsageError(
            f"StatefulSet {namespace}/{name}: no container looks like {looks}; peerchaos "
            f"attaches to {titles} only"
        )
    system, container = picked
    ports = ((objects.headless or {}).get("spec") or {}).get("ports") or []
    settings = system.attach_settings(container, ports)
    live = look_live(api, system, objects, container, settings)
    return derive(system, objects, container, settings, live)
