"""The local control plane: StatefulSet controller, prober, endpoints controller, DNS, proxy.

One asyncio process plays the parts of Kubernetes that matter to a quorum system:
it (re)creates pods with stable names and data but new addresses, probes readiness,
publishes endpoints, serves them over DNS and forwards the client Service. Every
change is written to `runtime-events.jsonl` with its wall-clock time — the runtime's own
ground truth — and every resource to `state.json` before the next one is created.

The parts are mixins, one concept each: `statefulset.StatefulSetController` (pods),
`faults.FaultInjector` (faults and their heals) and `publisher.EndpointsPublisher`
(Endpoints, DNS records, the proxy's backends); this module holds what they share — the
ensemble's addresses, the state written down, the life cycle and the status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from peerchaos.runtime.base import Capabilities, EndpointsInfo, PodInfo
from peerchaos.runtime.local import network as net
from peerchaos.runtime.local.dns import ClusterDNSServer
from peerchaos.runtime.local.faults import FaultInjector
from peerchaos.runtime.local.forwarder import ServiceForwarder
from peerchaos.runtime.local.objects import Ensemble
from peerchaos.runtime.local.pod import Pod, process_identity, signal_group
from peerchaos.runtime.local.publisher import EndpointsPublisher
from peerchaos.runtime.local.state import EventLog, StateDir
from peerchaos.runtime.local.statefulset import StatefulSetController

DNS_OFFSET = 10  # kube-dns's conventional .10 in the service CIDR
SERVICE_OFFSET = 20


class ControlPlane(StatefulSetController, FaultInjector, EndpointsPublisher):
    """Owns the pods of one ensemble and everything that follows from them."""

    def __init__(self, state: StateDir, ensemble: Ensemble, options: dict[str, Any]) -> None:
        self.state = state
        self.ensemble = ensemble
        self.mode = options["mode"]
        self.restart_delay_s = float(options.get("restart_delay_s", 0.5))
        self.owner: dict[str, float] | None = options.get("owner")
        uid = net.short_id(state.root)
        cidr = options["pod_cidr"] if self.mode == "netns" else options["loopback_cidr"]
        service_cidr = options["service_cidr"] if self.mode == "netns" else options["loopback_cidr"]
        self.network = net.NodeNetwork(self.mode, uid, cidr, service_cidr)
        self.pool = net.AddressPool(cidr, first_offset=10, next_offset=10 + ensemble.replicas)
        self.pods = {name: Pod(name, i) for i, name in enumerate(ensemble.pod_names())}
        self.cluster_ips = {
            svc.name: self.network.service_ip(SERVICE_OFFSET + i)
            for i, svc in enumerate(ensemble.client_services)
        }
        dns_ip = self.network.service_ip(DNS_OFFSET if self.mode == "netns" else 2)
        headless_ttl = ensemble.service(ensemble.service_name).ttl_s
        # Root binds the real DNS port; the loopback mode cannot, so it takes a free one.
        self.dns = ClusterDNSServer(
            dns_ip, 53 if self.mode == "netns" else 0, default_ttl=headless_ttl
        )
        self.forwarders = {
            svc.name: ServiceForwarder(self.cluster_ips[svc.name], port)
            for svc in ensemble.client_services
            for _, port in svc.ports[:1]
        }
        self.endpoints: dict[str, EndpointsInfo] = {}
        self.deleted_endpoints: set[str] = set()
        self.partition_groups: list[list[str]] | None = None
        self.events = EventLog(state.events_file)
        self.wake = asyncio.Event()
        self.stopping = False
        self.next_start: dict[str, float] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        # Namespace and link changes run in threads, which a cancelled task does not stop;
        # holding this lock, teardown waits for one in flight instead of racing it.
        self.network_lock = threading.Lock()

    # -- bookkeeping ---------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        faults = {"kill", "unready", "pause", "endpoints"}
        reasons = {}
        if self.mode == "netns":
            faults.add("partition")
        else:
            reasons["partition"] = "partitions need root (network namespaces and iptables)"
        return Capabilities(frozenset(faults), reasons)

    def save_state(self, status: str = "running") -> None:
        pods = {
            pod.name: {
                "pid": pod.pid,
                "created": process_identity(pod.pid) if pod.pid else None,
                "ip": pod.ip,
                "netns": pod.netns,
            }
            for pod in self.pods.values()
        }
        self.state.write(
            {
                "status": status,
                "mode": self.mode,
                "uid": self.network.uid,
                "bridge": self.network.bridge if self.mode == "netns" else None,
                "control_plane": {"pid": os.getpid(), "created": process_identity(os.getpid())},
                "dns": [self.dns.host, self.dns.port],
                "cluster_ips": self.cluster_ips,
                "pods": pods,
                "namespace": self.ensemble.namespace,
                "capabilities": self.capabilities().to_dict(),
            }
        )

    async def on_network(self, change: Callable[..., Any], *args: Any) -> Any:
        """Run a network change in a thread, one at a time."""

        def locked() -> Any:
            with self.network_lock:
                return change(*args)

        return await asyncio.to_thread(locked)

    def spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- status ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        pods = [
            PodInfo(
                name=p.name,
                ordinal=p.ordinal,
                ip=p.ip,
                phase=p.phase,
                ready=p.ready,
                paused=p.paused,
                unready_marker=self.state.unready_marker(p.name).exists(),
                restarts=p.restarts,
                pid=p.pid,
            ).to_dict()
            for p in sorted(self.pods.values(), key=lambda p: p.ordinal)
        ]
        return {
            "mode": self.mode,
            "system": self.ensemble.system,
            "namespace": self.ensemble.namespace,
            "headless_service": self.ensemble.service_name,
            "client_port": self.ensemble.client_port,
            "pods": pods,
            "endpoints": [info.to_dict() for info in self.endpoints.values()],
            "dns": [self.dns.host, self.dns.port],
            "cluster_ips": self.cluster_ips,
            "forwarded": {name: dict(f.forwarded) for name, f in self.forwarders.items()},
            "backends": {name: f.backends for name, f in self.forwarders.items()},
            "partition": self.partition_groups,
            "capabilities": self.capabilities().to_dict(),
        }

    # -- life cycle -----------------------------------------------------------------

    async def start(self) -> None:
        self.save_state("starting")
        service_ips = [self.dns.host, *self.cluster_ips.values()]
        await self.on_network(self.network.setup, service_ips)
        await self.dns.start()
        for forwarder in self.forwarders.values():
            await forwarder.start()
        self.refresh_endpoints()
        self.save_state("running")
        self.events.emit("control_plane_started", mode=self.mode)
        self.spawn_task(self.reconcile_forever())

    async def stop(self) -> None:
        """Kill every pod, remove namespaces and the bridge, close DNS and the proxy."""
        self.stopping = True
        self.wake.set()
        self.save_state("stopping")
        # The controller first: a pod it is creating right now is either not spawned
        # (cancelling the spawn kills the child) or already in `pod.process`, so the
        # kills below reach every process — none starts after them.
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for pod in self.pods.values():
            if pod.running and pod.pid:
                with contextlib.suppress(ProcessLookupError):
                    signal_group(pod.pid, signal.SIGKILL)
        for pod in self.pods.values():
            if pod.process is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pod.process.wait(), 5)
        for forwarder in self.forwarders.values():
            await forwarder.stop()
        await self.dns.stop()
        await self.on_network(self.network.teardown, list(self.pods))
        self.events.emit("control_plane_stopped")
        self.events.close()
