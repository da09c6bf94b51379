"""The runtime seam: what every runtime (local, kubernetes) can do, and what it reports.

Everything above `peerchaos/runtime/` talks to a `Runtime` only (where pods live) and to
the system seam (`peerchaos.systems`: what runs in them; `Runtime.system()` names it). A
runtime declares the faults it supports in `capabilities()`; asking for another raises
`UnsupportedFault` with a one-line reason before anything is touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

FAULTS = ("kill", "unready", "pause", "partition", "endpoints")


@dataclass(frozen=True)
class Capabilities:
    """Which faults a runtime can inject; `reasons` says why one cannot."""

    faults: frozenset[str]
    reasons: dict[str, str] = field(default_factory=dict)

    def supports(self, fault: str) -> bool:
        return fault in self.faults

    def to_dict(self) -> dict[str, Any]:
        return {"faults": sorted(self.faults), "reasons": dict(self.reasons)}


@dataclass(frozen=True)
class PodInfo:
    """One pod as the runtime sees it."""

    name: str
    ordinal: int
    ip: str | None
    phase: str  # Pending | Running | Failed (a killed pod is Pending until it is recreated)
    ready: bool
    paused: bool = False
    unready_marker: bool = False
    restarts: int = 0
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EndpointsInfo:
    """A Service's endpoints: what the endpoints controller (or a person) published."""

    service: str
    ready: tuple[str, ...]
    not_ready: tuple[str, ...]
    exists: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "exists": self.exists,
            "ready": list(self.ready),
            "not_ready": list(self.not_ready),
        }


@runtime_checkable
class Runtime(Protocol):
    """Where pods live. Faults are synchronous: they return once the fault took effect."""

    name: str

    def system(self) -> str:
        """The name of the system its pods run (`peerchaos.systems.get_system`)."""
        ...

    def capabilities(self) -> Capabilities: ...

    def apply(self, objects: list[dict[str, Any]]) -> None: ...

    def wait_ready(self, timeout_s: float) -> float: ...

    def pods(self) -> list[PodInfo]: ...

    def endpoints(self) -> list[EndpointsInfo]: ...

    def kill(self, pod: str) -> float: ...

    def make_unready(self, pod: str) -> float: ...

    def make_ready(self, pod: str) -> float: ...

    def pause(self, pod: str) -> float: ...

    def resume(self, pod: str) -> float: ...

    def partition(self, groups: list[list[str]]) -> float: ...

    def heal(self) -> float: ...

    def delete_endpoints(self, service: str) -> float: ...

    def restore_endpoints(self, service: str) -> float: ...

    def logs(self, pod: str) -> str: ...

    def dns_server(self) -> tuple[str, int]: ...

    def client_service_address(self) -> tuple[str, int]: ...

    def pod_addresses(self) -> dict[str, tuple[str, int] | None]: ...

    def pod_address(self, pod: str) -> tuple[str, int]: ...

    def teardown(self) -> list[str]: ...

    # What the layers above need besides faults: one status dict of the same shape on
    # every runtime, the runtime's own events (ground truth), the peers' logs, and a
    # plain-data locator from which an actor elsewhere opens the same runtime.

    def status(self) -> dict[str, Any]: ...

    def is_up(self) -> bool: ...

    def runtime_events(self, since: float) -> list[dict[str, Any]]: ...

    def copy_logs(self, dest: Path) -> None: ...

    def locator(self) -> dict[str, Any]: ...

    def preflight(self) -> None:
        """Refuse to start when the runtime's own safety rules say no (one line)."""

    def helper_watch(self) -> tuple[Path, int | None] | None:
        """Where to list helper processes (Ray) that the runtime ends should the driver
        die without tearing down, and a PID of its own not to list; None: no such watch."""
