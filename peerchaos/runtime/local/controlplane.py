"""The local control plane: StatefulSet controller, prober, endpoints controller, DNS, proxy.

One asyncio process plays the parts of Kubernetes that matter to a quorum system:
it (re)creates pods with stable names and data but new addresses, probes readiness,
publishes endpoints, serves them over DNS and forwards the client Service. Every
change is written to `runtime-events.jsonl` with its wall-clock time — the runtime's own
ground truth — and every resource to `state.json` before the next one is created.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from peerchaos.atomicfile import write_atomic
from peerchaos.errors import UsageError
from peerchaos.runtime.base import Capabilities, EndpointsInfo, PodInfo
from peerchaos.runtime.local import network as net
from peerchaos.runtime.local.dns import ClusterDNSServer
from peerchaos.runtime.local.endpoints import (
    PodView,
    dns_records,
    forwarding_backends,
    service_endpoints,
)
from peerchaos.runtime.local.forwarder import ServiceForwarder
from peerchaos.runtime.local.objects import Ensemble
from peerchaos.runtime.local.partition import apply_rules, blocked_sources, validate_groups
from peerchaos.runtime.local.pod import (
    Pod,
    hosts_file,
    prepare_files,
    process_identity,
    resolv_conf,
    signal_group,
    spawn,
)
from peerchaos.runtime.local.prober import run_prober
from peerchaos.runtime.local.state import EventLog, StateDir
from peerchaos.systems import get_system

DNS_OFFSET = 10  # kube-dns's conventional .10 in the service CIDR
SERVICE_OFFSET = 20


class ControlPlane:
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

    # -- the StatefulSet controller -------------------------------------------------

    async def reconcile_forever(self) -> None:
        while not self.stopping:
            self.wake.clear()
            delay = await self.reconcile()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), delay)

    async def reconcile(self) -> float:
        """Create missing pods; returns how long to sleep before looking again."""
        now = time.monotonic()
        delay = 1.0
        for pod in sorted(self.pods.values(), key=lambda p: p.ordinal):
            if pod.running:
                continue
            due = self.next_start.get(pod.name, 0.0)
            if due > now:
                delay = min(delay, due - now)
                if self.ensemble.ordered_ready:
                    break
                continue
            if self.ensemble.ordered_ready and any(
                not (p.running and p.ready) for p in self.pods.values() if p.ordinal < pod.ordinal
            ):
                break  # OrderedReady: never create N before 0..N-1 are Running and Ready
            await self.create(pod)
        return max(0.01, delay)

    async def create(self, pod: Pod) -> None:
        preferred = net.first_address(self.pool.cidr, pod.ordinal) if pod.incarnation == 0 else None
        pod.ip = self.pool.take(preferred)
        pod.incarnation += 1
        incarnation = pod.incarnation
        hosts = None
        bind = None
        if self.mode == "netns":
            pod.netns = self.network.netns_name(pod.name)
            self.save_state()  # the namespace is written down before it exists
            await self.on_network(self.network.add_pod, pod.name, pod.ip)
            self.network.write_pod_files(
                pod.name,
                resolv_conf(self.dns.host, self.ensemble.namespace),
                hosts_file(pod.ip, self.ensemble.pod_fqdn(pod.name), pod.name, {}),
            )
        else:
            bind = pod.ip
            hosts = self.state.pod_dir(pod.name) / "hosts"
            hosts.parent.mkdir(parents=True, exist_ok=True)
            self.write_loopback_hosts(self.dns.records.a)
        command = prepare_files(self.state, self.ensemble, pod, bind, hosts)
        pod.process = await spawn(command, self.state.log_file(pod.name), pod.netns)
        pod.started_at = time.time()
        pod.ready = False
        self.save_state()
        self.events.emit(
            "pod_started", pod=pod.name, ip=pod.ip, pid=pod.pid, incarnation=incarnation
        )
        if self.partition_groups:
            await self.apply_partition()
        marker = self.state.unready_marker(pod.name)
        pod.prober = self.spawn_task(
            run_prober(
                get_system(self.ensemble.system),
                self.ensemble.probe,
                lambda: (pod.ip or "127.0.0.1", self.ensemble.client_port),
                marker,
                lambda ready: self.set_ready(pod, incarnation, ready),
            )
        )
        self.spawn_task(self.watch(pod, pod.process, incarnation))
        self.refresh_endpoints()

    def set_ready(self, pod: Pod, incarnation: int, ready: bool) -> None:
        if pod.incarnation != incarnation or not pod.running:
            return
        pod.ready = ready
        self.events.emit("pod_ready" if ready else "pod_unready", pod=pod.name, ip=pod.ip)
        self.refresh_endpoints()
        self.wake.set()

    async def watch(self, pod: Pod, process: asyncio.subprocess.Process, incarnation: int) -> None:
        code = await process.wait()
        if pod.incarnation != incarnation:
            return
        pod.ready = False
        pod.paused = False
        if pod.prober:
            pod.prober.cancel()
        self.events.emit("pod_exited", pod=pod.name, ip=pod.ip, returncode=code)
        old_ip = pod.ip
        pod.ip = None
        self.refresh_endpoints()  # a deleted pod's endpoint goes at once
        if self.stopping:
            return
        await self.on_network(self.network.remove_pod, pod.name)
        if old_ip:
            self.pool.release(old_ip)
        pod.netns = None
        pod.restarts += 1
        self.next_start[pod.name] = time.monotonic() + self.restart_delay_s
        self.save_state()
        self.wake.set()

    # -- faults ---------------------------------------------------------------------

    def running_pod(self, name: str) -> Pod:
        if name not in self.pods:
            raise UsageError(f"pod {name!r}: no such pod (pods: {', '.join(self.pods)})")
        pod = self.pods[name]
        if not pod.running or pod.pid is None:
            raise UsageError(f"pod {name!r}: not running (phase {pod.phase})")
        return pod

    def kill(self, name: str) -> float:
        pod = self.running_pod(name)
        t = signal_group(pod.pid or 0, signal.SIGKILL)
        self.events.emit("fault", fault="kill", pod=name, ip=pod.ip, t_fault=t)
        return t

    def make_unready(self, name: str) -> float:
        pod = self.running_pod(name)
        marker = self.state.unready_marker(name)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        t = time.time()
        self.events.emit("fault", fault="unready", pod=name, ip=pod.ip, t_fault=t)
        return t

    def make_ready(self, name: str) -> float:
        if name not in self.pods:
            raise UsageError(f"pod {name!r}: no such pod (pods: {', '.join(self.pods)})")
        self.state.unready_marker(name).unlink(missing_ok=True)
        t = time.time()
        self.events.emit("heal", fault="unready", pod=name, t_heal=t)
        return t

    def pause(self, name: str) -> float:
        pod = self.running_pod(name)
        t = signal_group(pod.pid or 0, signal.SIGSTOP)
        pod.paused = True
        self.events.emit("fault", fault="pause", pod=name, ip=pod.ip, t_fault=t)
        return t

    def resume(self, name: str) -> float:
        pod = self.running_pod(name)
        t = signal_group(pod.pid or 0, signal.SIGCONT)
        pod.paused = False
        self.events.emit("heal", fault="pause", pod=name, t_heal=t)
        return t

    async def partition(self, groups: list[list[str]]) -> float:
        if self.mode != "netns":
            raise UsageError(f"partition: {self.capabilities().reasons['partition']}")
        self.partition_groups = validate_groups(groups, list(self.pods))
        await self.apply_partition()
        t = time.time()
        self.events.emit("fault", fault="partition", groups=self.partition_groups, t_fault=t)
        return t

    async def heal(self) -> float:
        was = self.partition_groups
        self.partition_groups = None
        if self.mode == "netns":
            await self.apply_partition()
        t = time.time()
        self.events.emit("heal", fault="partition", groups=was, t_heal=t)
        return t

    async def apply_partition(self) -> None:
        ips = {pod.name: pod.ip for pod in self.pods.values()}
        blocked = blocked_sources(self.partition_groups, ips) if self.partition_groups else {}
        for pod in self.pods.values():
            if pod.running and pod.netns:
                await asyncio.to_thread(apply_rules, pod.netns, blocked.get(pod.name, []))

    def endpoints_change(self, service: str, delete: bool) -> float:
        own = [svc.name for svc in self.ensemble.services]
        if service not in own:
            raise UsageError(
                f"endpoints {self.ensemble.namespace}/{service}: not one of the ensemble's "
                f"Services ({', '.join(own)}); refusing to touch it"
            )
        svc = self.ensemble.service(service)
        if svc.selector is not None:
            raise UsageError(
                f"service {service!r}: has a selector, so its Endpoints belong to the endpoints "
                "controller (only a selectorless Service's hand-written Endpoints can be deleted)"
            )
        if delete:
            self.deleted_endpoints.add(service)
        else:
            self.deleted_endpoints.discard(service)
        self.refresh_endpoints()
        t = time.time()
        kind = "fault" if delete else "heal"
        self.events.emit(kind, fault="endpoints", service=service, t_fault=t)
        return t

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
