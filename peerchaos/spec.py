"""The declarative ensemble spec: what a system's StatefulSet behind its Services looks like.

A spec is YAML; every field has a default, so `{}` is the kubernetes.io tutorial's
three-peer ZooKeeper ensemble. `system` names what the pods run (`peerchaos.systems`);
the values that depend on it (name, image, Service names and ports, readiness kind) are
the system's defaults, and its own settings sit in its group (`zookeeper:`; older specs
write them at the top level, which still works — `specsystem`). Validation errors become
one line naming the file, the field path and the problem, e.g.
``spec.yaml: replicas: must be at most 9 (got 12)``. Values are
taken as written: `true` is no number, `"3"` no integer, NaN no period, and the local
runtime's networks are private, aligned and large enough for the pods.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from peerchaos import specsystem
from peerchaos.errors import SpecError
from peerchaos.specnet import (  # noqa: F401 (the spec's local networks, re-exported)
    FIRST_POD_OFFSET,
    LOOPBACK_RANGE,
    PRIVATE_RANGES,
    SERVICE_OFFSET,
    LocalNetwork,
)
from peerchaos.strict import Strict, first_error_line
from peerchaos.systems import DEFAULT_SYSTEM, get_system, unavailable_reason
from peerchaos.systems.etcd.settings import EtcdSettings
from peerchaos.systems.zookeeper.settings import ZooKeeperSettings
from peerchaos.yamlfile import read_yaml

# What `readiness_probe.kind` may be: any available system's kinds (ZooKeeper: ruok, the
# server answers; quorum, the peer is in a quorum); `EnsembleSpec` checks its system's.
ReadinessKind = Literal[specsystem.readiness_kinds()]  # type: ignore[valid-type]

# RFC 1123 label, as Kubernetes requires for Service and StatefulSet names.
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# A StatefulSet's pods carry the label controller-revision-hash = <name>-<10-char hash>,
# and a label value holds 63 characters: a longer name gives pods that are never created
# (kubernetes/kubernetes#64023). It also keeps `<name>-<ordinal>` within 63.
MAX_STATEFULSET_NAME = 63 - 1 - 10

# An image reference as the distribution spec writes it: [domain[:port]/]path[:tag][@digest].
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*(?::{_TAG})?(?:@{_DIGEST})?", re.ASCII
)
MAX_IMAGE = 255


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or not DNS_LABEL.fullmatch(value):
        raise ValueError(f"must be a lowercase RFC 1123 label such as 'zk' (got {value!r})")
    return value


class ReadinessProbe(Strict):
    """Kubernetes readiness-probe semantics; `kind` says what the probe asks the server
    (one of the system's `readiness_kinds`; its first by default)."""

    kind: ReadinessKind
    period_s: float = Field(10.0, gt=0, le=300)
    timeout_s: float = Field(1.0, gt=0, le=60)
    success_threshold: int = Field(1, ge=1, le=100)
    failure_threshold: int = Field(3, ge=1, le=100)
    initial_delay_s: float = Field(0.0, ge=0, le=600)


class HeadlessService(Strict):
    """The peers' Service; its defaults are the system's (ZooKeeper: zk-hs, 2888, 3888;
    etcd: etcd-hs, 2380 and no second port)."""

    name: str
    server_port: int = Field(ge=1, le=65535)
    # A second peer port, for a system that has one (ZooKeeper's election port).
    leader_election_port: int | None = Field(None, ge=1, le=65535)

    _name = field_validator("name")(_check_dns_label)

    @model_validator(mode="after")
    def _distinct_ports(self) -> HeadlessService:
        if self.server_port == self.leader_election_port:
            raise ValueError(
                f"server_port and leader_election_port must differ (both {self.server_port})"
            )
        return self


class ClientService(Strict):
    """The clients' Service; its defaults are the system's (ZooKeeper: zk-cs, 2181)."""

    name: str
    port: int = Field(ge=1, le=65535)

    _name = field_validator("name")(_check_dns_label)


class Selectorless(Strict):
    """A client Service without selector, fed by a hand-written Endpoints object."""

    enabled: bool = False
    # The Endpoints' addresses as written by hand; by default the addresses the peers
    # start with (the local runtime's first allocation), written once and never updated.
    addresses: list[str] | None = None

    @field_validator("addresses")
    @classmethod
    def _ipv4(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            try:
                ipaddress.IPv4Address(item)
            except ValueError:
                raise ValueError(f"must be IPv4 addresses (got {item!r})") from None
        return value


class EnsembleSpec(Strict):
    """One ensemble of a stateful system: a StatefulSet, its headless and client Services,
    a PDB."""

    # Which system the pods run (`peerchaos.systems`); first, so a bad one is named first.
    system: str = DEFAULT_SYSTEM
    # name, image, readiness_probe.kind and the two Services default to the system's
    # (`System.spec_defaults`; ZooKeeper: zk, zookeeper:3.8, ruok, zk-hs and zk-cs).
    name: str
    namespace: str = "default"
    replicas: int = Field(3, ge=1, le=9)
    image: str
    publish_not_ready_addresses: bool = True
    readiness_probe: ReadinessProbe
    pod_management_policy: Literal["OrderedReady", "Parallel"] = "OrderedReady"
    dns_ttl_s: int = Field(5, ge=0, le=3600)
    headless_service: HeadlessService
    client_service: ClientService
    selectorless: Selectorless = Selectorless()
    local: LocalNetwork = LocalNetwork()
    # Each system's own settings, in its group.
    zookeeper: ZooKeeperSettings = ZooKeeperSettings()
    etcd: EtcdSettings = EtcdSettings()

    _labels = field_validator("name", "namespace")(_check_dns_label)

    @model_validator(mode="before")
    @classmethod
    def _system_parts(cls, data: Any) -> Any:
        """The system's defaults, and its settings written at the top level in its group."""
        return specsystem.prepare(data) if isinstance(data, dict) else data

    @field_validator("system")
    @classmethod
    def _available(cls, value: str) -> str:
        reason = unavailable_reason(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    @field_validator("name")
    @classmethod
    def _short_enough(cls, value: str) -> str:
        if len(value) > MAX_STATEFULSET_NAME:
            raise ValueError(
                f"must be at most {MAX_STATEFULSET_NAME} characters, so that the pods' label "
                f"controller-revision-hash (name + 11) fits in 63 (got {len(value)}: {value!r})"
            )
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if len(value) > MAX_IMAGE or not IMAGE_REFERENCE.fullmatch(value):
            raise ValueError(
                f"must be an image reference such as zookeeper:3.8 or "
                f"registry.example.com/zookeeper@sha256:<digest> (got {value!r})"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EnsembleSpec:
        self.local.check_room(self.replicas)
        system = get_system(self.system)
        system.check_spec(self)
        kinds = system.readiness_kinds
        if self.readiness_probe.kind not in kinds:
            raise ValueError(
                f"readiness_probe.kind {self.readiness_probe.kind!r} is not one of "
                f"{self.system}'s ({' or '.join(kinds)})"
            )
        if self.headless_service.name == self.client_service.name:
            raise ValueError(
                f"headless_service.name and client_service.name must differ "
                f"(both {self.client_service.name!r})"
            )
        if self.client_service.port in (
            self.headless_service.server_port,
            self.headless_service.leader_election_port,
        ):
            raise ValueError(
                f"client_service.port {self.client_service.port} collides with a peer port"
            )
        addresses = self.selectorless.addresses
        if addresses is not None and not addresses:
            raise ValueError("selectorless.addresses must not be empty when given")
        return self

    def pod_names(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.replicas)]

    def pod_fqdn(self, pod: str) -> str:
        return f"{pod}.{self.headless_service.name}.{self.namespace}.svc.cluster.local"

    def service_fqdn(self, service: str) -> str:
        return f"{service}.{self.namespace}.svc.cluster.local"


def parse_spec(data: Any, source: str = "spec") -> EnsembleSpec:
    """Validate a mapping as an ensemble spec; raise SpecError with one line on failure."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(f"{source}: must be a mapping of fields (got {type(data).__name__})")
    try:
        return EnsembleSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(first_error_line(error, source, specsystem.rename(data))) from None


def load_spec(path: str | Path | None) -> EnsembleSpec:
    """Read a spec file (YAML); None gives the default spec."""
    if path is None:
        return EnsembleSpec()
    path = Path(path)
    return parse_spec(read_yaml(path, "spec"), str(path))


def spec_with_overrides(
    spec: EnsembleSpec, overrides: dict[str, Any], source: str = "spec override"
) -> EnsembleSpec:
    """A copy of `spec` with top-level fields replaced — a system's settings one by one,
    at the top level or in its group — validated again."""
    return parse_spec(specsystem.merge_overrides(spec.model_dump(), overrides), source)
