"""The ensemble seen: an attached StatefulSet as peerchaos understands it, and the faults
that allows.

`EnsembleSeen` is plain data — its system, replicas, ports, `publishNotReadyAddresses`,
the readiness probe, the image, the peers' log format and the system's own settings
(ZooKeeper: tickTime and the limits, the JVM's DNS caches), each value with where it was
read — plus the faults it allows (a one-line reason for each it does not, naming what to
change), notes a person should know, and the problems that forbid attaching at all.
`spec()` is the `EnsembleSpec` the rest of peerchaos reads (pod names, DNS names,
measurement's meta); `to_dict()` is what `meta.json` records as `ensemble_seen`. How it
is derived: `derive.py`; read: `attach.py`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from peerchaos.runtime.base import Capabilities
from peerchaos.spec import EnsembleSpec, parse_spec
from peerchaos.systems import DEFAULT_SYSTEM, get_system
from peerchaos.systems.base import MARKER, Found

FAULTS = ("kill", "partition", "unready", "pause", "endpoints")
NO_POD = Found("unknown", "no running pod to read a log of")


@dataclass
class AttachedObjects:
    """The attached StatefulSet and what goes with it, as read (plain API data)."""

    namespace: str
    statefulset: dict[str, Any]
    headless: dict[str, Any] | None
    client_services: list[dict[str, Any]]  # ClusterIP Services selecting the same pods
    pdbs: list[dict[str, Any]]
    pods: list[dict[str, Any]]  # the StatefulSet's own pods (its controller reference)


@dataclass
class Live:
    """What a look at one running pod showed (nothing when none runs)."""

    pod: str | None = None
    shell: bool | None = None  # None: not known
    shell_evidence: str = "no running pod to look at"
    server_pid: int | None = None
    # What the running server answered about itself (ZooKeeper: `conf`).
    conf: dict[str, Found] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    log_format: Found = NO_POD


@dataclass
class EnsembleSeen:
    """An attached StatefulSet as peerchaos understands it (plain data)."""

    namespace: str
    statefulset: str
    uid: str
    shape: str
    replicas: int
    pods: list[str]
    selector: dict[str, str]  # labels that select the peers (for partition policies)
    pod_management_policy: str
    container: str
    image: str
    version: str | None
    headless_service: str
    publish_not_ready_addresses: bool
    client_service: str | None
    client_service_port: int | None  # the Service's port (the pods' is settings.client_port)
    client_services: list[dict[str, Any]]
    pdb: dict[str, Any] | None
    settings: dict[str, dict[str, Any]]  # name -> {"value", "source"}
    readiness_probe: dict[str, Any]
    share_process_namespace: bool
    shell: dict[str, Any]  # {"present": True/False/None, "evidence"}
    server_pid: int | None
    faults: dict[str, Any] = field(default_factory=dict)  # {"supported": [...], "reasons"}
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    system: str = DEFAULT_SYSTEM  # which system its container runs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnsembleSeen:
        return cls(**data)

    def where(self) -> str:
        return f"StatefulSet {self.namespace}/{self.statefulset}"

    def value(self, name: str) -> Any:
        return self.settings[name]["value"]

    def log_value(self) -> Any:
        return self.settings.get("log_format", {}).get("value")

    def capabilities(self) -> Capabilities:
        return Capabilities(frozenset(self.faults["supported"]), dict(self.faults["reasons"]))

    def spec(self) -> EnsembleSpec:
        """The seen ensemble as the spec every other part of peerchaos reads."""
        probe = self.readiness_probe
        data: dict[str, Any] = {
            "system": self.system,
            "name": self.statefulset,
            "namespace": self.namespace,
            "replicas": self.replicas,
            "image": self.image,
            "publish_not_ready_addresses": self.publish_not_ready_addresses,
            "pod_management_policy": self.pod_management_policy,
            "readiness_probe": {
                "kind": probe["kind"],
                "period_s": probe["period_s"],
                "timeout_s": probe["timeout_s"],
                "success_threshold": probe["success_threshold"],
                "failure_threshold": probe["failure_threshold"],
                "initial_delay_s": probe["initial_delay_s"],
            },
            "headless_service": {"name": self.headless_service},
            "client_service": {"name": self.client_service},
        }
        values = {name: item["value"] for name, item in self.settings.items()}
        for key, value in get_system(self.system).seen_spec(values).items():
            nested = isinstance(value, dict) and isinstance(data.get(key), dict)
            data[key] = {**data[key], **value} if nested else value
        return parse_spec(data, f"{self.where()} as attached")


def shown(probe: dict[str, Any]) -> str:
    if probe["command"]:
        return "`" + " ".join(str(part) for part in probe["command"]) + "`"
    return f"a {probe['handler']} probe" if probe["handler"] else "no readinessProbe"


def fault_reasons(seen: EnsembleSeen) -> dict[str, str]:
    """Why each fault peerchaos cannot inject here cannot be, naming what to change."""
    where, reasons = seen.where(), {}
    system = get_system(seen.system)
    probe = seen.readiness_probe
    shell = seen.shell
    no_shell = (
        f"the image {seen.image} has no shell ({shell['evidence']}); peerchaos runs its "
        "fault commands through `sh -c` in the container: use an image with /bin/sh"
    )
    if not probe["checks_marker"]:
        reasons["unready"] = (
            f"the readinessProbe of container {seen.container} in {where} ({shown(probe)}) "
            f"does not check {MARKER}, the file peerchaos creates to make a peer "
            f"unready; have it fail while that file exists (prefix its command with "
            f"`test ! -e {MARKER} &&`)"
        )
    elif shell["present"] is False:
        reasons["unready"] = no_shell
    if shell["present"] is False:
        reasons["pause"] = no_shell
    elif shell["present"] is None:
        reasons["pause"] = (
            f"no running pod of {where} to check that its image has a shell and that "
            f"the {system.title} server is not PID 1 (pause is a SIGSTOP sent through exec)"
        )
    elif seen.server_pid == 1 and not seen.share_process_namespace:
        reasons["pause"] = (
            f"the {system.title} server is PID 1 of container {seen.container}, and the kernel "
            "drops a SIGSTOP sent to PID 1 from inside its container; set "
            f"spec.template.spec.shareProcessNamespace: true in {where}"
        )
    elif seen.server_pid is None and not seen.share_process_namespace:
        reasons["pause"] = (
            f"no {system.title} server process (`{system.server_process_pattern}`) was seen "
            f"in container {seen.container} ({shell['evidence']}), so there is nothing to "
            "SIGSTOP"
        )
    services = " and ".join(s for s in (seen.headless_service, seen.client_service) if s)
    reasons["endpoints"] = (
        f"the Endpoints of {services} belong to the attached ensemble (the endpoints "
        "controller writes them); peerchaos deletes only Endpoints it created"
    )
    return reasons
