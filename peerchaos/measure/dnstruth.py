"""What cluster DNS *should* answer at every moment, from the runtime's own ground truth.

The expected answer of a name comes from the published endpoints and the pods' IPs the
runtime recorded (`endpoints`, `pod_started`, `pod_exited` events, and the snapshot the
observers took at their start) — never from what a probe saw — following the records
CoreDNS's kubernetes plugin serves:
- the headless name: one A record per published endpoint (ready ones, plus not-ready
  ones with publishNotReadyAddresses), NXDOMAIN when there is none;
- `<pod>.<headless>`: the pod's address while that address is published, else NXDOMAIN;
- a ClusterIP Service's name: its virtual IP, whatever its endpoints.
Addresses "no live pod holds" (for stale windows) come from the same events.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

Answer = tuple[str, tuple[str, ...]]  # (rcode, sorted addresses)
NXDOMAIN: Answer = ("NXDOMAIN", ())


@dataclass
class Timeline:
    """Piecewise-constant values: `changes` is [(t, value)] in time order."""

    changes: list[tuple[float, Any]] = field(default_factory=list)

    def at(self, t: float) -> Any:
        i = bisect_right([c[0] for c in self.changes], t)
        return self.changes[i - 1][1] if i else None

    def add(self, t: float, value: Any) -> None:
        if not self.changes or self.changes[-1][1] != value:
            self.changes.append((t, value))


@dataclass
class Cluster:
    """The names to expect, from the observers' snapshot and the run's meta."""

    namespace: str
    headless: str
    publish_not_ready: bool
    cluster_ips: dict[str, str]

    def fqdn(self, service: str) -> str:
        return f"{service}.{self.namespace}.svc.cluster.local"

    def pod_fqdn(self, pod: str) -> str:
        return f"{pod}.{self.fqdn(self.headless)}"


def cluster_from(events: list[dict[str, Any]], meta: dict[str, Any]) -> Cluster | None:
    spec = meta.get("spec") if isinstance(meta.get("spec"), dict) else {}
    snapshot = (
        next(
            (e.get("cluster") for e in events if e["kind"] == "observe_start" and e.get("cluster")),
            None,
        )
        or {}
    )
    headless = snapshot.get("headless_service") or (spec.get("headless_service") or {}).get("name")
    namespace = snapshot.get("namespace") or spec.get("namespace")
    if not headless or not namespace:
        return None
    publish = snapshot.get("publish_not_ready", spec.get("publish_not_ready_addresses", True))
    return Cluster(
        str(namespace), str(headless), bool(publish), dict(snapshot.get("cluster_ips") or {})
    )


class Truth:
    """Expected answers per name and the addresses live pods hold, over the whole run."""

    def __init__(self, events: list[dict[str, Any]], cluster: Cluster) -> None:
        self.cluster = cluster
        self.names: dict[str, Timeline] = {}
        self.live = Timeline()  # frozenset of IPs live pods hold
        self._replay(events)

    def _replay(self, events: list[dict[str, Any]]) -> None:
        pods: dict[str, str | None] = {}  # pod -> its current IP (None: not running)
        published: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {}
        snapshot = next(
            (e for e in events if e["kind"] == "observe_start" and e.get("cluster")), None
        )
        since = float("-inf")
        if snapshot is not None:
            # The snapshot holds what happened before it; replay from there.
            since = snapshot["t"]
            for pod in snapshot["cluster"].get("pods") or []:
                running = pod.get("phase") == "Running"
                pods[pod["name"]] = pod.get("ip") if running else None
            for info in snapshot["cluster"].get("endpoints") or []:
                published[info["service"]] = _endpoints(info)
            self._record(since, pods, published)
        for e in sorted(events, key=lambda e: e["t"]):
            if e.get("source") != "runtime" or e["t"] < since:
                continue
            if e["kind"] == "pod_started" and e.get("pod"):
                pods[e["pod"]] = e.get("ip")
            elif e["kind"] == "pod_exited" and e.get("pod"):
                pods[e["pod"]] = None
            elif e["kind"] == "endpoints" and e.get("service"):
                published[e["service"]] = _endpoints(e)
            else:
                continue
            self._record(e["t"], pods, published)

    def _record(
        self,
        t: float,
        pods: dict[str, str | None],
        published: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]],
    ) -> None:
        self.live.add(t, frozenset(ip for ip in pods.values() if ip))
        c = self.cluster
        headless = published.get(c.headless)
        if headless is not None:
            ready, not_ready, exists = headless
            addresses = tuple(sorted(ready + (not_ready if c.publish_not_ready else ())))
            head_answer: Answer = ("NOERROR", addresses) if exists and addresses else NXDOMAIN
            self._name(c.fqdn(c.headless)).add(t, head_answer)
            for pod, ip in pods.items():
                answer = ("NOERROR", (ip,)) if ip and ip in head_answer[1] else NXDOMAIN
                self._name(c.pod_fqdn(pod)).add(t, answer)
        for service, ip in c.cluster_ips.items():
            self._name(c.fqdn(service)).add(t, ("NOERROR", (ip,)))

    def _name(self, name: str) -> Timeline:
        return self.names.setdefault(name, Timeline())

    def expected(self, name: str, t: float) -> Answer | None:
        timeline = self.names.get(name)
        return None if timeline is None else timeline.at(t)

    def live_ips(self, t: float) -> frozenset[str]:
        return self.live.at(t) or frozenset()

    def changes_in(self, name: str, start: float, until: float) -> list[tuple[float, Answer]]:
        timeline = self.names.get(name)
        return [] if timeline is None else [c for c in timeline.changes if start < c[0] <= until]


def _endpoints(info: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    return (
        tuple(info.get("ready") or ()),
        tuple(info.get("not_ready") or ()),
        bool(info.get("exists", True)),
    )
