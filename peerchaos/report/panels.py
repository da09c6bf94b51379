"""The timeline's lane panels: peers (probe, own log, zero tolerance) and DNS answers.

Drawn on axes `plots.TimelineFigure` lays out, from `timeline.Timeline` data. Every lane
of a panel is one `PolyCollection` (fast to draw and to re-frame for the zoom panels).
The peers panel has a top lane of its own for the spans of zero fault tolerance, so
they read at a glance and do not hide the peers' states; probe gaps are hatched over
the lane whose probe was silent.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.transforms import blended_transform_factory

from peerchaos.report.segments import Segment
from peerchaos.report.spans import ZERO_TOLERANCE, ProbeGap
from peerchaos.report.tables import short_name
from peerchaos.report.timeline import Timeline

PEER_COLOURS = {
    "leader": "#1a7a3a",
    "follower": "#8fd18a",
    "looking": "#f6b043",
    "unreachable": "#c8312e",
    "paused": "#7b5ea7",
    "restarting": "#9a9a9a",
}
# The own-log strip: serving states as the probe's, the rest in its own colours.
LOG_COLOURS = {
    **PEER_COLOURS,
    "syncing": "#4fb0c6",  # discovery / synchronization: not following yet
    "down": "#3a3a3a",
    "starting": "#c9c9c9",
}
DNS_COLOURS = {"current": "#a9cce3", "stale": "#e8650a", "nxdomain": "#222222", "error": "#c51b7d"}
TOLERANCE_COLOUR = "#8e1b1b"
REDUNDANCY_COLOUR = "#5b2c83"
GAP_STYLE = {"hatch": "xxxx", "edgecolors": "#555555"}


def bars(
    ax: Axes,
    lanes: list[tuple[list[Segment], float, float]],
    t0: float,
    colours: dict[str, str],
    **style: object,
) -> None:
    """All (segments, y, height) rectangles of a panel as one collection: fast to draw."""
    verts, faces = [], []
    for segments, y, height in lanes:
        for s in segments:
            x0, x1 = s.start - t0, s.end - t0
            verts.append(((x0, y), (x0, y + height), (x1, y + height), (x1, y)))
            faces.append(colours.get(s.state, "#cccccc"))
    if verts:
        ax.add_collection(
            PolyCollection(verts, facecolors=faces, linewidths=0, **style), autolim=False
        )


def empty(ax: Axes, message: str) -> None:
    """Say so in an empty panel: a blank one reads as a drawing bug."""
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=9,
        color="#59636e",
    )


def _gap_segments(gaps: list[ProbeGap], probe: str, pod: str | None) -> list[Segment]:
    return [
        Segment(g.start, g.end, "gap")
        for g in gaps
        if g.probe == probe and (pod is None or g.pod in (None, pod))
    ]


def _marks(ax: Axes, timeline: Timeline, t0: float) -> None:
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for mark in timeline.marks:
        if mark.kind == "election":
            colour, style, y, va = "#0b4d20", "--", 0.0, "bottom"
        elif mark.kind == "redundancy":
            colour, style, y, va = REDUNDANCY_COLOUR, "-.", 0.86, "top"
        else:
            continue
        ax.axvline(mark.t - t0, color=colour, linestyle=style, linewidth=1)
        ax.text(
            mark.t - t0,
            y,
            " " + mark.label,
            transform=top,
            fontsize=7,
            color=colour,
            va=va,
            clip_on=True,
        )


def peer_panel(ax: Axes, timeline: Timeline, t0: float) -> None:
    """One lane per peer (probe above, own log below), the zero-tolerance lane on top."""
    lanes = timeline.peers
    rows = [len(lanes) - 1 - i for i in range(len(lanes))]
    bars(
        ax,
        [(lane.segments, y + 0.3, 0.55) for lane, y in zip(lanes, rows, strict=True)],
        t0,
        PEER_COLOURS,
    )
    bars(
        ax,
        [(lane.log, y + 0.05, 0.18) for lane, y in zip(lanes, rows, strict=True)],
        t0,
        LOG_COLOURS,
    )
    bars(
        ax,
        [(lane.unready, y + 0.3, 0.55) for lane, y in zip(lanes, rows, strict=True)],
        t0,
        {"unready": "none"},
        hatch="////",
        edgecolors="#333333",
    )
    bars(
        ax,
        [
            (_gap_segments(timeline.gaps, "role", lane.pod), y + 0.3, 0.55)
            for lane, y in zip(lanes, rows, strict=True)
        ],
        t0,
        {"gap": "none"},
        **GAP_STYLE,
    )
    top_row = len(lanes)
    bars(
        ax,
        [(timeline.zero_tolerance, top_row + 0.2, 0.5)],
        t0,
        {ZERO_TOLERANCE: TOLERANCE_COLOUR},
    )
    ticks = [top_row + 0.45] + [y + 0.5 for y in rows]
    names = [f"zero tolerance\n(≤ {timeline.bare_majority} serving)"]
    names += [lane.pod for lane in lanes]
    ax.set_yticks(ticks, names)
    ax.get_yticklabels()[0].set_color(TOLERANCE_COLOUR)
    ax.set_ylim(0, top_row + 0.8)
    if not any(lane.segments or lane.log for lane in lanes):
        empty(ax, "no role observations and no peer-log states in this run")
    _marks(ax, timeline, t0)
    ax.set_ylabel("peers\n(thin: own log)", fontsize=8)


def dns_panel(ax: Axes, timeline: Timeline, t0: float) -> None:
    """One lane per DNS probe and name: raw answers above, through the cache below."""
    lanes = timeline.dns
    rows = [len(lanes) - 1 - i for i in range(len(lanes))]
    bars(
        ax,
        [(lane.raw, y + 0.52, 0.4) for lane, y in zip(lanes, rows, strict=True)]
        + [(lane.cached, y + 0.08, 0.4) for lane, y in zip(lanes, rows, strict=True)],
        t0,
        DNS_COLOURS,
    )
    bars(
        ax,
        [
            (_gap_segments(timeline.gaps, lane.probe, None), y + 0.08, 0.84)
            for lane, y in zip(lanes, rows, strict=True)
        ],
        t0,
        {"gap": "none"},
        **GAP_STYLE,
    )
    ax.set_yticks(
        [len(lanes) - 1 - i + 0.5 for i in range(len(lanes))],
        [f"{short_name(lane.name)} · {lane.probe}" for lane in lanes],
        fontsize=7,
    )
    ax.set_ylim(0, max(len(lanes), 1))
    ax.set_ylabel("DNS\nraw above,\ncached below", fontsize=8)
    if not lanes:
        empty(ax, "no DNS answers recorded")
