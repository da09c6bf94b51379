"""The declarative ensemble spec: what a ZooKeeper StatefulSet behind its Services looks like.

A spec is YAML; every field has a default, so `{}` is the kubernetes.io tutorial's
three-peer ensemble. Validation errors become one line naming the file, the field path
and the problem, e.g. ``spec.yaml: replicas: must be at most 9 (got 12)``. Values are
taken as written: `true` is no number, `"3"` no integer, NaN no period, and the local
runtime's networks are private, aligned and large enough for the pods.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from peerchaos.errors import SpecError
from peerchaos.strict import Strict, first_error_line
from peerchaos.systems import DEFAULT_SYSTEM, unavailable_reason
from peerchaos.yamlfile import read_yaml

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

# Local networks: private ranges only (RFC 1918 and the shared 100.64.0.0/10), so a pod
# address or Service IP never shadows a real host on the Internet; loopback mode in
# 127.0.0.0/8. /16 at most (a typo like /1 would claim half the address space).
PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
LOOPBACK_RANGE = ipaddress.IPv4Network("127.0.0.0/8")
SHORTEST_PREFIX, LONGEST_PREFIX = 16, 28
# Where the local runtime puts things in its networks (runtime/local/network.py
# FIRST_POD_OFFSET, controlplane.py SERVICE_OFFSET; a test holds them equal): pods from
# .10 on, Service IPs from .20 on (one client Service). A recreated pod takes a new address,
# so the pod network needs one to spare beyond the replicas.
FIRST_POD_OFFSET = 10
SERVICE_OFFSET = 20


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or not DNS_LABEL.fullmatch(value):
        raise ValueError(f"must be a lowercase RFC 1123 label such as 'zk' (got {value!r})")
    return value


class ReadinessProbe(Strict):
    """Kubernetes readiness-probe semantics; `kind` says what the probe asks the server."""

    # ruok: the server process answers "imok" (the tutorial's probe).
    # quorum: `srvr` reports leader/follower/standalone, i.e. the peer is in a quorum.
    kind: Literal["ruok", "quorum"] = "ruok"
    period_s: float = Field(10.0, gt=0, le=300)
    timeout_s: float = Field(1.0, gt=0, le=60)
    success_threshold: int = Field(1, ge=1, le=100)
    failure_threshold: int = Field(3, ge=1, le=100)
    initial_delay_s: float = Field(0.0, ge=0, le=600)


class HeadlessService(Strict):
    name: str = "zk-hs"
    server_port: int = Field(2888, ge=1, le=65535)
    leader_election_port: int = Field(3888, ge=1, le=65535)

    _name = field_validator("name")(_check_dns_label)

    @model_validator(mode="after")
    def _distinct_ports(self) -> HeadlessService:
        if self.server_port == self.leader_election_port:
            raise ValueError(
                f"server_port and leader_election_port must differ (both {self.server_port})"
            )
        return self


class ClientService(Strict):
    name: str = "zk-cs"
    port: int = Field(2181, ge=1, le=65535)

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


def _network(value: str, within: tuple[ipaddress.IPv4Network, ...], where: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise ValueError(f"must be an IPv4 network such as 10.244.0.0/24 (got {value!r})") from None
    try:
        ipaddress.IPv4Network(value)  # strict: the host bits are zero
    except ValueError:
        raise ValueError(
            f"must be network-aligned (host bits zero) like {net} (got {value!r})"
        ) from None
    if value != net.with_prefixlen:
        raise ValueError(f"must be written ADDRESS/PREFIX like {net} (got {value!r})")
    if not any(net.subnet_of(outer) for outer in within):
        raise ValueError(f"must lie in {where} (got {value!r})")
    if not SHORTEST_PREFIX <= net.prefixlen <= LONGEST_PREFIX:
        raise ValueError(
            f"must be between /{SHORTEST_PREFIX} and /{LONGEST_PREFIX} (got /{net.prefixlen})"
        )
    return value


def _room(field: str, cidr: str, needed: int, what: str) -> None:
    """Refuse a network too small for the addresses the local runtime puts in it."""
    net = ipaddress.IPv4Network(cidr)
    if net.num_addresses >= needed:
        return
    longest = 32 - (needed - 1).bit_length()
    raise ValueError(f"local.{field} {cidr} is too small for {what}: needs /{longest} or shorter")


class LocalNetwork(Strict):
    """Where the local runtime puts pods and Service virtual IPs."""

    # netns: one network namespace per pod (root); loopback: one 127.x address per pod.
    mode: Literal["auto", "netns", "loopback"] = "auto"
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/24"
    loopback_cidr: str = "127.77.0.0/24"

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _private(cls, value: str) -> str:
        # `auto` may pick network namespaces, so both must be fit for them whatever the mode.
        private = ", ".join(str(net) for net in PRIVATE_RANGES[:-1])
        return _network(value, PRIVATE_RANGES, f"a private range ({private} or 100.64.0.0/10)")

    @field_validator("loopback_cidr")
    @classmethod
    def _loopback(cls, value: str) -> str:
        return _network(value, (LOOPBACK_RANGE,), str(LOOPBACK_RANGE))

    @model_validator(mode="after")
    def _placement(self) -> LocalNetwork:
        pod, svc = ipaddress.IPv4Network(self.pod_cidr), ipaddress.IPv4Network(self.service_cidr)
        if pod.overlaps(svc):
            raise ValueError(f"pod_cidr {pod} overlaps service_cidr {svc}")
        return self

    def check_room(self, replicas: int) -> None:
        """Each network holds what the local runtime puts in it (ValueError otherwise)."""
        pods = FIRST_POD_OFFSET + replicas + 2  # one to spare, and the broadcast address
        services = SERVICE_OFFSET + 2  # one client Service, and the broadcast address
        _room("pod_cidr", self.pod_cidr, pods, f"{replicas} pods from .{FIRST_POD_OFFSET} on")
        _room("service_cidr", self.service_cidr, services, f"Service IPs from .{SERVICE_OFFSET}")
        _room("loopback_cidr", self.loopback_cidr, max(pods, services), "pods and Service IPs")


class EnsembleSpec(Strict):
    """One ensemble of a stateful system: a StatefulSet, its headless and client Services,
    a PDB."""

    # Which system the pods run (`peerchaos.systems`); first, so a bad one is named first.
    system: str = DEFAULT_SYSTEM
    name: str = "zk"
    namespace: str = "default"
    replicas: int = Field(3, ge=1, le=9)
    image: str = "zookeeper:3.8"
    tick_time_ms: int = Field(2000, ge=10, le=60000)
    init_limit: int = Field(10, ge=1, le=1000)
    sync_limit: int = Field(5, ge=1, le=1000)
    publish_not_ready_addresses: bool = True
    readiness_probe: ReadinessProbe = ReadinessProbe()
    pod_management_policy: Literal["OrderedReady", "Parallel"] = "OrderedReady"
    dns_ttl_s: int = Field(5, ge=0, le=3600)
    # How long the peers' JVMs cache DNS lookups, answers and failures alike (-1: forever).
    # None = the JVM's own defaults: answers 30 s (no security manager), failed lookups
    # 10 s (java.security) — and ZooKeeper keeps a peer's old address when a lookup fails.
    jvm_dns_cache_s: int | None = Field(None, ge=-1, le=3600)
    # Failed lookups only, when they should differ from jvm_dns_cache_s.
    jvm_dns_negative_cache_s: int | None = Field(None, ge=-1, le=3600)
    heap_mb: int = Field(256, ge=32, le=8192)
    headless_service: HeadlessService = HeadlessService()
    client_service: ClientService = ClientService()
    selectorless: Selectorless = Selectorless()
    local: LocalNetwork = LocalNetwork()

    _labels = field_validator("name", "namespace")(_check_dns_label)

    def jvm_dns_security(self) -> str:
        """The JVM DNS cache settings as java.security lines (space-separated), or ""."""
        lines = []
        if self.jvm_dns_cache_s is not None:
            lines.append(f"networkaddress.cache.ttl={self.jvm_dns_cache_s}")
        negative = self.jvm_dns_negative_cache_s
        negative = self.jvm_dns_cache_s if negative is None else negative
        if negative is not None:
            lines.append(f"networkaddress.cache.negative.ttl={negative}")
        return " ".join(lines)

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
        raise SpecError(first_error_line(error, source)) from None


def load_spec(path: str | Path | None) -> EnsembleSpec:
    """Read a spec file (YAML); None gives the default spec."""
    if path is None:
        return EnsembleSpec()
    path = Path(path)
    return parse_spec(read_yaml(path, "spec"), str(path))


def spec_with_overrides(spec: EnsembleSpec, overrides: dict[str, Any]) -> EnsembleSpec:
    """A copy of `spec` with top-level fields replaced, validated again."""
    return parse_spec({**spec.model_dump(), **overrides}, "spec override")
