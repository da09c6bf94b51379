"""DNS answers as lanes: one per probe and name, raw and cached views, each answer classified.

An answer is `current`, `stale` (it holds the address of a pod that is dead at that
moment — the measure's stale window), `nxdomain` or `error` (timeout, SERVFAIL). An
answer can turn stale without a new answer when its pod dies, so segments are split at
every death; a dead address comes alive again only if a new pod is started with it.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from peerchaos.report.segments import Segment, from_changes

DNS_STATES = ("current", "stale", "nxdomain", "error")


@dataclass
class DnsLane:
    probe: str
    name: str
    raw: list[Segment]
    cached: list[Segment]


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
        # The answer's own time, then every death while it was the latest answer.
        deaths_within = times[
            bisect.bisect_right(times, answer["t"]) : bisect.bisect_left(times, until)
        ]
        cuts = [answer["t"], *deaths_within]
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
