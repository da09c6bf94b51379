"""The verdict a report opens with: passed / failed / incomplete, and why.

It is judged from the files alone, the way `chaos run`'s control judged it: the run
failed when the steady state was not met before the method (nothing was tested), when it
deviated after the method, or when a checker answered false. `unknown` checker answers
are shown as such and do not fail a run (the checker ran out of budget, not the system).
A run that never finished (interrupted, still running, no summary) is `incomplete`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

INCOMPLETE = ("running", "interrupted", "aborted", "unknown")
# chaoslib records a probe's failure as the formatted exception: "<class>: <message>".
ACTIVITY_FAILED = re.compile(r"(?:chaoslib\.exceptions\.)?ActivityFailed")
MESSAGE_MAX = 300


@dataclass(frozen=True)
class CheckRow:
    name: str
    valid: bool | str  # True, False or "unknown"
    detail: str


@dataclass(frozen=True)
class ToleranceRow:
    name: str
    tolerance: str
    before: str | None
    before_met: bool | None
    after: str | None
    after_met: bool | None


@dataclass
class Verdict:
    outcome: str  # "passed", "failed" or "incomplete"
    headline: str
    hypothesis: str
    reasons: list[str] = field(default_factory=list)
    checks: list[CheckRow] = field(default_factory=list)
    tolerances: list[ToleranceRow] = field(default_factory=list)


def format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int | str):
        return str(value)
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "…"


def format_tolerance(tolerance: Any) -> str:
    if isinstance(tolerance, dict):
        kind = tolerance.get("type")
        if kind == "range" and isinstance(tolerance.get("range"), list):
            low, high = tolerance["range"][:2]
            return f"within [{format_value(low)}, {format_value(high)}]"
        if kind == "regex":
            return f"matches /{tolerance.get('pattern')}/"
        if kind == "jsonpath":
            expect = tolerance.get("expect")
            return f"{tolerance.get('path')}" + ("" if expect is None else f" = {expect}")
        if kind == "probe":
            return f"probe {tolerance.get('name') or ''}".strip()
    if isinstance(tolerance, list) and len(tolerance) == 2:
        return f"within [{format_value(tolerance[0])}, {format_value(tolerance[1])}]"
    return f"= {format_value(tolerance)}"


def _probe_output(probe: dict[str, Any]) -> str:
    """What the probe answered: its value, "no fault yet" before the method, or the
    message it failed with ("no data (...)", "> X s ... censored") — in full."""
    if probe.get("status") == "skipped":
        return str(probe.get("output") or "skipped")
    if probe.get("status") == "failed":
        error = probe.get("exception") or ["failed"]
        text = str(error[-1] if isinstance(error, list) and error else error).strip()
        stripped = False
        # chaoslib wraps the probe's ActivityFailed in one of its own: peel both.
        while True:
            kind, colon, message = text.partition(": ")
            if not (colon and ACTIVITY_FAILED.fullmatch(kind)):
                break
            text, stripped = message, True
        if stripped:
            return text[:MESSAGE_MAX]  # the probe's own words, not the exception's class
        return "error: " + text[:MESSAGE_MAX]
    return format_value(probe.get("output"))


def tolerances(journal: dict[str, Any] | None) -> list[ToleranceRow]:
    """Each steady-state probe with its tolerance, before and after the method."""
    states = (journal or {}).get("steady_states") or {}
    seen: dict[str, dict[str, Any]] = {}
    for phase in ("before", "after"):
        for probe in (states.get(phase) or {}).get("probes") or []:
            activity = probe.get("activity") or {}
            name = str(activity.get("name", "?"))
            row = seen.setdefault(name, {"tolerance": activity.get("tolerance")})
            row[phase] = _probe_output(probe)
            row[f"{phase}_met"] = probe.get("tolerance_met")
    return [
        ToleranceRow(
            name,
            format_tolerance(row["tolerance"]),
            row.get("before"),
            row.get("before_met"),
            row.get("after"),
            row.get("after_met"),
        )
        for name, row in seen.items()
    ]


def _detail(details: dict[str, Any]) -> str:
    parts = []
    for key, value in details.items():
        if isinstance(value, list | dict):
            if key in ("lost", "violations", "failures", "unexpected_final_values"):
                parts.append(f"{key}: {len(value)}")
            elif key == "unknown_keys" and value:
                parts.append(f"unknown keys: {len(value)}")
        elif key in ("reason", "error"):
            parts.append(str(value)[:160])
        elif not isinstance(value, float) or key.endswith("_count"):
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return ", ".join(parts)


def checks(summary: dict[str, Any]) -> list[CheckRow]:
    results = ((summary.get("checks") or {}).get("details") or {}).get("results") or {}
    rows = []
    for name, result in results.items():
        valid = result.get("valid")
        rows.append(
            CheckRow(
                name,
                valid if isinstance(valid, bool) else "unknown",
                _detail(result.get("details") or {}),
            )
        )
    return rows


def hypothesis(journal: dict[str, Any] | None) -> str:
    if journal is None:
        return "unknown (no journal)"
    states = journal.get("steady_states") or {}
    before, after = states.get("before"), states.get("after")
    if before is not None and before.get("steady_state_met") is False:
        return "not tested: not met before the method"
    if after is None:
        return "not checked after the method" if before is not None else "no steady state"
    return "met" if after.get("steady_state_met") else "not met after the method"


def judge(summary: dict[str, Any], journal: dict[str, Any] | None, status: str) -> Verdict:
    rows = checks(summary)
    reasons = [str(r) for r in summary.get("failure_reasons") or []]
    states = (journal or {}).get("steady_states") or {}
    derived = []
    if (states.get("before") or {}).get("steady_state_met") is False:
        derived.append("the steady state was not met before the method (nothing was tested)")
    if (journal or {}).get("deviated") or summary.get("deviated"):
        derived.append("the steady state deviated after the method")
    derived += [f"check {row.name} is false" for row in rows if row.valid is False]
    reasons += [r for r in derived if r not in reasons]
    limits = tolerances(journal)
    # Name the probes that broke their tolerance: "deviated" alone says not what or by how much.
    reasons += [
        f"probe {row.name} {phase}: {value}, tolerance {row.tolerance}"
        for row in limits
        for phase, value, ok in (
            ("before the method", row.before, row.before_met),
            ("after the method", row.after, row.after_met),
        )
        if ok is False
    ]
    if not summary or status in INCOMPLETE:
        outcome = "incomplete"
        headline = f"Incomplete run ({status if summary else 'no summary.json'})"
        if reasons:  # e.g. "interrupted during the method (SIGTERM)"
            headline += f": {reasons[0]}"
    elif status == "failed" or reasons:
        # The most specific reason leads: which probe or check, rather than "deviated".
        specific = [r for r in reasons if r.startswith(("probe ", "check "))] or reasons
        outcome, headline = "failed", "Failed: " + (specific[0] if specific else "status failed")
    else:
        outcome, headline = "passed", f"Passed: hypothesis {hypothesis(journal)}"
    return Verdict(outcome, headline, hypothesis(journal), reasons, rows, limits)
