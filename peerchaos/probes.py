"""Periodic observers: the poller every probe runs on, and the role probe.

The role probe asks what the system seam says to ask (`System.role`: ZooKeeper's `srvr`).

Both poll on an absolute schedule (start + n x period, never drifting) and record only
*changes* as timeline events, each stamped with the wall-clock and monotonic time the
answer arrived (`t`, `mono`) and when the question left (`t_sent`). Because only changes
are written, each poller also writes its health: a `probe_heartbeat` every second (polls
made, longest interval, slowest poll) and a `probe_gap` whenever a poll started more than
three periods late, so a stalled probe is never mistaken for a slow system (a poll that
waits for a silent server's timeout is an answer, not a gap). Poll intervals are kept so
jitter can be measured.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from peerchaos.events import JsonlAppender
from peerchaos.systems import get_system
from peerchaos.systems.base import System

PodAddresses = Callable[[], dict[str, tuple[str, int] | None]]


def _realtime_thread() -> bool:
    """Put the calling thread in the lowest real-time class (SCHED_FIFO 1) where allowed.

    A probe is a clock: on a busy node it must wake when its period says, not when the
    servers it watches yield the core. Its work per tick is a few packets, and the kernel
    caps real-time threads at 95% of a core, so it cannot starve the node.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (OSError, AttributeError):
        return False  # not root (or not Linux): normal scheduling
    return True


HEARTBEAT_S = 1.0
GAP_PERIODS = 3  # an interval longer than this many periods is a gap in what was watched

Health = Callable[..., None]


class Poller:
    """Calls `tick()` every `period_s` on its own thread until stopped.

    `health(kind, **fields)`, when given, receives `probe_heartbeat` and `probe_gap`."""

    def __init__(
        self, period_s: float, realtime: bool = False, health: Health | None = None
    ) -> None:
        self.period_s = period_s
        self.realtime = realtime
        self.health = health
        self.intervals: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name=type(self).__name__)
        self._thread.start()

    def _loop(self) -> None:
        if self.realtime:
            _realtime_thread()
        next_at = time.monotonic()
        last_start = None
        beat_at, polls, longest, slowest = next_at + HEARTBEAT_S, 0, 0.0, 0.0
        while not self._stop.is_set():
            started = time.monotonic()
            if last_start is not None:
                interval = started - last_start
                self.intervals.append(interval)
                longest = max(longest, interval)
            # A gap is a poll that started late — the thread did not run when due. A poll
            # that waits for a silent server (its timeout) is an answer, not a gap.
            late = started - next_at
            if late > GAP_PERIODS * self.period_s:
                self._report_gap(started, late)
            last_start = started
            polls += 1
            if started >= beat_at:
                self._report(
                    "probe_heartbeat", polls=polls, max_interval_s=longest, max_poll_s=slowest
                )
                beat_at, polls, longest, slowest = started + HEARTBEAT_S, 0, 0.0, 0.0
            self.tick()
            slowest = max(slowest, time.monotonic() - started)
            next_at += self.period_s
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()  # overran: restart the schedule, never burst

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _report(self, kind: str, **fields: Any) -> None:
        if self.health is not None:
            with contextlib.suppress(Exception):  # health must never stop the probe
                self.health(kind, period_s=self.period_s, **fields)

    def _report_gap(self, resumed_mono: float, late: float) -> None:
        now = time.time()
        end = now - (time.monotonic() - resumed_mono)
        self._report("probe_gap", start=end - late, end=end, s=late)


class _Every(Poller):
    """A poller that calls a function: one per peer, so a paused peer's timeout never
    delays the others' polls."""

    def __init__(
        self,
        period_s: float,
        action: Callable[[], None],
        realtime: bool = False,
        health: Health | None = None,
    ) -> None:
        super().__init__(period_s, realtime, health)
        self.action = action

    def tick(self) -> None:
        self.action()


class RoleProbe:
    """Asks each peer its role every period; one event whenever a peer's (mode, epoch)
    changes, with the system's `role_fields` beside them.

    Pod addresses come from the runtime (a recreated pod has a new IP) and are refreshed
    every `refresh_s` on a thread of their own.
    """

    def __init__(
        self,
        pods: PodAddresses,
        events: JsonlAppender,
        period_s: float = 0.01,
        timeout_s: float = 0.2,
        refresh_s: float = 0.1,
        realtime: bool = False,
        system: System | None = None,
    ) -> None:
        self.pods = pods
        self.events = events
        self.timeout_s = timeout_s
        self.system = system or get_system()
        self.addresses: dict[str, tuple[str, int] | None] = pods()
        self.last: dict[str, tuple[str, int | None]] = {}
        self.pollers = [
            _Every(
                period_s,
                lambda pod=pod: self.observe(pod, self.addresses.get(pod)),
                realtime,
                health=lambda kind, pod=pod, **fields: self._health(kind, pod, fields),
            )
            for pod in self.addresses
        ]
        self.refresher = _Every(refresh_s, self.refresh)

    @property
    def intervals(self) -> list[float]:
        return [i for poller in self.pollers for i in poller.intervals]

    def refresh(self) -> None:
        # When the runtime is busy the last known addresses stay.
        with contextlib.suppress(Exception):
            self.addresses = self.pods()

    def start(self) -> None:
        self.refresher.start()
        for poller in self.pollers:
            poller.start()

    def stop(self) -> None:
        for poller in [*self.pollers, self.refresher]:
            poller.stop()

    def _health(self, kind: str, pod: str, fields: dict[str, Any]) -> None:
        self.events.append(
            {
                "t": time.time(),
                "mono": time.monotonic(),
                "source": "role-probe",
                "kind": kind,
                "probe": "role",
                "pod": pod,
                **fields,
            }
        )

    def observe(self, pod: str, address: tuple[str, int] | None) -> None:
        t_sent = time.time()
        mode, epoch, detail = "unreachable", None, {}
        if address is not None:
            with contextlib.suppress(OSError):  # a system's role() answers unreachable itself
                role = self.system.role(address[0], address[1], self.timeout_s)
                mode, epoch, detail = role.mode, role.epoch, role.detail
        previous = self.last.get(pod)
        if previous is None or previous != (mode, epoch):
            self.last[pod] = (mode, epoch)
            self.events.append(
                {
                    "t": time.time(),
                    "mono": time.monotonic(),
                    "t_sent": t_sent,
                    "source": "role-probe",
                    "kind": "role",
                    "pod": pod,
                    "ip": address[0] if address else None,
                    "mode": mode,
                    "epoch": epoch,
                    **{name: detail.get(name) for name in self.system.role_fields},
                }
            )


def __getattr__(name: str) -> Any:
    # The DNS probe lives in its own module; old imports keep working.
    if name in ("DnsProbe", "query_many"):
        from peerchaos import dnsprobe

        return getattr(dnsprobe, name)
    raise AttributeError(name)
