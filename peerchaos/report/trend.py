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
flagging noise. Runs that cannot be read (no summary.json, broken JSON) or never finished
(status running / interrupted) are skipped with a warning naming them. An SLO on a
metric the newest run has no value for (no election in a follower-kill experiment) is
reported as "no data", not as a breach — unless earlier runs had a value: a metric
that stops being measured (the newest run failed before its method) breaks the SLO, and
counts as markedly worse when MIN_PREVIOUS previous runs had it.
"""

from __future__ import annotations

import json
import operator
import re
import statistics
from calendar import timegm
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peerchaos.errors import UsageError

UNFINISHED = ("running", "interrupted")
STATS = ("p50", "p95", "max", "n")
OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
SLO_SYNTAX = re.compile(r"^\s*([A-Za-z0-9_]+)\.(p50|p95|max|n)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
RUN_ID_TIME = re.compile(r"^(\d{8}T\d{6})Z")


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


@dataclass
class TrendRun:
    path: Path
    run_id: str
    started: float
    status: str
    passed: bool
    metrics: dict[str, dict[str, Any]]
    reasons: list[str] = field(default_factory=list)

    def stat(self, metric: str, stat: str) -> float | None:
        value = (self.metrics.get(metric) or {}).get(stat)
        return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass(frozen=True)
class Finding:
    kind: str  # "slo" or "regression"
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


def _started(path: Path, run_id: str, meta: dict[str, Any]) -> float:
    if isinstance(meta.get("started"), int | float):
        return float(meta["started"])
    if match := RUN_ID_TIME.match(run_id):
        return float(timegm(_utc_fields(match.group(1))))
    return (path / "summary.json").stat().st_mtime


def _utc_fields(stamp: str) -> tuple[int, ...]:
    # "20261126T215121" → (2026, 11, 26, 21, 51, 21)
    return (
        int(stamp[0:4]),
        int(stamp[4:6]),
        int(stamp[6:8]),
        int(stamp[9:11]),
        int(stamp[11:13]),
        int(stamp[13:15]),
    )


def read_run(path: Path) -> TrendRun:
    """One run's figures; ValueError with a short reason when it cannot be used."""
    try:
        summary = json.loads((path / "summary.json").read_text())
    except FileNotFoundError:
        raise ValueError("no summary.json") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"summary.json is not valid JSON (line {error.lineno})") from None
    except OSError as error:
        raise ValueError(f"summary.json unreadable ({error.strerror})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("metrics"), dict):
        raise ValueError("summary.json holds no metrics (partial run)")
    status = str(summary.get("status") or "unknown")
    if status in UNFINISHED:
        raise ValueError(f"status {status} (partial run)")
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        meta = {}  # the summary is enough; meta only dates the run more precisely
    reasons = [str(r) for r in summary.get("failure_reasons") or []]
    checks_valid = (summary.get("checks") or {}).get("valid")
    passed = (
        status == "completed"
        and not reasons
        and checks_valid is not False
        and not (summary.get("deviated"))
    )
    run_id = str(summary.get("run_id") or path.name)
    started = _started(path, path.name, meta if isinstance(meta, dict) else {})
    return TrendRun(path, run_id, started, status, passed, summary["metrics"], reasons)


def collect(
    experiment_dir: Path, ignore: tuple[Path, ...] = ()
) -> tuple[list[TrendRun], list[Skipped]]:
    """Readable runs oldest first, and the skipped ones with their reason."""
    if not experiment_dir.is_dir():
        raise UsageError(f"trend {experiment_dir}: no such directory")
    ignored = {p.resolve() for p in ignore}
    runs, skipped = [], []
    for path in sorted(experiment_dir.iterdir()):
        if not path.is_dir() or path.name.startswith(".") or path.resolve() in ignored:
            continue
        try:
            runs.append(read_run(path))
        except ValueError as error:
            skipped.append(Skipped(path, str(error)))
    runs.sort(key=lambda run: (run.started, run.run_id))
    return runs, skipped


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
