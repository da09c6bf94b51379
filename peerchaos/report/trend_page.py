"""The trend page of one experiment: `trend.png`, `trend.html` (self-contained), `trend.md`.

One row per run (oldest first) with its result and the p50 / p95 of every metric, the
verdict on the newest run (SLOs and the "markedly worse" rule of `trend.py`) at the top,
and the runs that were skipped, named, at the bottom. Each run links its own report.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from peerchaos.report.pages import render_html, render_markdown, write_text
from peerchaos.report.tables import clock, seconds
from peerchaos.report.trend import Finding, Rule, Skipped, Slo, TrendRun, metric_names


def _link(run: TrendRun, out_dir: Path) -> str | None:
    report = run.path / "report.html"
    return os.path.relpath(report, out_dir) if report.exists() else None


def _cell(run: TrendRun, metric: str) -> str:
    p50, p95 = run.stat(metric, "p50"), run.stat(metric, "p95")
    if p50 is None and p95 is None:
        return "—"
    return f"{seconds(p50)} / {seconds(p95)}"


def context(
    experiment: str,
    runs: list[TrendRun],
    skipped: list[Skipped],
    findings: list[Finding],
    slos: list[Slo],
    rule: Rule,
    out_dir: Path,
    figure: Path | None,
) -> dict[str, Any]:
    metrics = metric_names(runs)
    broken = [f for f in findings if f.breached]
    newest = runs[-1]
    unjudged = [f for f in findings if f.kind == "newest"]
    if unjudged:
        headline = unjudged[0].message[0].upper() + unjudged[0].message[1:]
    elif broken:
        headline = f"Newest run {newest.run_id}: {len(broken)} problem(s)"
    else:
        headline = f"Newest run {newest.run_id}: no SLO broken, not markedly worse"
    return {
        "experiment": experiment,
        "headline": headline,
        "outcome": "failed" if broken else "passed",
        "findings": findings,
        "slos": [slo.text for slo in slos],
        "rule": rule,
        "metrics": metrics,
        "runs": [
            {
                "run_id": run.run_id,
                "started": clock(run.started),
                "status": run.status,
                "result": "pass" if run.passed else "fail",
                "reasons": "; ".join(run.reasons),
                "href": _link(run, out_dir),
                "cells": [_cell(run, metric) for metric in metrics],
            }
            for run in runs
        ],
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in skipped],
        "figure": figure,
        "figure_href": os.path.relpath(figure, out_dir) if figure else None,
        "generated": clock(time.time()),
    }


def write_trend(
    experiment: str,
    runs: list[TrendRun],
    skipped: list[Skipped],
    findings: list[Finding],
    slos: list[Slo],
    rule: Rule,
    out_dir: Path,
) -> dict[str, Path]:
    """Draw the figure and write both pages into `out_dir`; returns them by file name."""
    from peerchaos.report.charts import draw_trend
    from peerchaos.report.plots import save

    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    figure: Path | None = None
    metrics = metric_names(runs)
    if metrics:
        figure = save(
            draw_trend(runs, metrics, slos, f"{experiment}: p50 and p95 per run"),
            out_dir / "trend.png",
        )
        written["trend.png"] = figure
    page = context(experiment, runs, skipped, findings, slos, rule, out_dir, figure)
    written["trend.html"] = write_text(out_dir / "trend.html", render_html("trend.html.j2", page))
    written["trend.md"] = write_text(out_dir / "trend.md", render_markdown("trend.md.j2", page))
    return written
