"""The local StatefulSet controller: pods with stable names and data, new addresses.

It creates missing pods in ordinal order (OrderedReady: none before its predecessors
are Running and Ready), gives each its network identity, spawns its server and its
readiness prober, and when a pod's process exits takes its endpoint away at once and
schedules it back after `restart_delay_s`, with the same data dir but a new IP. A part
of `ControlPlane`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from peerchaos.runtime.local import network as net
from peerchaos.runtime.local.dns import ClusterDNSServer
from peerchaos.runtime.local.objects import Ensemble
from peerchaos.runtime.local.pod import Pod, hosts_file, prepare_files, resolv_conf, spawn
from peerchaos.runtime.local.prober import run_prober
from peerchaos.runtime.local.state import EventLog, StateDir
from peerchaos.systems import get_system


class StatefulSetController:
    """reconcile_forever, reconcile, create, set_ready, watch."""

    # Provided by `ControlPlane` and its other parts.
    state: StateDir
    ensemble: Ensemble
    mode: str
    restart_delay_s: float
    network: net.NodeNetwork
    pool: net.AddressPool
    pods: dict[str, Pod]
    dns: ClusterDNSServer
    partition_groups: list[list[str]] | None
    events: EventLog
    wake: asyncio.Event
    stopping: bool
    next_start: dict[str, float]
    save_state: Callable[..., None]
    on_network: Callable[..., Awaitable[Any]]
    spawn_task: Callable[[Any], asyncio.Task[Any]]
    refresh_endpoints: Callable[[], None]
    write_loopback_hosts: Callable[[dict[str, tuple[str, ...]]], None]
    apply_partition: Callable[[], Awaitable[None]]

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
