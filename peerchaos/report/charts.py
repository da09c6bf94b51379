"""Drawing the across-trials strip chart and the across-runs trend chart.

Like `plots.py`, these draw data built elsewhere (`distributions.py`, `trend.py`) on a
bare Agg `Figure`. Ground-truth strips are hollow and grey so a measured strip and the
reference it is judged against read as a pair; censored values are open triangles at
their lower bound, never a dot at a value they did not reach.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from peerchaos.measure.stats import Value
from peerchaos.report.distributions import Strip
from peerchaos.report.values import value_text

if TYPE_CHECKING:
    from peerchaos.report.trend import Slo, TrendRun

GROUP_COLOURS = {
    "election": "#1a7a3a",
    "redundancy": "#8e1b1b",
    "clients": "#2b7bba",
    "dns": "#e8650a",
}
TRUTH_COLOUR = "#6b6b6b"
DPI = 100


def _tick(ax: Axes, value: Value | None, y: float, style: str, width: float) -> None:
    """A p50 / p95 tick; a censored statistic sits at its bound with a ">"."""
    if value is None:
        return
    x = value.at_least if value.censored else value.s
    if x is None:
        return
    ax.plot(
        [x] * 2, [y - 0.34, y + 0.34], color="black", linewidth=width, linestyle=style, zorder=4
    )
    if value.censored:
        ax.text(x, y + 0.36, ">", fontsize=9, ha="left", va="bottom", color="black", zorder=4)


def draw_strips(strips: list[Strip], title: str) -> Figure:
    """One row per strip: every trial's value, p50 (solid tick) and p95 (dashed tick).

    A censored value (the trial's window ended first) is an open triangle pointing right
    at its lower bound; a censored p50 / p95 carries a ">" and reads "> X s".
    """
    height = 0.55 * len(strips) + 1.4
    fig = Figure(figsize=(14, height), dpi=DPI)
    ax = fig.add_axes((0.2, 0.9 / height, 0.54, 1 - 1.35 / height))
    rng = np.random.default_rng(0)  # fixed jitter: the same run draws the same picture
    rows = len(strips)
    for i, strip in enumerate(strips):
        y = rows - 1 - i
        colour = TRUTH_COLOUR if strip.truth else GROUP_COLOURS.get(strip.group, "#444444")
        reached, bounds = strip.reached, strip.censored
        if strip.truth:
            ax.scatter(
                reached,
                y + rng.uniform(-0.18, 0.18, len(reached)),
                s=36,
                marker="D",
                facecolors="none",
                edgecolors=colour,
                linewidths=1.2,
                zorder=3,
            )
        else:
            ax.scatter(
                reached,
                y + rng.uniform(-0.18, 0.18, len(reached)),
                s=30,
                color=colour,
                alpha=0.8,
                linewidths=0,
                zorder=3,
            )
        if bounds:
            ax.scatter(
                bounds,
                y + rng.uniform(-0.18, 0.18, len(bounds)),
                s=60,
                marker=">",
                facecolors="white",
                edgecolors=colour,
                linewidths=1.3,
                zorder=3,
            )
        _tick(ax, strip.p50, y, "-", 2.0)
        _tick(ax, strip.p95, y, "--", 1.5)
        counted = f"n={strip.n}" + (f" ({len(bounds)} censored)" if bounds else "")
        text = f"{counted}  p50 {value_text(strip.p50)}  p95 {value_text(strip.p95)}"
        ax.text(
            1.01, y, text, transform=ax.get_yaxis_transform(), va="center", fontsize=9, color=colour
        )
        if i + 1 < rows and strips[i + 1].group != strip.group:
            ax.axhline(y - 0.5, color="#bbbbbb", linewidth=0.8)
    ax.set_yticks([rows - 1 - i for i in range(rows)], [s.label for s in strips], fontsize=9)
    ax.set_ylim(-0.6, rows - 0.4)
    lowest = [x for s in strips for x in (*s.reached, *s.censored)]
    ax.set_xlim(left=min(0.0, *lowest) - 0.05 if lowest else -0.05)
    ax.set_xlabel("seconds after the fault", fontsize=9)
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    handles = [
        Line2D([], [], color="black", linewidth=2, label="p50"),
        Line2D([], [], color="black", linewidth=1.5, linestyle="--", label="p95"),
        Line2D(
            [],
            [],
            marker="D",
            color=TRUTH_COLOUR,
            markerfacecolor="none",
            linestyle="",
            label="ground truth",
        ),
        Line2D(
            [],
            [],
            marker=">",
            color="#444444",
            markerfacecolor="white",
            linestyle="",
            label="censored (> bound)",
        ),
    ]
    fig.legend(handles=handles, loc="lower right", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11, x=0.02, ha="left")
    return fig


def draw_trend(runs: list[TrendRun], metrics: list[str], slos: list[Slo], title: str) -> Figure:
    """One panel per metric: p50 and p95 of each run over time, failed runs marked."""
    panels = max(len(metrics), 1)
    height = 1.7 * panels + 1.3
    fig = Figure(figsize=(12, height), dpi=DPI)
    fig.subplots_adjust(
        left=0.07, right=0.98, top=1 - 0.75 / height, bottom=0.7 / height, hspace=0.35
    )
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    when = [datetime.fromtimestamp(run.started, UTC) for run in runs]
    failed = [i for i, run in enumerate(runs) if not run.passed]
    for ax, metric in zip(axes, metrics, strict=False):
        for stat, style, colour in (("p50", "-o", "#2b7bba"), ("p95", "--s", "#1a3a5a")):
            values = [run.stat(metric, stat) for run in runs]
            ys = np.array([np.nan if v is None else v for v in values], dtype=float)
            ax.plot(when, ys, style, markersize=4, linewidth=1.2, color=colour)
            ax.scatter(
                [when[i] for i in failed], ys[failed], marker="x", s=60, color="#c8312e", zorder=5
            )
        for slo in slos:
            if slo.metric == metric:
                ax.axhline(slo.threshold, color="#c8312e", linestyle=":", linewidth=1.2)
                ax.text(
                    1.0,
                    slo.threshold,
                    f" SLO {slo.stat}{slo.op}{slo.threshold:g}",
                    transform=ax.get_yaxis_transform(),
                    fontsize=7,
                    color="#c8312e",
                    va="bottom",
                    ha="right",
                )
        ax.set_title(metric, loc="left", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(color="#eeeeee", linewidth=0.5)
    axes[-1].set_xlabel("run start (UTC)", fontsize=9)
    for label in axes[-1].get_xticklabels():
        label.set_rotation(20)
        label.set_horizontalalignment("right")
    handles = [
        Line2D([], [], color="#2b7bba", marker="o", markersize=4, label="p50"),
        Line2D([], [], color="#1a3a5a", marker="s", markersize=4, linestyle="--", label="p95"),
        Line2D([], [], color="#c8312e", marker="x", linestyle="", label="failed run"),
        Line2D([], [], color="#c8312e", linestyle=":", label="SLO"),
    ]
    fig.legend(handles=handles, loc="upper right", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11, x=0.07, ha="left", y=1 - 0.12 / height)
    return fig
