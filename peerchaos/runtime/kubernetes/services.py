"""Where clients, probes and DNS reach the ensemble on a cluster: endpoints, Service
addresses, pod addresses, the cluster DNS.

`ServiceViews` is the read-only half of `KubernetesRuntime` that the observers ask many
times a second; it uses the runtime's API client, spec and pod listing.
"""

from __future__ import annotations

import os

from kubernetes import client

from peerchaos.errors import UsageError
from peerchaos.runtime.base import EndpointsInfo, PodInfo
from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.objects import endpoints_info
from peerchaos.spec import EnsembleSpec


class ServiceViews:
    """endpoints, dns_server, client_service_address, pod_addresses, pod_address."""

    # Provided by `KubernetesRuntime`.
    spec: EnsembleSpec
    namespace: str
    host: str | None
    _dns_server: tuple[str, int] | None
    core: client.CoreV1Api

    def pods(self) -> list[PodInfo]:
        raise NotImplementedError

    def endpoints(self) -> list[EndpointsInfo]:
        result = []
        for service in (self.spec.headless_service.name, self.spec.client_service.name):
            found = kubeapi.call(
                f"read endpoints {self.namespace}/{service}",
                lambda service=service: kubeapi.missing(
                    lambda: self.core.read_namespaced_endpoints(service, self.namespace)
                ),
            )
            result.append(endpoints_info(service, found))
        return result

    def dns_server(self) -> tuple[str, int]:
        """The cluster DNS: the resolver a pod is given (in a pod), else kube-dns's IP."""
        if self._dns_server is not None:
            return self._dns_server
        in_a_pod = bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not self.host
        return kubeapi.cluster_dns(self.core, in_a_pod)

    def client_service_address(self, service: str | None = None) -> tuple[str, int]:
        name = service or self.spec.client_service.name
        found = kubeapi.call(
            f"read service {self.namespace}/{name}",
            lambda: self.core.read_namespaced_service(name, self.namespace),
        )
        return found.spec.cluster_ip, self.spec.client_service.port

    def pod_addresses(self) -> dict[str, tuple[str, int] | None]:
        port = self.spec.client_service.port
        return {p.name: ((p.ip, port) if p.ip else None) for p in self.pods()}

    def pod_address(self, pod: str) -> tuple[str, int]:
        address = self.pod_addresses().get(pod)
        if address is None:
            raise UsageError(f"pod {pod!r}: has no address now (not running)")
        return address
