"""Faults on the local runtime: kill, unready/ready, pause/resume, partition/heal, Endpoints.

Each fault is a signal to the pod's process group, a marker file its readiness probe
reads, iptables rules in the pods' network namespaces, or a hand-written Endpoints
object taken away; each is written to the runtime's event log with the moment it took
effect, and returns that moment. A part of `ControlPlane`.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

from peerchaos.errors import UsageError
from peerchaos.runtime.base import Capabilities
from peerchaos.runtime.local.objects import Ensemble
from peerchaos.runtime.local.partition import apply_rules, blocked_sources, validate_groups
from peerchaos.runtime.local.pod import Pod, signal_group
from peerchaos.runtime.local.state import EventLog, StateDir


class FaultInjector:
    """running_pod, kill, make_unready, make_ready, pause, resume, partition, heal,
    apply_partition, endpoints_change."""

    # Provided by `ControlPlane` and its other parts.
    state: StateDir
    ensemble: Ensemble
    mode: str
    pods: dict[str, Pod]
    deleted_endpoints: set[str]
    partition_groups: list[list[str]] | None
    events: EventLog
    capabilities: Callable[[], Capabilities]
    refresh_endpoints: Callable[[], None]

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
