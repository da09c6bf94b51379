"""A run as JUnit XML: one testsuite, a testcase per steady-state probe and per check.

The shape is the one CI dashboards read (Jenkins, GitLab, GitHub test reporters):
`testsuites > testsuite > testcase > failure | skipped`, with the usual counts and
attributes. Probes come from Chaos Toolkit's journal, before and after the method:

- tolerance met: a passing testcase;
- tolerance not met: a failure whose message has the tolerance and the measured value;
- the probe raised (e.g. "no data (...)", "> X s ... censored"): a failure with its message;
- skipped by the control before the method ("no fault yet"): a skipped testcase;
- declared in the hypothesis but never run (Chaos Toolkit stops a hypothesis at its first
  failing probe): a skipped testcase saying why.

Checks (summary["checks"]) pass when true and fail when false; "unknown" (the checker
ran out of budget) is skipped, since it fails neither the run nor the report's verdict.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from peerchaos.export.record import RunRecord
from peerchaos.report.verdict import format_tolerance, format_value

PHASES = {"before": "before the method", "after": "after the method"}
# chaoslib records a raised probe as traceback.format_exception(): its last line is
# "<module>.<class>: <message>".
MESSAGE_MAX = 500


@dataclass(frozen=True)
class Case:
    """One testcase: passed when neither `failure` nor `skipped` is set."""

    classname: str
    name: str
    time_s: float = 0.0
    failure: str | None = None
    failure_type: str = ""
    details: str = ""
    skipped: str | None = None


def raised_message(probe: dict[str, Any]) -> str:
    """The message a failed probe raised, without the exception classes chaoslib puts in
    front of it (its Python provider wraps the probe's ActivityFailed in another one)."""
    error = probe.get("exception") or ["failed"]
    text = str(error[-1] if isinstance(error, list) and error else error).strip()
    while True:
        kind, colon, rest = text.partition(": ")
        if not colon or " " in kind:
            break
        if not kind.endswith("ActivityFailed"):
            text = f"{kind.rsplit('.', 1)[-1]}: {rest}"  # e.g. "ValueError: ..."
            break
        text = rest
    return text[:MESSAGE_MAX]


def _probe_case(classname: str, probe: dict[str, Any]) -> Case:
    activity = probe.get("activity") or {}
    name = str(activity.get("name") or "probe")
    tolerance = format_tolerance(activity.get("tolerance"))
    duration = probe.get("duration")
    time_s = float(duration) if isinstance(duration, int | float) else 0.0
    details = json.dumps(
        {k: probe.get(k) for k in ("status", "output", "tolerance_met", "start", "end")}
        | {"tolerance": activity.get("tolerance"), "provider": activity.get("provider")},
        indent=2,
        default=str,
    )
    status = probe.get("status")
    if status == "skipped":
        return Case(classname, name, time_s, skipped=str(probe.get("output") or "skipped"))
    if status == "failed":
        message = f"probe failed: {raised_message(probe)} (tolerance {tolerance})"
        return Case(classname, name, time_s, message, "ProbeFailed", details)
    if probe.get("tolerance_met") is False:
        measured = format_value(probe.get("output"))
        message = f"tolerance {tolerance} not met: measured {measured}"
        return Case(classname, name, time_s, message, "ToleranceNotMet", details)
    return Case(classname, name, time_s)


def probe_cases(record: RunRecord) -> list[Case]:
    """The hypothesis' probes before and after the method, in the order they ran."""
    journal = record.journal
    if journal is None:
        return []
    declared = [
        str(p.get("name") or "probe")
        for p in ((journal.get("experiment") or {}).get("steady-state-hypothesis") or {}).get(
            "probes"
        )
        or []
        if isinstance(p, dict)
    ]
    states = journal.get("steady_states") or {}
    before_met = (states.get("before") or {}).get("steady_state_met")
    cases = []
    for phase, words in PHASES.items():
        classname = f"peerchaos.{record.experiment}.steady_state_{phase}"
        state = states.get(phase)
        ran = [p for p in (state or {}).get("probes") or [] if isinstance(p, dict)]
        cases += [_probe_case(classname, probe) for probe in ran]
        if state is None and phase == "after" and before_met is False:
            why = "the steady state was not met before the method"
        elif state is None:
            why = f"the run ended first (status {record.status})"
        else:
            why = f"an earlier probe {words} failed and Chaos Toolkit stops at the first"
        names = {case.name for case in cases if case.classname == classname}
        cases += [
            Case(classname, name, skipped=f"not run {words}: {why}")
            for name in declared
            if name not in names
        ]
    return cases


def _check_detail(details: dict[str, Any]) -> str:
    """The counts a check's details hold, e.g. "lost_count 3, violation_count 0"."""
    parts = []
    for key, value in details.items():
        if isinstance(value, list) and key in ("lost", "violations", "failures"):
            parts.append(f"{key} {len(value)}")
        elif key.endswith("_count") or key in ("reason", "error"):
            parts.append(f"{key} {value}")
    return ", ".join(parts)


def check_cases(record: RunRecord) -> list[Case]:
    results = ((record.summary.get("checks") or {}).get("details") or {}).get("results") or {}
    classname = f"peerchaos.{record.experiment}.checks"
    cases = []
    for name, result in results.items():
        valid = result.get("valid")
        detail = _check_detail(result.get("details") or {})
        measured = f"measured {json.dumps(valid)}" + (f" ({detail})" if detail else "")
        if valid is True:
            cases.append(Case(classname, str(name)))
        elif valid is False:
            # The checker bounds what it lists (MAX_REPORTED): the whole details fit.
            body = json.dumps(result.get("details") or {}, indent=2, default=str)
            message = f"tolerance valid = true not met: {measured}"
            cases.append(Case(classname, str(name), 0.0, message, "CheckFailed", body))
        else:
            cases.append(Case(classname, str(name), skipped=f"unknown: {measured}"))
    return cases


def _timestamp(seconds: float | None) -> str:
    """ISO 8601 without a zone, in UTC, as the JUnit schema's timestamp wants it."""
    moment = datetime.fromtimestamp(seconds or 0.0, UTC)
    return moment.replace(tzinfo=None, microsecond=0).isoformat()


def junit_tree(record: RunRecord) -> ET.ElementTree:
    cases = probe_cases(record) + check_cases(record)
    failures = sum(case.failure is not None for case in cases)
    skipped = sum(case.skipped is not None for case in cases)
    duration = (
        record.ended - record.started
        if record.started is not None and record.ended is not None
        else sum(case.time_s for case in cases)
    )
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": f"{duration:.3f}",
    }
    root = ET.Element("testsuites", {"name": "peerchaos", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": f"peerchaos.{record.experiment}",
            **counts,
            "timestamp": _timestamp(record.started),
            "hostname": str((record.journal or {}).get("node") or "unknown"),
            "id": "0",
            "package": "peerchaos",
        },
    )
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("run_id", record.run_id),
        ("run_dir", str(record.path)),
        ("status", record.status),
        ("verdict", record.outcome),
    ):
        ET.SubElement(properties, "property", {"name": key, "value": value})
    for case in cases:
        element = ET.SubElement(
            suite,
            "testcase",
            {"name": case.name, "classname": case.classname, "time": f"{case.time_s:.3f}"},
        )
        if case.failure is not None:
            failure = ET.SubElement(
                element, "failure", {"message": case.failure, "type": case.failure_type}
            )
            failure.text = case.details
        elif case.skipped is not None:
            ET.SubElement(element, "skipped", {"message": case.skipped})
    ET.indent(root)
    return ET.ElementTree(root)


def junit_xml(record: RunRecord) -> str:
    """The JUnit XML document, with its XML declaration."""
    return ET.tostring(junit_tree(record).getroot(), encoding="unicode", xml_declaration=True)
