"""Probe health: gaps in what the probes watched, so a stalled probe never reads as a slow
system.

Probes write a `probe_heartbeat` every second (polls made, longest interval) and a
`probe_gap` whenever one poll interval exceeded three periods. A probe that stopped
altogether (its actor died, its process starved) leaves a silence between heartbeats;
that becomes a gap too. A figure whose measured span overlaps a gap of the probe it
comes from is flagged.
"""

from __future__ import annotations

import itertools
from typing import Any

HEARTBEAT_S = 1.0
GAP_PERIODS = 3
ROLE_FIGURES = ("election_time_s", "full_redundancy_s", "zero_tolerance_s")
DNS_FIGURES = ("dns_convergence_s", "dns_convergence_cached_s")


def _stream(e: dict[str, Any]) -> tuple[str, str | None]:
    return str(e.get("probe")), e.get("pod")


def probe_gaps(events: list[dict[str, Any]], end: float) -> list[dict[str, Any]]:
    """Every gap: reported by the probe itself, or a silence between its heartbeats."""
    gaps = [
        {"probe": e.get("probe"), "pod": e.get("pod"), "start": e["start"], "end": e["end"]}
        for e in events
        if e["kind"] == "probe_gap" and isinstance(e.get("start"), int | float)
    ]
    beats: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for e in events:
        if e["kind"] == "probe_heartbeat":
            beats.setdefault(_stream(e), []).append(e)
    for (probe, pod), stream in beats.items():
        stream.sort(key=lambda e: e["t"])
        period = float(stream[0].get("period_s") or 0.0)
        allowed = HEARTBEAT_S + GAP_PERIODS * period + 0.5
        times = [e["t"] for e in stream] + [end]
        for a, b in itertools.pairwise(times):
            if b - a > allowed:
                gaps.append({"probe": probe, "pod": pod, "start": a, "end": b, "silent": True})
    return sorted(gaps, key=lambda g: g["start"])


def has_heartbeats(events: list[dict[str, Any]]) -> bool:
    return any(e["kind"] == "probe_heartbeat" for e in events)


def _kind(gap: dict[str, Any]) -> str:
    return "dns" if str(gap.get("probe", "")).startswith("dns") else "role"


def trial_gaps(
    gaps: list[dict[str, Any]], t_fault: float, until: float, spans: dict[str, float]
) -> dict[str, Any]:
    """Gaps within the window (relative times) and the figures whose span holds one.

    `spans`: figure -> seconds from the fault its measurement covered."""
    inside = [g for g in gaps if g["end"] > t_fault and g["start"] < until]
    flagged = []
    for figure, span in spans.items():
        kind = "dns" if figure in DNS_FIGURES else "role"
        if any(_kind(g) == kind and g["start"] < t_fault + span for g in inside):
            flagged.append(figure)
    return {
        "probe_gaps": [
            {
                "probe": g.get("probe"),
                "pod": g.get("pod"),
                "from_s": g["start"] - t_fault,
                "s": g["end"] - g["start"],
                **({"silent": True} if g.get("silent") else {}),
            }
            for g in inside
        ],
        "figures_with_gaps": sorted(flagged),
    }
