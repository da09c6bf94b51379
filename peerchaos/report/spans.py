"""Spans drawn across the lanes: zero fault tolerance, and the probes' silent stretches.

Zero tolerance is when no more than a bare majority (`replicas // 2 + 1`) of the peers
served — one more fault would stop writes. It is read off the role probe's lanes as the
figure is (`peerchaos.measure.roles.zero_tolerance`): a peer serves while its lane says
leader or follower; a killed or paused victim does not, from the fault until it answers
again (the lanes paint it `restarting` / `paused`). Spans are cut to each trial's window,
so their total within a trial is that trial's `zero_tolerance_s`.

A probe gap (`probe_gap` events) is a stretch in which a probe did not poll: what the
lanes show there is the last answer before it, not an observation.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from typing import Any

from peerchaos.report.segments import Segment

SERVING = ("leader", "follower")
ZERO_TOLERANCE = "zero-tolerance"


@dataclass(frozen=True)
class ProbeGap:
    probe: str  # "role" or a DNS probe id ("p0")
    pod: str | None
    start: float
    end: float


def bare_majority(replicas: int) -> int:
    return replicas // 2 + 1


def _state_at(segments: list[Segment], starts: list[float], t: float) -> str | None:
    i = bisect.bisect_right(starts, t) - 1  # segments are sorted and do not overlap
    return segments[i].state if i >= 0 and t < segments[i].end else None


def zero_tolerance_spans(
    lanes: list[list[Segment]], windows: list[tuple[float, float]], replicas: int
) -> list[Segment]:
    """Where at most a bare majority of the observed peers served, within the windows."""
    observed = [segments for segments in lanes if segments]
    if not observed:
        return []
    starts = [[s.start for s in lane] for lane in observed]
    bare = bare_majority(replicas)
    spans: list[Segment] = []
    for start, until in windows:
        cuts = {start, until}
        for lane in observed:
            cuts |= {t for s in lane for t in (s.start, s.end) if start < t < until}
        for left, right in itertools.pairwise(sorted(cuts)):
            serving = sum(
                _state_at(lane, firsts, left) in SERVING
                for lane, firsts in zip(observed, starts, strict=True)
            )
            if serving > bare:
                continue
            if spans and spans[-1].end == left:
                spans[-1] = Segment(spans[-1].start, right, ZERO_TOLERANCE)
            else:
                spans.append(Segment(left, right, ZERO_TOLERANCE))
    return spans


def trial_windows(trials: list[dict[str, Any]], end: float) -> list[tuple[float, float]]:
    """Each trial's window: its fault to the next one (or the end of the observation)."""
    windows = []
    for trial in trials:
        t_fault, until = trial.get("t_fault"), trial.get("until")
        if not isinstance(t_fault, int | float) or isinstance(t_fault, bool):
            continue
        until = until if isinstance(until, int | float) and until > t_fault else end
        windows.append((float(t_fault), float(min(until, max(end, t_fault)))))
    return windows


def probe_gaps(events: list[dict[str, Any]]) -> list[ProbeGap]:
    gaps = []
    for e in events:
        start, end = e.get("start"), e.get("end")
        if e["kind"] != "probe_gap" or not isinstance(start, int | float):
            continue
        if not isinstance(end, int | float):
            end = start + (e.get("s") or 0.0)
        probe = str(e.get("probe") or "")
        # DNS pollers name themselves "dns-<probe id>"; the DNS lanes carry the id.
        gaps.append(ProbeGap(probe.removeprefix("dns-"), e.get("pod"), start, max(end, start)))
    return gaps
