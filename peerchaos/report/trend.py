"""Trends across the runs of one experiment: p50/p95 per run, SLOs, and "markedly worse".

Scheduled jobs run the same experiment again and again; `peerchaos trend` reads every
run directory under `results/<experiment>/` and answers one question for cron: is the
newest run still good? It is not when it breaks an SLO given with `--slo`
(`METRIC.STAT OP VALUE`, e.g. `election_time_s.p95<=2`) or when it is markedly worse
than the runs before it:

    markedly worse: for some metric, the newest run's p95 is more than FACTOR (1.5) times
    the median p95 of the previous runs (the last BASELINE = 10 readable ones) and at
    least MIN_DELTA_S (0.1 s) above it, with at least MIN_PREVIOUS (3) previous runs
    holding that metric — two lucky runs are not a baseline.

The absolute margin keeps metrics that are usually zero (DNS convergence p50) from
flagging noise. The newest run must be usable: when it cannot be read (no summary.json,
torn JSON, a summary of the wrong shape) or never finished (status running /
interrupted), the job fails, naming it and why — a nightly job that died must not look
green. Older runs like that are skipped with a warning naming them. An SLO on a
metric the newest run has no value for (no election in a follower-kill experiment) is
reported as "no data", not as a breach — unless earlier runs had a value: a metric
that stops being measured (the newest run failed before its method) breaks the SLO, and
counts as markedly worse when MIN_PREVIOUS previous runs had it.
"""

from __future__ import annotations

import operator
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from peerchaos.errors import UsageError
from peerchaos.report.trendruns import (
    Skipped,
    TrendRun,
    check_shape,
    collect,
    read_run,
    unusable_newest,
)

__all__ = [
    "Finding",
    "Rule",
    "Skipped",
    "Slo",
    "TrendRun",
    "check_regressions",
    "check_shape",
    "check_slos",
    "collect",
    "metric_names",
    "parse_slo",
    "read_run",
    "unusable_newest",
]
STATS = ("p50", "p95", "max", "n")
OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
SLO_SYNTAX = re.compile(r"^\s*([A-Za-z0-9_]+)\.(p50|p95|max|n)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Slo:
    metric: str
    stat: str
    op: str
    threshold: float
    text: str

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)


@dataclass(frozen=True)
class Rule:
    """What "markedly worse" means; see the module docstring."""

    factor: float = 1.5
    min_previous: int = 3
    min_delta_s: float = 0.1
    baseline: int = 10


@dataclass(frozen=True)
class Finding:
    kind: str  # "slo", "regression", or "newest" (the newest run cannot be judged)
    metric: str
    breached: bool | None  # None: no data to judge
    message: str


def parse_slo(text: str) -> Slo:
    match = SLO_SYNTAX.match(text)
    if not match:
        raise UsageError(
            f"--slo {text!r}: expected METRIC.STAT<=VALUE (STAT one of {', '.join(STATS)}; "
            "operators <=, <, >=, >), e.g. election_time_s.p95<=2"
        )
    metric, stat, op, number = match.groups()
    try:
        threshold = float(number)
    except ValueError:
        raise UsageError(f"--slo {text!r}: {number!r} is not a number") from None
    return Slo(metric, stat, op, threshold, f"{metric}.{stat}{op}{number}")


def metric_names(runs: list[TrendRun]) -> list[str]:
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run.metrics))
    return list(names)


def _had_data(runs: list[TrendRun], metric: str, stat: str) -> bool:
    return any(run.stat(metric, stat) is not None for run in runs)


def check_slos(runs: list[TrendRun], slos: list[Slo]) -> list[Finding]:
    known = set(metric_names(runs))
    newest = runs[-1]
    findings = []
    for slo in slos:
        if slo.metric not in known:
            raise UsageError(
                f"--slo {slo.text}: no run has a metric {slo.metric} "
                f"(known: {', '.join(sorted(known))})"
            )
        value = newest.stat(slo.metric, slo.stat)
        if value is None:
            lost = _had_data(runs[:-1], slo.metric, slo.stat)
            findings.append(
                Finding(
                    "slo",
                    slo.metric,
                    True if lost else None,
                    f"SLO {slo.text}: no data in the newest run {newest.run_id}"
                    + (" although earlier runs had — BROKEN" if lost else ""),
                )
            )
            continue
        ok = slo.holds(value)
        findings.append(
            Finding(
                "slo",
                slo.metric,
                not ok,
                f"SLO {slo.text}: newest run {newest.run_id} has {value:.3f}"
                + (" — met" if ok else " — BROKEN"),
            )
        )
    return findings


def check_regressions(runs: list[TrendRun], rule: Rule) -> list[Finding]:
    """The newest run's p95 of each metric against the median of the previous runs."""
    newest, previous = runs[-1], runs[:-1]
    findings = []
    for metric in newest.metrics:
        value = newest.stat(metric, "p95")
        history = [v for run in previous if (v := run.stat(metric, "p95")) is not None]
        history = history[-rule.baseline :]
        if len(history) < rule.min_previous:
            continue
        if value is None:
            findings.append(
                Finding(
                    "regression",
                    metric,
                    True,
                    f"{metric}: no data in the newest run, the {len(history)} previous runs had "
                    "— MARKEDLY WORSE (nothing measured)",
                )
            )
            continue
        median = statistics.median(history)
        worse = value > rule.factor * median and value - median >= rule.min_delta_s
        ratio = f"{value / median:.1f}x" if median > 0 else "above"
        findings.append(
            Finding(
                "regression",
                metric,
                worse,
                f"{metric} p95 {value:.3f} s is {ratio} the median {median:.3f} s of the "
                f"{len(history)} previous runs"
                + (
                    f" — MARKEDLY WORSE (> {rule.factor:g}x and +{rule.min_delta_s:g} s)"
                    if worse
                    else ""
                ),
            )
        )
    return findings
