"""The timeline of a run as data: one lane per peer, one per DNS probe and name, fault bands.

Drawing lives in `plots.py`; this module only decides *what* is shown, so tests can check
the figure through the data it is drawn from (DNS lanes: `dnslanes.py`).

A peer's state is what the role probe saw (leader / follower / looking / unreachable),
overridden by what only the runtime knows: `restarting` from the process's exit until
the restarted peer first answers the probe, `paused` for a SIGSTOPped peer. `unready`
(readiness failing while the process runs) is kept apart, because an unready leader is
still the leader. The peer's own log (ground truth, `peerchaos.measure.groundtruth`) is
a third, thinner strip: leader / follower only once it serves (broadcast), `syncing`
while it discovers or synchronises with a leader, `down` from the process exit the
runtime saw (a SIGKILL ends whatever the log said last), `starting` from the runtime's
process start until the new process names a state. A fault band runs from injection to
its heal; a kill has none, so its band ends when the StatefulSet's new pod is ready.
Across the lanes: each trial's zero-fault-tolerance spans and probe gaps (`spans.py`),
where each trial reached its new leader and full redundancy (`marks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from peerchaos.measure.groundtruth import log_lanes
from peerchaos.report.dnslanes import DnsLane, dns_lanes
from peerchaos.report.segments import Segment, from_changes, paint
from peerchaos.report.spans import (
    ProbeGap,
    bare_majority,
    probe_gaps,
    trial_windows,
    zero_tolerance_spans,
)
from peerchaos.systems.base import System

PEER_STATES = ("leader", "follower", "looking", "unreachable", "paused", "restarting")
MODE_STATE = {
    "leader": "leader",
    "standalone": "leader",
    "follower": "follower",
    "observer": "follower",
    "not-serving": "looking",  # ZooKeeper's answer while it looks for a leader
    "candidate": "looking",  # Raft's: standing for election, following no leader
}
LOG_STATES = ("leader", "follower", "syncing", "looking", "down", "starting")


@dataclass
class PeerLane:
    pod: str
    segments: list[Segment]
    unready: list[Segment] = field(default_factory=list)
    log: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class FaultBand:
    fault: str
    target: str
    start: float
    end: float
    ended_by: str  # "heal", "ready" (a killed peer is back) or "end" (open at the end)


@dataclass(frozen=True)
class Mark:
    t: float
    label: str
    kind: str  # "election", "redundancy" (every peer serving again) or "write"


@dataclass
class Timeline:
    start: float
    end: float
    peers: list[PeerLane]
    dns: list[DnsLane]
    bands: list[FaultBand]
    marks: list[Mark]
    zero_tolerance: list[Segment] = field(default_factory=list)
    bare_majority: int = 2
    gaps: list[ProbeGap] = field(default_factory=list)
    # How the system calls a peer that follows no leader (ZooKeeper: looking; etcd:
    # candidate); the legend's word for the `looking` state.
    looking_word: str = "looking"


def _target(fault: dict[str, Any]) -> str:
    if fault.get("pod"):
        return str(fault["pod"])
    if fault.get("groups"):
        return " | ".join(",".join(group) for group in fault["groups"])
    return str(fault.get("service") or "")


def _heals(fault: dict[str, Any], heal: dict[str, Any]) -> bool:
    if heal.get("fault") == fault.get("fault"):
        return all(heal.get(k) in (None, fault.get(k)) for k in ("pod", "groups", "service"))
    # `heal everything` is logged as a partition heal naming nothing; it ends any open fault
    # that has a heal (a kill has none: its peer comes back by itself).
    names_nothing = not any(heal.get(k) for k in ("pod", "groups", "service"))
    return names_nothing and fault.get("fault") != "kill"


def fault_bands(events: list[dict[str, Any]], end: float) -> list[FaultBand]:
    """One band per fault event, from injection to its heal (or the victim back, or the end)."""
    faults = sorted(
        (e for e in events if e["kind"] == "fault"), key=lambda e: e.get("t_fault", e["t"])
    )
    heals = [e for e in events if e["kind"] == "heal"]
    used: set[int] = set()
    bands = []
    for fault in faults:
        start = fault.get("t_fault", fault["t"])
        until, ended_by = end, "end"
        for i, heal in enumerate(heals):
            t_heal = heal.get("t_heal", heal["t"])
            if i not in used and t_heal >= start and _heals(fault, heal):
                used.add(i)
                until, ended_by = t_heal, "heal"
                break
        else:
            ready = [
                e["t"]
                for e in events
                if e["kind"] == "pod_ready" and e.get("pod") == fault.get("pod") and e["t"] > start
            ]
            if fault.get("fault") == "kill" and ready:
                until, ended_by = ready[0], "ready"
        bands.append(
            FaultBand(str(fault.get("fault")), _target(fault), start, max(until, start), ended_by)
        )
    return bands


def _pods(events: list[dict[str, Any]], truth: list[dict[str, Any]]) -> list[str]:
    pods = {e["pod"] for e in events if e.get("pod") and e["kind"] != "fault"}
    pods |= {e["pod"] for e in truth if e.get("pod")}

    def ordinal(pod: str) -> tuple[str, int]:
        stem, _, number = pod.rpartition("-")
        return (stem, int(number)) if number.isdigit() else (pod, -1)

    return sorted(pods, key=ordinal)


def peer_lane(
    pod: str,
    events: list[dict[str, Any]],
    log: list[tuple[float, str]],
    bands: list[FaultBand],
    end: float,
) -> PeerLane:
    """The pod's lane; `log` is its own log's (t, state) changes (`log_lanes`)."""
    roles = [e for e in events if e["kind"] == "role" and e.get("pod") == pod]
    mine = [e for e in events if e.get("source") == "runtime" and e.get("pod") == pod]
    changes = [(e["t"], MODE_STATE.get(str(e.get("mode")), "unreachable")) for e in roles]
    segments = from_changes(changes, end)
    died: float | None = None
    restarts = []
    for e in mine:
        if e["kind"] in ("pod_exited", "fault") and e.get("fault", "kill") == "kill":
            died = e.get("t_fault", e["t"]) if died is None else min(died, e["t"])
        elif e["kind"] == "pod_started" and died is not None:
            # Restarting until the new process first answers the role probe.
            answered = [r["t"] for r in roles if r["t"] > e["t"]]
            restarts.append((died, answered[0] if answered else e["t"]))
            died = None
    if died is not None:
        restarts.append((died, end))
    for start, until in restarts:
        segments = paint(segments, start, until, "restarting")
    for band in bands:
        if band.fault == "pause" and band.target == pod:
            segments = paint(segments, band.start, band.end, "paused")
    unready = []
    since: float | None = None
    for e in mine:
        if e["kind"] == "pod_unready" and since is None:
            since = e["t"]
        elif e["kind"] == "pod_ready" and since is not None:
            unready.append(Segment(since, e["t"], "unready"))
            since = None
    if since is not None:
        unready.append(Segment(since, end, "unready"))
    return PeerLane(pod, segments, unready, from_changes(log, end))


def marks(trials: list[dict[str, Any]]) -> list[Mark]:
    """Where each trial's new leader was first seen, every peer served again (full
    redundancy) and the first write was acknowledged."""
    found = []
    for trial in trials:
        t_fault = trial.get("t_fault")
        if not isinstance(t_fault, int | float):
            continue
        election = trial.get("election_time_s")
        if isinstance(election, int | float):
            label = f"leader {trial.get('new_leader') or '?'}"
            found.append(Mark(t_fault + election, label, "election"))
        redundancy = trial.get("full_redundancy_s")
        if isinstance(redundancy, int | float) and redundancy > 0:
            found.append(Mark(t_fault + redundancy, "full redundancy", "redundancy"))
        write = trial.get("write_recovery_s")
        if isinstance(write, int | float):
            found.append(Mark(t_fault + write, "write ok", "write"))
    return found


def run_span(events: list[dict[str, Any]]) -> tuple[float, float]:
    """From the observers' start (or the first fault, if earlier) to their stop."""
    starts = [e["t"] for e in events if e["kind"] == "observe_start"]
    stops = [e["t"] for e in events if e["kind"] == "observe_stop"]
    probed = [e["t"] for e in events if e["kind"] in ("role", "dns", "fault")]
    start = min(
        starts[:1] + [e.get("t_fault", e["t"]) for e in events if e["kind"] == "fault"],
        default=min(probed or [e["t"] for e in events]),
    )
    end = max(stops[-1:] or [e["t"] for e in events])
    return start, max(end, start)


def build_timeline(
    events: list[dict[str, Any]],
    truth: list[dict[str, Any]],
    trials: list[dict[str, Any]],
    replicas: int | None = None,
    system: System | None = None,
) -> Timeline | None:
    """The whole run's timeline; None when there are no events to draw. `replicas` (the
    spec's) sets the bare majority; without it, the number of peer lanes does. `system`
    names the logs' states (the run's; the default system when not given)."""
    if not events:
        return None
    start, end = run_span(events)
    bands = fault_bands(events, end)
    logs = log_lanes(truth, events, system)
    peers = [peer_lane(pod, events, logs.get(pod, []), bands, end) for pod in _pods(events, truth)]
    size = replicas or len(peers) or 1
    spans = zero_tolerance_spans(
        [lane.segments for lane in peers], trial_windows(trials, end), size
    )
    return Timeline(
        start,
        end,
        peers,
        dns_lanes(events, end),
        bands,
        marks(trials),
        spans,
        bare_majority(size),
        probe_gaps(events),
        system.looking_word if system is not None else "looking",
    )
