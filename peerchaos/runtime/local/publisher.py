"""The endpoints controller's output: Endpoints, then DNS, the Service proxy and hosts files.

`refresh_endpoints` recomputes every Service's Endpoints from the pods as they are (see
`endpoints.py` for the rules) and, when one changed, follows with what hangs off them:
the DNS records, the client Service proxy's backends and, in loopback mode, each pod's
hosts file. A part of `ControlPlane`; every change lands in the runtime's event log.
"""

from __future__ import annotations

from peerchaos.atomicfile import write_atomic
from peerchaos.runtime.base import EndpointsInfo
from peerchaos.runtime.local.dns import ClusterDNSServer
from peerchaos.runtime.local.endpoints import (
    PodView,
    dns_records,
    forwarding_backends,
    service_endpoints,
)
from peerchaos.runtime.local.forwarder import ServiceForwarder
from peerchaos.runtime.local.objects import Ensemble
from peerchaos.runtime.local.pod import Pod, hosts_file
from peerchaos.runtime.local.state import EventLog, StateDir


class EndpointsPublisher:
    """views, refresh_endpoints, write_loopback_hosts."""

    # Provided by `ControlPlane`.
    state: StateDir
    ensemble: Ensemble
    mode: str
    pods: dict[str, Pod]
    cluster_ips: dict[str, str]
    dns: ClusterDNSServer
    forwarders: dict[str, ServiceForwarder]
    endpoints: dict[str, EndpointsInfo]
    deleted_endpoints: set[str]
    events: EventLog

    def views(self) -> list[PodView]:
        return [PodView(p.name, p.ip, p.running, p.ready) for p in self.pods.values()]

    def refresh_endpoints(self) -> None:
        """Recompute Endpoints; on change, follow with DNS, the proxy and hosts files."""
        views = self.views()
        changed = False
        manual = self.ensemble.manual_endpoints
        for svc in self.ensemble.services:
            info = service_endpoints(svc, views, manual, self.deleted_endpoints)
            if self.endpoints.get(svc.name) != info:
                self.endpoints[svc.name] = info
                self.events.emit("endpoints", **info.to_dict())
                changed = True
                if svc.name in self.forwarders:
                    port = manual.get(svc.name, ((), self.ensemble.client_port))[1]
                    backends = forwarding_backends(svc, info, port or self.ensemble.client_port)
                    self.forwarders[svc.name].set_backends(backends)
        if changed or not self.dns.records.a:
            records = dns_records(self.ensemble, views, self.endpoints, self.cluster_ips)
            self.dns.update(records)
            if self.mode == "loopback":
                self.write_loopback_hosts(records.a)

    def write_loopback_hosts(self, records: dict[str, tuple[str, ...]]) -> None:
        for pod in self.pods.values():
            if pod.ip:
                text = hosts_file(pod.ip, self.ensemble.pod_fqdn(pod.name), pod.name, records)
                # The server rereads this file: never let it see half of one.
                write_atomic(self.state.pod_dir(pod.name) / "hosts", text, fsync=False)
