"""State segments: intervals of one state on a lane, built from change events and painted over.

Probes record changes only (a role or an answer is written when it differs from the
previous one), so a state holds from its event to the next event of the same stream;
`from_changes` turns such a stream into segments, and `paint` lets what only the
runtime knows (a restart, a pause) override what a probe saw for a while.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    state: str


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
