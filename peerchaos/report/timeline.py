"""The timeline of a run as data: one lane per peer, one per DNS probe and name, fault bands.

Drawing lives in `plots.py`; this module only decides *what* is shown, so tests can check
the figure through the data it is drawn from. Probes record changes only (a role or an
answer is written when it differs from the previous one), so a state holds from its event
to the next event of the same stream.

- A peer's state is what the role probe saw (leader / follower / looking / unreachable),
  overridden by what only the runtime knows: `restarting` from the process's exit until
  the restarted peer first answers the probe, `paused` for a SIGSTOPped peer. `unready`
  (readiness failing while the process runs) is kept apart, because an unready leader is
  still the leader. The peer's own log (ground truth) is a third, thinner strip.
- A DNS answer is `current`, `stale` (it holds the address of a pod that is dead at that
  moment: the measure's stale window), `nxdomain` or `error` (timeout, SERVFAIL). An
  answer can turn stale without a new answer when its pod dies, so segments are split at
  every death.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

PEER_STATES = ("leader", "follower", "looking", "unreachable", "paused", "restarting")
DNS_STATES = ("current", "stale", "nxdomain", "error")
MODE_STATE = {
    "leader": "leader",
    "standalone": "leader",
    "follower": "follower",
    "observer": "follower",
    "not-serving": "looking",  # ZooKeeper's answer while it looks for a leader
}
LOG_STATE = {
    "leading": "leader",
    "following": "follower",
    "observing": "follower",
    "looking": "looking",
}


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    state: str


@dataclass
class PeerLane:
    pod: str
    segments: list[Segment]
    unready: list[Segment] = field(default_factory=list)
    log: list[Segment] = field(default_factory=list)


@dataclass
class DnsLane:
    probe: str
    name: str
    raw: list[Segment]
    cached: list[Segment]


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
    kind: str  # "election" or "write"


@dataclass
class Timeline:
    start: float
    end: float
    peers: list[PeerLane]
    dns: list[DnsLane]
    bands: list[FaultBand]
    marks: list[Mark]

    def window(self, start: float, end: float) -> Timeline:
        """The part of the timeline within [start, end] (a zoom panel)."""
        return Timeline(
            start=start,
            end=end,
            peers=[
                replace(
                    lane,
                    segments=clip(lane.segments, start, end),
                    unready=clip(lane.unready, start, end),
                    log=clip(lane.log, start, end),
                )
                for lane in self.peers
            ],
            dns=[
                replace(lane, raw=clip(lane.raw, start, end), cached=clip(lane.cached, start, end))
                for lane in self.dns
            ],
            bands=[
                replace(b, start=max(b.start, start), end=min(b.end, end))
                for b in self.bands
                if b.end >= start and b.start <= end
            ],
            marks=[m for m in self.marks if start <= m.t <= end],
        )


def clip(segments: list[Segment], start: float, end: float) -> list[Segment]:
    return [
        replace(s, start=max(s.start, start), end=min(s.end, end))
        for s in segments
        if s.end > start and s.start < end
    ]


def from_changes(changes: list[tuple[float, str]], end: float) -> list[Segment]:
    """Segments from (time, state) changes, each held until the next; equal states merged."""
    segments: list[Segment] = []
    for i, (t, state) in enumerate(changes):
        until = changes[i + 1][0] if i + 1 < len(changes) else max(end, t)
        if segments and segments[-1].state == state and segments[-1].end >= t:
            segments[-1] = replace(segments[-1], end=until)
        elif until > t:
            segments.append(Segment(t, until, state))
    return segments


def paint(segments: list[Segment], start: float, end: float, state: str) -> list[Segment]:
    """`segments` with [start, end] overwritten by `state`."""
    kept = [s for s in segments if s.end <= start or s.start >= end]
    cut = [s for s in segments if s.end > start and s.start < end]
    pieces = [replace(s, end=start) for s in cut if s.start < start]
    pieces += [replace(s, start=end) for s in cut if s.end > end]
    return sorted([*kept, *pieces, Segment(start, end, state)], key=lambda s: s.start)


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
    truth: list[dict[str, Any]],
    bands: list[FaultBand],
    end: float,
) -> PeerLane:
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
    log_changes = [
        (e["t"], LOG_STATE[e["state"]])
        for e in truth
        if e.get("pod") == pod and e.get("kind") == "peer_state" and e.get("state") in LOG_STATE
    ]
    return PeerLane(pod, segments, unready, from_changes(log_changes, end))


def dead_ip_changes(events: list[dict[str, Any]]) -> list[tuple[float, str, bool]]:
    """(time, ip, dead?) — a killed pod's address is dead from the kill until it is reused."""
    changes = []
    for e in events:
        if not e.get("ip"):
            continue
        if e["kind"] == "fault" and e.get("fault") == "kill":
            changes.append((e.get("t_fault", e["t"]), e["ip"], True))
        elif e["kind"] == "pod_exited":
            changes.append((e["t"], e["ip"], True))
        elif e["kind"] == "pod_started":
            changes.append((e["t"], e["ip"], False))
    return sorted(changes)


def answer_state(answer: dict[str, Any], dead: set[str]) -> str:
    rcode = answer.get("rcode")
    if rcode == "NXDOMAIN":
        return "nxdomain"
    if rcode != "NOERROR":
        return "error"
    return "stale" if dead & set(answer.get("addresses") or []) else "current"


def answer_segments(
    answers: list[dict[str, Any]], deaths: list[tuple[float, str, bool]], end: float
) -> list[Segment]:
    times = [t for t, _, _ in deaths]
    changes: list[tuple[float, str]] = []
    for i, answer in enumerate(answers):
        until = answers[i + 1]["t"] if i + 1 < len(answers) else end
        cuts = [answer["t"]] + times[
            bisect.bisect_right(times, answer["t"]) : bisect.bisect_left(times, until)
        ]
        for t in cuts:
            dead: set[str] = set()
            for when, ip, is_dead in deaths:
                if when > t:
                    break
                (dead.add if is_dead else dead.discard)(ip)
            changes.append((t, answer_state(answer, dead)))
    return from_changes(changes, end)


def dns_lanes(events: list[dict[str, Any]], end: float) -> list[DnsLane]:
    deaths = dead_ip_changes(events)
    streams: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for e in events:
        if e["kind"] == "dns" and e.get("name"):
            streams[(e["name"], str(e.get("probe")))][str(e.get("view", "raw"))].append(e)
    # Names in the order the probes first asked them (headless, pods, Services), then probes.
    return [
        DnsLane(
            probe,
            name,
            answer_segments(views["raw"], deaths, end),
            answer_segments(views["cached"], deaths, end),
        )
        for (name, probe), views in streams.items()
    ]


def marks(trials: list[dict[str, Any]]) -> list[Mark]:
    found = []
    for trial in trials:
        t_fault = trial.get("t_fault")
        if t_fault is None:
            continue
        if trial.get("election_time_s") is not None:
            label = f"leader {trial.get('new_leader') or '?'}"
            found.append(Mark(t_fault + trial["election_time_s"], label, "election"))
        if trial.get("write_recovery_s") is not None:
            found.append(Mark(t_fault + trial["write_recovery_s"], "write ok", "write"))
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
    events: list[dict[str, Any]], truth: list[dict[str, Any]], trials: list[dict[str, Any]]
) -> Timeline | None:
    """The whole run's timeline; None when there are no events to draw."""
    if not events:
        return None
    start, end = run_span(events)
    bands = fault_bands(events, end)
    peers = [peer_lane(pod, events, truth, bands, end) for pod in _pods(events, truth)]
    return Timeline(start, end, peers, dns_lanes(events, end), bands, marks(trials))
