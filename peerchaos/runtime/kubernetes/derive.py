"""How the ensemble seen is derived from an attached StatefulSet's objects.

`derive` takes the objects as read and what a look at a running pod showed
(`seen.AttachedObjects`, `seen.Live`, from `attach.py`) with the ZooKeeper container's
own settings (`peerchaos.systems.zookeeper.deployments`) and builds the `EnsembleSeen`: a running
server's `conf` answer wins over the manifest, the manifest over the image's defaults,
and a value nothing shows is peerchaos's default, said so in the notes. It then works out
the faults allowed and the problems that forbid attaching.
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
from peerchaos.systems.zookeeper import deployments as zk

# The order settings are recorded and shown in.
SETTINGS = (
    "client_port",
    "server_port",
    "election_port",
    "tick_time_ms",
    "init_limit",
    "sync_limit",
)
PROBE_DEFAULTS = {
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
    "initialDelaySeconds": 0,
}


def readiness(container: dict[str, Any]) -> dict[str, Any]:
    """The readiness probe as the spec and the report need it."""
    probe = container.get("readinessProbe")
    if not probe:
        none = {"handler": None, "command": None, "kind": "ruok", "checks_marker": False}
        return {**none, **default_probe()}
    handler = next((h for h in ("exec", "tcpSocket", "httpGet", "grpc") if h in probe), None)
    command = (probe.get("exec") or {}).get("command")
    timing = {key: probe.get(key, default) for key, default in PROBE_DEFAULTS.items()}
    return {
        "handler": handler,
        "command": command,
        "kind": zk.readiness_kind(probe),
        "checks_marker": zk.checks_marker(probe),
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
    fallback = {"tick_time_ms": 2000, "init_limit": 10, "sync_limit": 5}
    fallback.update(client_port=2181, server_port=2888, election_port=3888)
    for key, value in fallback.items():
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


def default_probe() -> dict[str, Any]:
    """The spec's readiness defaults, for a container without a probe."""
    probe = ReadinessProbe()
    return {
        "period_s": probe.period_s,
        "timeout_s": probe.timeout_s,
        "success_threshold": probe.success_threshold,
        "failure_threshold": probe.failure_threshold,
        "initial_delay_s": probe.initial_delay_s,
    }


def pick_container(statefulset: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template's ZooKeeper container."""
    containers = statefulset["spec"]["template"]["spec"].get("containers") or []
    return next((c for c in containers if zk.looks_like_zookeeper(c)), None)


def _service_port(service: dict[str, Any], container: dict[str, Any], port: int) -> int | None:
    """The port of `service` that reaches the container's client port."""
    names = {p.get("name") for p in container.get("ports") or [] if p.get("containerPort") == port}
    for item in service["spec"].get("ports") or []:
        target = item.get("targetPort", item.get("port"))
        if target == port or (isinstance(target, str) and target in names):
            return item.get("port")
    return None


def derive(
    objects: AttachedObjects,
    container: dict[str, Any],
    settings: dict[str, zk.Found],
    live: Live,
) -> EnsembleSeen:
    """The ensemble seen, from the objects, the container's settings and the live look
    (a running server's `conf` wins over what the manifest says)."""
    sts = objects.statefulset
    meta, spec = sts["metadata"], sts["spec"]
    template = spec["template"]
    env = zk.env_of(container)
    shape = zk.shape_of(container)
    image = str(container.get("image", ""))
    version = zk.version_of(image)
    found = {**settings, **live.conf}
    client_port = found.get("client_port", zk.Found(2181, "")).value
    services = []
    for service in objects.client_services:
        port = _service_port(service, container, client_port)
        if port is not None:
            ip = service["spec"].get("clusterIP")
            services.append({"name": service["metadata"]["name"], "cluster_ip": ip, "port": port})
    positive, negative, dns_notes = zk.jvm_dns(env)
    whitelist = found.get("whitelist")
    words = zk.enabled_words(whitelist.value if whitelist else None, version)
    selector = dict((spec.get("selector") or {}).get("matchLabels") or {})
    pdb = None
    if objects.pdbs:
        first = objects.pdbs[0]
        pdb = {"name": first["metadata"]["name"]}
        budget = ("maxUnavailable", "minAvailable")
        pdb.update({k: v for k, v in first["spec"].items() if k in budget})
    replicas = int(spec.get("replicas", 1))
    headless = objects.headless or {}
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
        version=".".join(map(str, version)) if version else None,
        headless_service=str(spec.get("serviceName")),
        publish_not_ready_addresses=bool(
            (headless.get("spec") or {}).get("publishNotReadyAddresses", False)
        ),
        client_service=services[0]["name"] if services else None,
        client_service_port=services[0]["port"] if services else None,
        client_services=services,
        pdb=pdb,
        settings={key: found[key].to_dict() for key in SETTINGS if key in found},
        readiness_probe=readiness(container),
        share_process_namespace=bool(template["spec"].get("shareProcessNamespace", False)),
        shell={"present": live.shell, "evidence": live.shell_evidence},
        server_pid=live.server_pid,
        notes=list(dns_notes) + list(live.notes),
    )
    seen.settings["jvm_dns_cache_s"] = positive.to_dict()
    seen.settings["jvm_dns_negative_cache_s"] = negative.to_dict()
    seen.settings["log_format"] = live.log_format.to_dict()
    seen.settings["four_letter_words"] = {
        "value": words if words == zk.ALL_WORDS else sorted(words),
        "source": (whitelist.source if whitelist else "ZooKeeper's default")
        + "; srvr is always answered",
    }
    default_limits(seen)
    problems_and_notes(seen, objects, env, words)
    return finish(seen)


def problems_and_notes(
    seen: EnsembleSeen,
    objects: AttachedObjects,
    env: dict[str, str],
    words: frozenset[str] | str,
) -> None:
    """What forbids attaching (`problems`) and what a person should know (`notes`)."""
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
    if zk.tls_only(env):
        seen.problems.append(
            f"{where}: ZOO_TLS_CLIENT_ENABLE={env['ZOO_TLS_CLIENT_ENABLE']} removes the plain "
            "client port, and peerchaos's role probe asks each peer `srvr` over plain TCP; "
            "set ZOO_TLS_CLIENT_ENABLE=no"
        )
    if not zk.answers(words, "conf"):
        source = seen.settings["four_letter_words"]["source"].split(";")[0]
        seen.notes.append(
            f"the four-letter word conf is not answered ({source}): the probe "
            "connections_to_unready_peers cannot tell which peer answered; add conf to "
            f"{zk.whitelist_setting(seen.shape)}"
        )
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
