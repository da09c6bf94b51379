"""A run as the exports read it: its summary checked field by field, its meta and journal.

The report reads any run dir leniently and says what is missing; an export is different:
what it writes lands in dashboards and alerts, so a summary that is missing, torn (a
half-written file does not parse) or of the wrong shape is refused with one line naming
the file, the field and what was found — before anything is printed, pushed or written.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from peerchaos.errors import UsageError
from peerchaos.report.verdict import judge

STAT_NAMES = ("p50", "p95", "max")
# A figure key as measure writes it (`election_time_s`); it becomes part of a metric name.
FIGURE_KEY = re.compile(r"[a-z][a-z0-9_]*_s")
# Per-name maps of a trial the per-name DNS export reads.
TRIAL_MAPS = (
    "dns_convergence_s",
    "dns_convergence_censored",
    "dns_convergence_cached_s",
    "dns_convergence_cached_censored",
)
RUN_ID_TIME = re.compile(r"(\d{8}T\d{6}Z)(?:-|$)")


@dataclass(frozen=True)
class RunRecord:
    """One run directory's files, as the exports need them."""

    path: Path
    summary: dict[str, Any]
    meta: dict[str, Any]
    journal: dict[str, Any] | None

    @property
    def experiment(self) -> str:
        return str(self.summary["experiment"])

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id") or self.path.name)

    @property
    def status(self) -> str:
        """As the report has it: the summary's, else the journal's, else the meta's."""
        journal_status = (self.journal or {}).get("status")
        return str(
            self.summary.get("status") or journal_status or self.meta.get("status") or "unknown"
        )

    @property
    def outcome(self) -> str:
        """passed / failed / incomplete, judged exactly as the report's verdict is."""
        return judge(self.summary, self.journal, self.status).outcome

    @property
    def started(self) -> float | None:
        started = _number(self.meta.get("started"))
        if started is None and self.journal:
            started = _iso_time(self.journal.get("start"))
        return started if started is not None else run_id_time(self.run_id)

    @property
    def ended(self) -> float | None:
        ended = _number(self.meta.get("ended"))
        if ended is None and self.journal:
            ended = _iso_time(self.journal.get("end"))
        return ended

    @property
    def timestamp(self) -> float | None:
        """When the run's figures became final: its end, else its start."""
        return self.ended if self.ended is not None else self.started

    @property
    def observed_trials(self) -> list[dict[str, Any]]:
        return [t for t in self.summary.get("trials") or [] if t.get("observed", True)]


def run_id_time(run_id: str) -> float | None:
    """The UTC start a run id carries (`20261201T093939Z-d5f3`), in epoch seconds."""
    match = RUN_ID_TIME.match(run_id)
    if not match:
        return None
    return float(calendar.timegm(time.strptime(match[1], "%Y%m%dT%H%M%SZ")))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _iso_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def load_run(path: Path) -> RunRecord:
    """The run in `path`, or a UsageError naming what is wrong with it."""
    if not path.exists():
        raise UsageError(f"run dir {path}: no such directory")
    if not path.is_dir():
        raise UsageError(f"run dir {path}: not a directory")
    summary_path = path / "summary.json"
    if not summary_path.exists():
        raise UsageError(
            f"run dir {path}: no summary.json (a run writes it when it ends; "
            f"`peerchaos measure {path}` recomputes it from the run's files)"
        )
    summary = _read_object(summary_path) or {}
    check_summary(summary, summary_path)
    meta = _read_object(path / "meta.json", required=False) or {}
    journal = _read_object(path / "journal.json", required=False)
    if journal is not None:
        check_journal(journal, path / "journal.json")
    return RunRecord(path, summary, meta, journal)


def _read_object(path: Path, required: bool = True) -> dict[str, Any] | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        if required:
            raise UsageError(f"{path}: no such file") from None
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: unreadable ({error.__class__.__name__}: {error})") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        where = getattr(error, "lineno", None)
        at = f" at line {where} column {getattr(error, 'colno', '?')}" if where else ""
        reason = getattr(error, "msg", str(error))
        raise UsageError(
            f"{path}: not valid JSON ({reason}{at}; {len(text)} bytes — torn or unfinished?)"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: must hold a JSON object (got {type(data).__name__})")
    return data


def _fail(path: Path, field: str, want: str, got: Any) -> UsageError:
    seen = json.dumps(got, default=str)
    seen = seen if len(seen) <= 60 else seen[:57] + "..."
    return UsageError(f"{path}: {field}: must be {want} (got {seen})")


def check_summary(summary: dict[str, Any], path: Path) -> None:
    """The fields the exports read, with the types they need; the first wrong one raises."""
    experiment = summary.get("experiment")
    if not isinstance(experiment, str) or not experiment:
        raise _fail(path, "experiment", "a non-empty string", experiment)
    if "run_id" in summary and not isinstance(summary["run_id"], str):
        raise _fail(path, "run_id", "a string", summary["run_id"])
    metrics = summary.get("metrics")
    if not isinstance(metrics, dict):
        raise _fail(path, "metrics", "an object of figures", metrics)
    for key, dist in metrics.items():
        _check_distribution(path, key, dist)
    trials = summary.get("trials", [])
    if not isinstance(trials, list) or not all(isinstance(t, dict) for t in trials):
        raise _fail(path, "trials", "a list of objects", trials)
    for index, trial in enumerate(trials):
        for key in TRIAL_MAPS:
            if not isinstance(trial.get(key) or {}, dict):
                raise _fail(path, f"trials[{index}].{key}", "an object by name", trial[key])
    for key in ("probe_health", "resolution_s", "checks"):
        if not isinstance(summary.get(key) or {}, dict):
            raise _fail(path, key, "an object", summary[key])
    checks = summary.get("checks") or {}
    if not isinstance(checks.get("details") or {}, dict):
        raise _fail(path, "checks.details", "an object", checks["details"])
    results = (checks.get("details") or {}).get("results") or {}
    if not isinstance(results, dict) or not all(isinstance(r, dict) for r in results.values()):
        raise _fail(path, "checks.details.results", "an object of check results", results)
    for name, result in results.items():
        if not isinstance(result.get("details") or {}, dict):
            raise _fail(
                path, f"checks.details.results.{name}.details", "an object", result["details"]
            )
        if result.get("valid") not in (True, False, "unknown"):
            raise _fail(
                path,
                f"checks.details.results.{name}.valid",
                'true, false or "unknown"',
                result.get("valid"),
            )
    if not isinstance(summary.get("failure_reasons", []), list):
        raise _fail(path, "failure_reasons", "a list", summary["failure_reasons"])


def _check_distribution(path: Path, key: str, dist: Any) -> None:
    if not FIGURE_KEY.fullmatch(key):
        raise _fail(path, f"metrics.{key}", "named like election_time_s", key)
    if not isinstance(dist, dict):
        raise _fail(path, f"metrics.{key}", "an object with n, p50, p95, max", dist)
    for count in ("n", "n_censored"):
        value = dist.get(count, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _fail(path, f"metrics.{key}.{count}", "a count", value)
    for stat in STAT_NAMES:
        value = dist.get(stat)
        if value is not None and _number(value) is None:
            raise _fail(path, f"metrics.{key}.{stat}", "seconds or null", value)
        if dist.get(f"{stat}_censored"):
            bound = dist.get(f"{stat}_at_least")
            if _number(bound) is None:
                raise _fail(
                    path, f"metrics.{key}.{stat}_at_least", "seconds (it is censored)", bound
                )
            if value is not None:
                raise _fail(path, f"metrics.{key}.{stat}", "null when censored", value)


def check_journal(journal: dict[str, Any], path: Path) -> None:
    """The parts of Chaos Toolkit's journal the JUnit export reads."""
    experiment = journal.get("experiment") or {}
    if not isinstance(experiment, dict):
        raise _fail(path, "experiment", "an object", experiment)
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    if not isinstance(hypothesis, dict) or not isinstance(hypothesis.get("probes") or [], list):
        raise _fail(path, "experiment.steady-state-hypothesis", "an object with probes", hypothesis)
    states = journal.get("steady_states") or {}
    if not isinstance(states, dict):
        raise _fail(path, "steady_states", "an object", states)
    for phase in ("before", "after"):
        state = states.get(phase) or {}
        probes = (state.get("probes") or []) if isinstance(state, dict) else None
        if not isinstance(probes, list) or not all(isinstance(p, dict) for p in probes):
            raise _fail(path, f"steady_states.{phase}", "an object with a list of probes", state)
        for index, probe in enumerate(probes):
            if not isinstance(probe.get("activity") or {}, dict):
                raise _fail(
                    path,
                    f"steady_states.{phase}.probes[{index}].activity",
                    "an object",
                    probe["activity"],
                )
