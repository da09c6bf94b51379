"""The readiness prober: Kubernetes probe semantics against a real peer.

What one attempt asks is the system's (`System.local_ready`, e.g. ZooKeeper's `ruok`).

A probe runs every `period_s` after `initial_delay_s`; an attempt that takes longer
than `timeout_s` fails. `success_threshold` consecutive successes make a not-ready pod
ready, `failure_threshold` consecutive failures make a ready pod not-ready. The process
keeps running either way: only the endpoint moves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from peerchaos.runtime.local.objects import Probe
from peerchaos.systems.base import System


async def probe_once(system: System, probe: Probe, host: str, port: int, marker: Path) -> bool:
    """One probe attempt: the unready marker fails it, as in the kubernetes runtime."""
    if marker.exists():
        return False
    try:
        return await system.local_ready(probe.kind, host, port, probe.timeout_s)
    except (OSError, TimeoutError):
        return False


class ReadinessTracker:
    """Counts consecutive results and says when readiness flips."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.ready = False
        self.successes = 0
        self.failures = 0

    def record(self, ok: bool) -> bool | None:
        """Feed one result; returns the new readiness when it changed, else None."""
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if not self.ready and self.successes >= self.probe.success_threshold:
                self.ready = True
                return True
        else:
            self.failures, self.successes = self.failures + 1, 0
            if self.ready and self.failures >= self.probe.failure_threshold:
                self.ready = False
                return False
        return None


async def run_prober(
    system: System,
    probe: Probe,
    address: Callable[[], tuple[str, int]],
    marker: Path,
    on_change: Callable[[bool], None],
) -> None:
    """Probe until cancelled, calling `on_change` whenever readiness flips."""
    loop = asyncio.get_running_loop()
    tracker = ReadinessTracker(probe)
    await asyncio.sleep(probe.initial_delay_s)
    next_at = loop.time()
    while True:
        host, port = address()
        changed = tracker.record(await probe_once(system, probe, host, port, marker))
        if changed is not None:
            on_change(changed)
        # Periods are counted from probe start to probe start, as the kubelet does.
        next_at = max(next_at + probe.period_s, loop.time())
        await asyncio.sleep(max(0.0, next_at - loop.time()))
