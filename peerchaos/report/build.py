"""Writing one run's report: figures under `plots/`, `report.html` and `report.md`.

The pages come out of whatever the run directory holds. Each figure is drawn on its own:
one that cannot be drawn (no events, no trials, a broken file) becomes a note on the
page, never an exception, because the report is most needed exactly when a run went
wrong. Long runs stay readable: besides the overview, every observed trial gets a zoom
panel from just before its fault to the next fault (capped, see `ZOOM_*`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from peerchaos.progress import status
from peerchaos.report import (
    charts,
    clientops,
    distributions,
    dnsrows,
    keyfigures,
    plots,
    tables,
    trialnotes,
    trialrows,
)
from peerchaos.report.evidence import Evidence, load
from peerchaos.report.pages import render_html, render_markdown, write_text
from peerchaos.report.timeline import Timeline, build_timeline, run_span
from peerchaos.report.trialrows import AFTER_EFFECTS, fault_text, independent
from peerchaos.report.values import DASH, trial_figure
from peerchaos.report.verdict import Verdict, judge
from peerchaos.rundir import RunDir

logger = logging.getLogger("peerchaos.report")

ZOOM_BEFORE_S = 1.0  # context before the fault
ZOOM_MAX_S = 30.0  # a trial longer than this is cut (the overview still shows it whole)
ZOOM_MAX_TRIALS = 12  # beyond this many trials, the overview and tables carry the rest
OUR_PLOTS = ("timeline.png", "distributions.png", "trial-*.png")


@dataclass(frozen=True)
class FigureFile:
    name: str
    title: str
    caption: str
    path: Path  # absolute
    href: str  # relative to the run directory


def zoom_windows(
    timeline: Timeline, trials: list[dict[str, Any]]
) -> list[tuple[int, float, float]]:
    """(trial number, start, end) of each zoom panel: just before the fault to the next one."""
    windows = []
    for i, trial in enumerate(trials[:ZOOM_MAX_TRIALS], 1):
        t_fault = trial.get("t_fault")
        if not isinstance(t_fault, int | float):
            continue
        until = trial.get("until") if isinstance(trial.get("until"), int | float) else None
        end = min(until or timeline.end, t_fault + ZOOM_MAX_S)
        start = max(t_fault - ZOOM_BEFORE_S, timeline.start)  # nothing was observed before
        windows.append((i, start, max(end, t_fault + 1.0)))
    return windows


def _guarded(what: str, build: Callable[[], Any], default: Any, notes: list[str]) -> Any:
    """A part of the page, or `default` and a note when odd data breaks it."""
    try:
        return build()
    except Exception as error:  # a hand-edited or foreign summary must not cost the page
        logger.warning("peerchaos: report: %s: %s", what, error)
        notes.append(f"{what} could not be built: {type(error).__name__}: {error}")
        return default


def run_start(evidence: Evidence, observed: float | None) -> float | None:
    """When the run started (meta.json); else — or when meta.json says a time after it —
    when the observation started (`observed`)."""
    started = evidence.meta.get("started")
    if not isinstance(started, int | float) or isinstance(started, bool):
        return observed
    return float(started) if observed is None or started <= observed else observed


def _trial_caption(i: int, trial: dict[str, Any]) -> str:
    mark = f" ({AFTER_EFFECTS} after-effects)" if independent(trial) is False else ""
    parts = [f"trial {i}{mark}: {fault_text(trial.get('fault'))}"]
    election = trial_figure(trial, "election_time_s")
    if election != DASH:
        parts.append(f"new leader {trial.get('new_leader') or '?'} after {election}")
    elif trial.get("victim_re_elected"):
        parts.append("the restarted victim won the election again")
    for key, words in (
        ("full_redundancy_s", "full redundancy after {}"),
        ("zero_tolerance_s", "{} at zero tolerance"),
        ("write_recovery_s", "writes back after {}"),
    ):
        text = trial_figure(trial, key)
        if text != DASH:
            parts.append(words.format(text))
    return ", ".join(parts)


def _jobs(
    evidence: Evidence, ops: clientops.CompletedOps, notes: list[str]
) -> list[tuple[str, str, str, Callable[[], Figure]]]:
    """(name, title, caption, draw) of each figure, in page order."""
    trials = evidence.trials
    jobs: list[tuple[str, str, str, Callable[[], Figure]]] = []
    timeline = _guarded(
        "the timeline",
        lambda: build_timeline(
            evidence.events, evidence.truth, trials, evidence.replicas, evidence.system
        ),
        None,
        notes,
    )
    if timeline is not None:
        drawn: list[plots.TimelineFigure] = []
        # x is seconds since the run started, as the trials' "at" column.
        t0 = run_start(evidence, timeline.start) or timeline.start

        def overview() -> plots.TimelineFigure:
            # Drawn once, on first use; the zoom panels re-frame the same figure.
            if not drawn:
                drawn.append(plots.TimelineFigure(timeline, ops, t0, evidence.title))
            return drawn[0]

        summary = (
            f"{len(timeline.bands)} fault(s) shaded from injection to heal; the top lane "
            f"marks zero fault tolerance (at most {timeline.bare_majority} peers serving); "
            f"{len(timeline.peers)} peers (thin strip: each peer's own log), "
            f"{len(timeline.dns)} DNS lanes, {len(ops)} completed client ops"
        )
        whole = (timeline.start, timeline.end, evidence.title)
        jobs.append(
            ("timeline", "Timeline of the whole run", summary, lambda: overview().zoom(*whole))
        )
    strips = _guarded(
        "the distributions",
        lambda: distributions.drawable(distributions.strips(trials)),
        [],
        notes,
    )
    if strips:
        caption = (
            f"{len(trials)} observed trial(s); hollow diamonds are ground truth (peer logs, "
            "the runtime's DNS truth); open triangles at a bound are censored values "
            '("> X s": the trial\'s window ended first)'
        )
        jobs.append(
            (
                "distributions",
                "Across trials",
                caption,
                lambda: charts.draw_strips(strips, "Across trials: p50 and p95"),
            )
        )
    windows = [] if timeline is None else zoom_windows(timeline, trials)
    for i, start, end in windows:
        caption = _trial_caption(i, trials[i - 1])
        jobs.append(
            (
                f"trial-{i}",
                "Zoom on the fault",
                caption,
                lambda start=start, end=end, caption=caption: (  # bound now
                    overview().zoom(start, end, caption)
                ),
            )
        )
    if len(trials) > ZOOM_MAX_TRIALS:
        notes.append(f"zoom panels for the first {ZOOM_MAX_TRIALS} of {len(trials)} trials")
    return jobs


def _draw_all(
    evidence: Evidence, ops: clientops.CompletedOps, plots_dir: Path
) -> tuple[list[FigureFile], list[str]]:
    notes: list[str] = []
    figures: list[FigureFile] = []
    for name, title, caption, draw in _jobs(evidence, ops, notes):
        path = plots_dir / f"{name}.png"
        try:
            plots.save(draw(), path)
        except Exception as error:  # one broken figure must not cost the whole report
            logger.warning("peerchaos: report: figure %s: %s", name, error)
            notes.append(f"figure {name} could not be drawn: {type(error).__name__}: {error}")
            continue
        figures.append(FigureFile(name, title, caption, path, f"plots/{name}.png"))
    return figures, notes


def context(
    evidence: Evidence,
    figures: list[FigureFile],
    ops: clientops.CompletedOps,
    notes: list[str],
) -> dict[str, Any]:
    """What both page templates render."""
    # "at" counts from the run's start (as `at_s`); older summaries lack `at_s`.
    t0 = run_start(evidence, run_span(evidence.events)[0] if evidence.events else None)
    notes = list(notes)
    unjudged = Verdict("incomplete", "Incomplete: the verdict could not be judged", "unknown")
    trials = evidence.summary.get("trials") or []
    return {
        "title": evidence.title,
        "description": evidence.description,
        "experiment": evidence.experiment,
        "run_id": evidence.run.run_id,
        "verdict": _guarded(
            "the verdict",
            lambda: judge(evidence.summary, evidence.journal, evidence.status),
            unjudged,
            notes,
        ),
        "metrics": _guarded(
            "the key figures",
            lambda: keyfigures.metric_rows(evidence.summary, evidence.trials),
            [],
            notes,
        ),
        "figures": figures,
        "trials": _guarded("the trials table", lambda: trialrows.trial_rows(trials, t0), [], notes),
        "trial_legend": trialrows.LEGEND,
        "trial_notes": _guarded(
            "the trial notes",
            lambda: trialnotes.trial_notes(trials, evidence.system),
            [],
            notes,
        ),
        "dns": _guarded("the DNS table", lambda: dnsrows.dns_rows(evidence.trials), [], notes),
        "ops": clientops.counts(ops),
        "environment": _guarded("the environment", lambda: tables.environment(evidence), [], notes),
        "spec_json": tables.spec_json(evidence),
        "raw_files": tables.raw_files(evidence),
        "notes": evidence.notes + notes,
        "generated": tables.clock(time.time()),
    }


def _clear_old_plots(plots_dir: Path) -> None:
    # A regenerated report may draw fewer trials; stale zoom panels would mislead.
    for pattern in OUR_PLOTS:
        for old in plots_dir.glob(pattern):
            old.unlink(missing_ok=True)


def write_reports(run: RunDir) -> dict[str, Path]:
    """Write `plots/*.png`, `report.html` and `report.md`; return them by relative path."""
    with status(f"report: reading {run.path}") as live:
        evidence = load(run)
        plots_dir = run.path / "plots"
        plots_dir.mkdir(exist_ok=True)
        _clear_old_plots(plots_dir)
        live.update("report: drawing figures")
        ops = clientops.completed_ops(evidence.history)
        figures, notes = _draw_all(evidence, ops, plots_dir)
        live.update("report: writing pages")
        page = context(evidence, figures, ops, notes)
        html = write_text(run.path / "report.html", render_html("report.html.j2", page))
        md = write_text(run.path / "report.md", render_markdown("report.md.j2", page))
    written = {"report.html": html, "report.md": md}
    written.update({figure.href: figure.path for figure in figures})
    return written
