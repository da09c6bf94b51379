"""The endpoints controller and what follows from it: Endpoints objects and DNS records.

Given the pods (address, running, ready) it computes each Service's ready and not-ready
addresses the way the Kubernetes endpoints controller does, and from those the records
CoreDNS's kubernetes plugin serves: a headless name answers one A record per published
endpoint (NXDOMAIN when none), each published StatefulSet pod gets
`<pod>.<svc>.<ns>.svc.cluster.local`, a ClusterIP Service answers its virtual IP, and
named ports get SRV records. A selectorless Service is fed by its hand-written
Endpoints only, which nothing updates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from peerchaos.runtime.base import EndpointsInfo
from peerchaos.runtime.local.dns import DnsRecords
from peerchaos.runtime.local.objects import Ensemble, ServiceDef


@dataclass(frozen=True)
class PodView:
    """What the endpoints controller needs of a pod."""

    name: str
    ip: str | None
    running: bool
    ready: bool


def service_endpoints(
    service: ServiceDef,
    pods: Iterable[PodView],
    manual: dict[str, tuple[tuple[str, ...], int]],
    deleted: set[str],
) -> EndpointsInfo:
    """One Service's Endpoints: from its selector, or hand-written for a selectorless one."""
    if service.selector is None:
        if service.name in deleted or service.name not in manual:
            return EndpointsInfo(service.name, (), (), exists=False)
        return EndpointsInfo(service.name, manual[service.name][0], ())
    ready = tuple(p.ip for p in pods if p.running and p.ready and p.ip)
    # A deleted (not running) pod has no endpoint at all; a running unready one is not-ready.
    not_ready = tuple(p.ip for p in pods if p.running and not p.ready and p.ip)
    return EndpointsInfo(service.name, ready, not_ready)


def published(service: ServiceDef, endpoints: EndpointsInfo) -> tuple[str, ...]:
    """The addresses DNS publishes for a headless Service."""
    if service.publish_not_ready:
        return endpoints.ready + endpoints.not_ready
    return endpoints.ready


def dns_records(
    ensemble: Ensemble,
    pods: list[PodView],
    endpoints: dict[str, EndpointsInfo],
    cluster_ips: dict[str, str],
) -> DnsRecords:
    """The zone's records for the current endpoints."""
    a: dict[str, tuple[str, ...]] = {}
    srv: dict[str, tuple[tuple[int, int, int, str], ...]] = {}
    ttl: dict[str, int] = {}
    by_ip = {p.ip: p.name for p in pods if p.ip}
    for service in ensemble.services:
        fqdn = f"{service.name}.{ensemble.namespace}.svc.cluster.local"
        if service.headless:
            addresses = published(service, endpoints[service.name])
            if not addresses:
                continue  # NXDOMAIN, as CoreDNS answers a headless name without endpoints
            a[fqdn] = addresses
            targets = []
            for address in addresses:
                pod = by_ip.get(address)
                # StatefulSet pods carry hostname + subdomain, so they get their own name.
                if pod and service.name == ensemble.service_name:
                    pod_fqdn = f"{pod}.{fqdn}"
                    a[pod_fqdn] = (address,)
                    ttl[pod_fqdn] = service.ttl_s
                    targets.append(pod_fqdn)
            for port_name, port in service.ports:
                name = f"_{port_name}._tcp.{fqdn}"
                weight = max(1, 100 // max(1, len(targets)))
                srv[name] = tuple((0, weight, port, target) for target in sorted(targets))
                ttl[name] = service.ttl_s
        else:
            a[fqdn] = (cluster_ips[service.name],)
            for port_name, port in service.ports:
                name = f"_{port_name}._tcp.{fqdn}"
                srv[name] = ((0, 100, port, fqdn),)
                ttl[name] = service.ttl_s
        ttl[fqdn] = service.ttl_s
    return DnsRecords(a=a, srv=srv, ttl=ttl)


def forwarding_backends(
    service: ServiceDef, endpoints: EndpointsInfo, port: int
) -> list[tuple[str, int]]:
    """Where the client Service's virtual IP sends new connections: ready addresses only."""
    return [(address, port) for address in endpoints.ready]
