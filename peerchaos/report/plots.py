"""Drawing the timeline figure with matplotlib: peers, DNS answers and client ops on one axis.

Figures are built with `matplotlib.figure.Figure` (the Agg canvas), never pyplot, so
report generation holds no global state, needs no display and can run in any thread.
Time is seconds since the run's start on every panel, zoom panels included, so a moment
can be found in the overview and in the trial's own figure alike. The lane panels (peers,
DNS) are drawn by `panels.py`; this module lays the figure out and draws the client ops,
the fault bands and the legend. What is drawn comes from `timeline.py` and
`clientops.py`; nothing is computed here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from peerchaos.report.clientops import OUTCOMES, CompletedOps, throughput
from peerchaos.report.clientops import window as ops_window
from peerchaos.report.dnslanes import DNS_STATES
from peerchaos.report.panels import (
    DNS_COLOURS,
    GAP_STYLE,
    LOG_COLOURS,
    PEER_COLOURS,
    REDUNDANCY_COLOUR,
    TOLERANCE_COLOUR,
    dns_panel,
    empty,
    peer_panel,
)
from peerchaos.report.timeline import LOG_STATES, PEER_STATES, Timeline

OP_COLOURS = {"ok": "#2b7bba", "fail": "#d7301f", "info": "#f2b705"}
BAND_COLOUR = "#f4a6a6"
LATENCY_TICKS = (1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 60.0)
DPI = 100
LANE_PANELS = 2  # peers and DNS: the panels whose lanes hide the background
WIDTH_IN = 14.0


def _bands(
    axes: list[Axes], timeline: Timeline, t0: float, label_ax: Axes
) -> list[tuple[float, Text]]:
    """Shade every fault band; return each band's label with the band's start."""
    top = blended_transform_factory(label_ax.transData, label_ax.transAxes)
    labels = []
    for band in timeline.bands:
        width = max(band.end - band.start, 0.02)  # an instant fault still shows
        for i, ax in enumerate(axes):
            # Over the lanes (which cover the background) a light veil and an edge at the
            # injection; behind the client ops a plain background.
            over = i < LANE_PANELS
            ax.axvspan(
                band.start - t0,
                band.start - t0 + width,
                color=BAND_COLOUR,
                alpha=0.25 if over else 0.35,
                linewidth=0,
                zorder=5 if over else 0,
            )
            if over:
                ax.axvline(band.start - t0, color="#c0392b", linewidth=1.2, zorder=6)
        text = label_ax.text(
            band.start - t0,
            1.02,
            f"{band.fault} {band.target}",
            transform=top,
            fontsize=8,
            color="#a01010",
            ha="left",
            va="bottom",
            clip_on=False,
        )
        labels.append((band.start, text))
    return labels


def _ops_panels(
    tp_ax: Axes, lat_ax: Axes, ops: CompletedOps, timeline: Timeline, t0: float
) -> None:
    if not len(ops):
        empty(tp_ax, "no completed client operations")
    rate = throughput(ops, timeline.start, timeline.end)
    edges = rate.edges() - t0
    bottom = np.zeros(rate.bins)
    verts, faces = [], []
    for outcome in OUTCOMES:
        top = bottom + rate.counts[outcome] / rate.bin_s
        # Stacked bars as one collection: `stairs` walks every vertex to update the limits.
        for i in np.flatnonzero(rate.counts[outcome]):
            x0, x1 = edges[i], edges[i + 1]
            verts.append(((x0, bottom[i]), (x0, top[i]), (x1, top[i]), (x1, bottom[i])))
            faces.append(OP_COLOURS[outcome])
        bottom = top
    if verts:
        tp_ax.add_collection(PolyCollection(verts, facecolors=faces, linewidths=0), autolim=False)
    tp_ax.set_ylim(0, max(float(bottom.max(initial=0.0)) * 1.1, 1.0))
    tp_ax.set_ylabel("ops/s\n(100 ms bins)", fontsize=8)
    top = blended_transform_factory(tp_ax.transData, tp_ax.transAxes)
    for mark in timeline.marks:
        if mark.kind == "write":
            tp_ax.axvline(mark.t - t0, color="#174a7c", linestyle=":", linewidth=1)
            tp_ax.text(
                mark.t - t0,
                0.98,
                " write ok",
                transform=top,
                fontsize=7,
                va="top",
                color="#174a7c",
                clip_on=True,
            )
    for outcome in OUTCOMES:
        chosen = ops.outcome == outcome
        if chosen.any():
            lat_ax.scatter(
                ops.t[chosen] - t0,
                np.maximum(ops.latency_s[chosen], 1e-4),
                s=4,
                color=OP_COLOURS[outcome],
                linewidths=0,
                rasterized=True,
            )
    lat_ax.set_yscale("log")
    # Plain labels: easier to read than 10^-3, and no mathtext layout per tick.
    lat_ax.yaxis.set_major_locator(FixedLocator(LATENCY_TICKS))
    lat_ax.yaxis.set_major_formatter(FuncFormatter(_latency_label))
    lat_ax.yaxis.set_minor_locator(NullLocator())
    lat_ax.set_ylim(1e-4 * 0.8, max(10.0, float(ops.latency_s.max(initial=0.0)) * 1.5))
    lat_ax.set_ylabel("latency", fontsize=8)


def _latency_label(value: float, _pos: int) -> str:
    return f"{value * 1000:g} ms" if value < 1 else f"{value:g} s"


def _legend(fig: Figure, looking_word: str = "looking") -> None:
    def word(state: str) -> str:
        return looking_word if state == "looking" else state

    handles = [Patch(color=PEER_COLOURS[s], label=word(s)) for s in PEER_STATES]
    handles.append(Patch(facecolor="white", edgecolor="#333333", hatch="////", label="unready"))
    handles += [
        Patch(color=LOG_COLOURS[s], label=f"log: {word(s)}")
        for s in LOG_STATES
        if s not in PEER_STATES
    ]
    handles += [Patch(color=DNS_COLOURS[s], label=f"DNS {s}") for s in DNS_STATES]
    handles += [Patch(color=OP_COLOURS[o], label=f"op {o}") for o in OUTCOMES]
    handles.append(Patch(color=BAND_COLOUR, alpha=0.5, label="fault → heal"))
    handles.append(Patch(color=TOLERANCE_COLOUR, label="zero fault tolerance"))
    handles.append(Line2D([], [], color=REDUNDANCY_COLOUR, linestyle="-.", label="full redundancy"))
    handles.append(
        Patch(
            facecolor="white",
            label="probe gap",
            hatch=GAP_STYLE["hatch"],
            edgecolor=GAP_STYLE["edgecolors"],
        )
    )
    fig.legend(handles=handles, loc="lower center", ncol=10, fontsize=8, frameon=False)


class TimelineFigure:
    """The whole run drawn once; zoom panels re-frame it rather than draw it again.

    Drawing the lanes and axes costs as much as rendering them, so each trial's zoom
    panel only moves the x-limits, the title and the band labels, and is saved again.
    """

    def __init__(self, timeline: Timeline, ops: CompletedOps, t0: float, title: str) -> None:
        self.timeline, self.t0 = timeline, t0
        ops = ops_window(ops, timeline.start, timeline.end)
        heights = [max(len(timeline.peers), 1) * 0.42, max(len(timeline.dns), 4) * 0.24, 1.1, 1.3]
        total = sum(heights) + 1.85
        fig = self.figure = Figure(figsize=(WIDTH_IN, total), dpi=DPI)
        grid = fig.add_gridspec(
            4,
            1,
            height_ratios=heights,
            hspace=0.12,
            left=0.14,
            right=0.985,
            top=1 - 0.55 / total,
            bottom=1.2 / total,
        )
        peers_ax = fig.add_subplot(grid[0])
        axes = [peers_ax] + [fig.add_subplot(grid[i], sharex=peers_ax) for i in (1, 2, 3)]
        self.axes = axes
        peer_panel(axes[0], timeline, t0)
        dns_panel(axes[1], timeline, t0)
        _ops_panels(axes[2], axes[3], ops, timeline, t0)
        self.band_labels = _bands(axes, timeline, t0, peers_ax)
        for ax in axes[:-1]:
            ax.tick_params(labelbottom=False)
        for ax in axes:
            ax.tick_params(labelsize=8)
            ax.grid(axis="x", color="#dddddd", linewidth=0.5)
            ax.set_axisbelow(True)
        axes[-1].set_xlabel("seconds since the run started", fontsize=9)
        self.title = fig.suptitle(title, fontsize=11, x=0.14, ha="left", y=1 - 0.08 / total)
        _legend(fig, timeline.looking_word)
        self.zoom(timeline.start, timeline.end, title)

    def zoom(self, start: float, end: float, title: str) -> Figure:
        """The figure framed on [start, end] (wall clock), titled `title`."""
        self.axes[0].set_xlim(start - self.t0, end - self.t0)
        self.title.set_text(title)
        for band_start, label in self.band_labels:
            # A band cut by the left edge (or starting at the right one) is named elsewhere.
            label.set_visible(start <= band_start < end - 0.02 * (end - start))
        return self.figure


def draw_timeline(timeline: Timeline, ops: CompletedOps, t0: float, title: str) -> Figure:
    """Peers, DNS lanes, throughput and latency over `timeline`'s span."""
    return TimelineFigure(timeline, ops, t0, title).figure


def save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fast zlib level: the encoder was a tenth of the report's time at the default level.
    fig.savefig(path, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return path
