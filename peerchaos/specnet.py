"""The spec's local networks: where the local runtime puts pods and Service virtual IPs.

Values are taken as written and checked before anything is touched: private ranges only,
aligned, written ADDRESS/PREFIX, between /16 and /28, large enough for the pods.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import field_validator, model_validator

from peerchaos.strict import Strict

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
