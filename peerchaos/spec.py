"""The declarative ensemble spec: what a ZooKeeper StatefulSet behind its Services looks like.

A spec is YAML; every field has a default, so `{}` is the kubernetes.io tutorial's
three-peer ensemble. Validation errors become one line naming the file, the field path
and the problem, e.g. ``spec.yaml: replicas: must be at most 9 (got 12)``.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from peerchaos.errors import SpecError

# RFC 1123 label, as Kubernetes requires for Service and StatefulSet names.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or not DNS_LABEL.match(value):
        raise ValueError(f"must be a lowercase RFC 1123 label such as 'zk' (got {value!r})")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadinessProbe(_Strict):
    """Kubernetes readiness-probe semantics; `kind` says what the probe asks the server."""

    # ruok: the server process answers "imok" (the tutorial's probe).
    # quorum: `srvr` reports leader/follower/standalone, i.e. the peer is in a quorum.
    kind: Literal["ruok", "quorum"] = "ruok"
    period_s: float = Field(10.0, gt=0, le=300)
    timeout_s: float = Field(1.0, gt=0, le=60)
    success_threshold: int = Field(1, ge=1, le=100)
    failure_threshold: int = Field(3, ge=1, le=100)
    initial_delay_s: float = Field(0.0, ge=0, le=600)


class HeadlessService(_Strict):
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


class ClientService(_Strict):
    name: str = "zk-cs"
    port: int = Field(2181, ge=1, le=65535)

    _name = field_validator("name")(_check_dns_label)


class Selectorless(_Strict):
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


class LocalNetwork(_Strict):
    """Where the local runtime puts pods and Service virtual IPs."""

    # netns: one network namespace per pod (root); loopback: one 127.x address per pod.
    mode: Literal["auto", "netns", "loopback"] = "auto"
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/24"
    loopback_cidr: str = "127.77.0.0/24"

    @field_validator("pod_cidr", "service_cidr", "loopback_cidr")
    @classmethod
    def _network(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value)
        except ValueError:
            raise ValueError(
                f"must be an IPv4 network such as 10.244.0.0/24 (got {value!r})"
            ) from None
        if net.prefixlen > 26:
            raise ValueError(f"must hold at least 64 addresses (got /{net.prefixlen})")
        return value

    @model_validator(mode="after")
    def _placement(self) -> LocalNetwork:
        pod, svc = ipaddress.IPv4Network(self.pod_cidr), ipaddress.IPv4Network(self.service_cidr)
        if pod.overlaps(svc):
            raise ValueError(f"pod_cidr {pod} overlaps service_cidr {svc}")
        if not ipaddress.IPv4Network(self.loopback_cidr).subnet_of(
            ipaddress.IPv4Network("127.0.0.0/8")
        ):
            raise ValueError(f"loopback_cidr must lie in 127.0.0.0/8 (got {self.loopback_cidr})")
        return self


class EnsembleSpec(_Strict):
    """One ZooKeeper ensemble: a StatefulSet, its headless and client Services, a PDB."""

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

    @model_validator(mode="after")
    def _consistent(self) -> EnsembleSpec:
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


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


# Pydantic's wording ("Input should be less than or equal to 9") rephrased as the rest of
# peerchaos speaks ("must be at most 9"); `ctx` carries the limit. Unlisted types keep theirs.
_PLAIN_MESSAGES = {
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of fields",
    "model_type": "must be a mapping of fields",
    "literal_error": "must be {expected}",
    "extra_forbidden": "unknown field",
}


def _plain(value: Any) -> Any:
    # Limits declared on float fields arrive as 0.0 / 300.0; a person wrote 0 and 300.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _seen(first: Any, message: str) -> str:
    """The " (got ...)" suffix: what the person wrote, unless the message already says."""
    if "input" not in first or first["type"] in ("missing", "extra_forbidden"):
        return ""
    if "got" in message:
        return ""
    seen = first["input"]
    if isinstance(seen, dict | list):
        # Model-level validators say what they saw; a whole mapping would only add noise.
        # A wrong container type is still worth naming, briefly.
        return f" (got {type(seen).__name__})" if first["type"].endswith("_type") else ""
    return f" (got {seen!r})"


def _first_error_line(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    template = _PLAIN_MESSAGES.get(first["type"])
    if template is not None:
        ctx = {key: _plain(value) for key, value in first.get("ctx", {}).items()}
        message = template.format(**ctx)
    else:
        message = first["msg"].removeprefix("Value error, ")
    return f"{source}: {_field_path(first['loc'])}: {message}{_seen(first, message)}"


def parse_spec(data: Any, source: str = "spec") -> EnsembleSpec:
    """Validate a mapping as an ensemble spec; raise SpecError with one line on failure."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(f"{source}: must be a mapping of fields (got {type(data).__name__})")
    try:
        return EnsembleSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(_first_error_line(error, source)) from None


def load_spec(path: str | Path | None) -> EnsembleSpec:
    """Read a spec file (YAML); None gives the default spec."""
    if path is None:
        return EnsembleSpec()
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError(f"{path}: cannot read spec ({error.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SpecError(
            f"{path}:{where} not valid YAML ({getattr(error, 'problem', error)})"
        ) from None
    return parse_spec(data, str(path))


def spec_with_overrides(spec: EnsembleSpec, overrides: dict[str, Any]) -> EnsembleSpec:
    """A copy of `spec` with top-level fields replaced, validated again."""
    return parse_spec({**spec.model_dump(), **overrides}, "spec override")
