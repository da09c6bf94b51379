"""The cluster's side of the ground truth: pod and endpoint changes, as the API shows them.

The local runtime's control plane records its own pod and endpoint changes; in a cluster
the kubelet and the endpoints controller make them, so a watcher lists the ensemble's
pods and the Services' endpoints every `period_s` and records each change as a runtime
event (`pod_exited`, `pod_started`, `pod_ready`, `pod_unready`, `endpoints`), the same
kinds the local control plane emits, so measurements and reports read both alike — plus
`container_restarted` when a container restarts in place (its restart count grew), which
only a cluster does. A change no peerchaos fault explains becomes an external fault
(`peerchaos.external`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from peerchaos.errors import PeerchaosError
from peerchaos.runtime.base import EndpointsInfo, PodInfo

Emit = Callable[..., Any]


class ClusterWatcher:
    """Polls pods and endpoints on its own thread; emits one event per change."""

    def __init__(
        self,
        pods: Callable[[], list[PodInfo]],
        endpoints: Callable[[], list[EndpointsInfo]],
        emit: Emit,
        period_s: float = 0.1,
    ) -> None:
        self.pods = pods
        self.endpoints = endpoints
        self.emit = emit
        self.period_s = period_s
        self._pods: dict[str, PodInfo] = {}
        self._endpoints: dict[str, EndpointsInfo] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self.observe()  # the first state is the baseline, not a change
        self._thread = threading.Thread(target=self._loop, daemon=True, name="kube-watcher")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            # A busy or briefly unreachable API server delays the next look, nothing more.
            with contextlib.suppress(PeerchaosError):
                self.observe()

    def observe(self) -> None:
        baseline = not self._pods and not self._endpoints
        pods = {pod.name: pod for pod in self.pods()}
        endpoints = {e.service: e for e in self.endpoints()}
        if not baseline:
            self._pod_changes(pods)
            for service, now in endpoints.items():
                if self._endpoints.get(service) != now:
                    self.emit("endpoints", **now.to_dict())
        self._pods, self._endpoints = pods, endpoints

    def _pod_changes(self, pods: dict[str, PodInfo]) -> None:
        for name in sorted(set(self._pods) | set(pods)):
            before, now = self._pods.get(name), pods.get(name)
            old_ip = before.ip if before else None
            new_ip = now.ip if now else None
            if old_ip and old_ip != new_ip:
                gone = f"pod gone from the API (watched every {self.period_s:g} s)"
                self.emit("pod_exited", pod=name, ip=old_ip, observed_by=gone)
            elif before and now and now.restarts > before.restarts:
                self.emit("container_restarted", pod=name, ip=new_ip, restarts=now.restarts)
            if new_ip and new_ip != old_ip:
                self.emit("pod_started", pod=name, ip=new_ip)
            was_ready = bool(before and before.ready and old_ip == new_ip)
            is_ready = bool(now and now.ready)
            if is_ready != was_ready and (is_ready or old_ip == new_ip):
                self.emit("pod_ready" if is_ready else "pod_unready", pod=name, ip=new_ip)
