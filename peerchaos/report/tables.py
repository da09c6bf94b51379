"""The report's environment tables as plain rows of strings: the ensemble, the files.

Both pages (HTML and Markdown) render the same rows. The measured figures have modules
of their own: `keyfigures` (the distributions), `trialrows` and `trialnotes` (per trial),
`dnsrows` (per DNS name).
"""

from __future__ import annotations

import json
import time
from typing import Any

from peerchaos.report.dnsrows import short_name
from peerchaos.report.evidence import Evidence
from peerchaos.report.values import DASH, dict_of, milliseconds, seconds

__all__ = ["DASH", "clock", "environment", "raw_files", "seconds", "short_name", "spec_json"]

RAW_FILES = (
    "summary.json",
    "events.jsonl",
    "history.jsonl",
    "ground_truth.json",
    "journal.json",
    "meta.json",
)


def clock(t: Any) -> str:
    if not isinstance(t, int | float):
        return DASH
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def environment(evidence: Evidence) -> list[tuple[str, str]]:
    spec = evidence.meta.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    probe = spec.get("readiness_probe")
    probe = probe if isinstance(probe, dict) else {}
    journal = evidence.journal or {}
    system = evidence.system
    words = system.environment(system.settings(spec))
    rows = [
        ("experiment", evidence.experiment),
        ("run", evidence.run.run_id),
        ("status", evidence.status),
        ("runtime", str(evidence.summary.get("runtime") or evidence.meta.get("runtime") or DASH)),
        (system.title, evidence.system_version or "unknown (no peer logs)"),
    ]
    if spec:
        rows += [
            (
                "ensemble",
                f"{spec.get('name')}: {spec.get('replicas')} peers, "
                f"podManagementPolicy {spec.get('pod_management_policy')}",
            ),
            ("timing", words["timing"]),
            (
                "readiness probe",
                f"{probe.get('kind')} every {probe.get('period_s')} s, timeout "
                f"{probe.get('timeout_s')} s, failureThreshold "
                f"{probe.get('failure_threshold')}",
            ),
            (
                "DNS",
                f"TTL {spec.get('dns_ttl_s')} s, {words['dns_cache']}, "
                f"publishNotReadyAddresses {spec.get('publish_not_ready_addresses')}",
            ),
        ]
    rows += _probes(evidence.summary)
    started = evidence.meta.get("started")
    ended = evidence.meta.get("ended")
    rows.append(("started", clock(started)))
    if isinstance(started, int | float) and isinstance(ended, int | float):
        rows.append(("duration", f"{ended - started:.1f} s"))
    if "ops" in evidence.summary:
        rows.append(("client ops", str(evidence.summary["ops"])))
    if journal:
        rows.append(
            (
                "Chaos Toolkit",
                f"chaoslib {journal.get('chaoslib-version', '?')} on "
                f"{journal.get('node', '?')} ({journal.get('platform', '?')})",
            )
        )
    return rows


def _probes(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The probes' periods (each figure's resolution) and their health."""
    rows = []
    resolution = dict_of(summary.get("resolution_s"))
    if resolution:
        rows.append(
            (
                "resolution",
                f"role probe every {milliseconds(resolution.get('role_s'))}, DNS probe every "
                f"{milliseconds(resolution.get('dns_s'))}, client acks every "
                f"{milliseconds(resolution.get('client_s'))}",
            )
        )
    health = dict_of(summary.get("probe_health"))
    if health:
        recorded = "heartbeats recorded" if health.get("recorded") else "no heartbeats recorded"
        rows.append(("probe health", f"{recorded}, {health.get('gaps', DASH)} probe gap(s)"))
    return rows


def spec_json(evidence: Evidence) -> str:
    spec = evidence.meta.get("spec")
    return json.dumps(spec, indent=2) if spec else ""


def raw_files(evidence: Evidence) -> list[dict[str, str]]:
    """The run's own files, linked relative to the report (which sits in the run dir)."""
    path = evidence.run.path
    found = [path / name for name in RAW_FILES]
    found += sorted(evidence.run.peers.glob("*.log")) if evidence.run.peers.is_dir() else []
    files = []
    for file in found:
        if file.is_file():
            size = file.stat().st_size
            human = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"
            files.append({"href": file.relative_to(path).as_posix(), "size": human})
    return files
