"""The evidence of one run as the report reads it: every file optional, nothing raises.

A report must come out of any run directory — an interrupted run, a run whose steady
state failed before the method, a directory copied without its journal — so each file is
read defensively, records that lack the fields the report needs are dropped, and what is
missing is written to `notes` for the page to say out loud instead of failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peerchaos.errors import PeerchaosError
from peerchaos.events import read_jsonl
from peerchaos.rundir import RunDir
from peerchaos.systems import system_of
from peerchaos.systems.base import System


@dataclass
class Evidence:
    """Everything a report shows, read from one run directory."""

    run: RunDir
    events: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    journal: dict[str, Any] | None = None
    system_version: str | None = None  # the server version the peers' logs name
    notes: list[str] = field(default_factory=list)

    @property
    def system(self) -> System:
        """The system the run's spec names (older runs: the default, ZooKeeper)."""
        return system_of(self.meta.get("spec"))

    @property
    def trials(self) -> list[dict[str, Any]]:
        """The trials the probes could see (a fault before the observers is not measured)."""
        trials = self.summary.get("trials") or []
        return [t for t in trials if isinstance(t, dict) and t.get("observed", True)]

    @property
    def replicas(self) -> int | None:
        """The ensemble's size from the spec (None when the run has no meta.json)."""
        spec = self.meta.get("spec")
        replicas = spec.get("replicas") if isinstance(spec, dict) else None
        return replicas if isinstance(replicas, int) and replicas > 0 else None

    @property
    def title(self) -> str:
        journal_title = ((self.journal or {}).get("experiment") or {}).get("title")
        return str(self.meta.get("title") or journal_title or self.experiment)

    @property
    def description(self) -> str:
        journal_text = ((self.journal or {}).get("experiment") or {}).get("description")
        return str(self.meta.get("description") or journal_text or "").strip()

    @property
    def experiment(self) -> str:
        return str(
            self.summary.get("experiment") or self.meta.get("experiment") or self.run.experiment
        )

    @property
    def status(self) -> str:
        journal_status = (self.journal or {}).get("status")
        return str(
            self.summary.get("status") or journal_status or self.meta.get("status") or "unknown"
        )


def _read_object(path: Path, notes: list[str], required: bool = False) -> dict[str, Any] | None:
    """A JSON object from `path`; None (with a note) when missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        if required:
            notes.append(f"{path.name} is missing")
        return None
    except (OSError, ValueError) as error:
        notes.append(f"{path.name} is unreadable ({type(error).__name__})")
        return None
    if not isinstance(data, dict):
        notes.append(f"{path.name} does not hold a JSON object")
        return None
    return data


def _summary(summary: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The summary with the shapes the report relies on; what does not fit is dropped."""
    shapes = {"metrics": dict, "trials": list, "checks": dict, "failure_reasons": list}
    for key, shape in shapes.items():
        if key in summary and not isinstance(summary[key], shape):
            notes.append(f"summary.json: {key} is not a {shape.__name__}; ignored")
            summary = {k: v for k, v in summary.items() if k != key}
    if "trials" in summary:
        summary["trials"] = [t for t in summary["trials"] if isinstance(t, dict)]
    if "metrics" in summary:
        summary["metrics"] = {k: v for k, v in summary["metrics"].items() if isinstance(v, dict)}
    return summary


def _records(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """A JSONL file's records; a torn one gives none and a note (the page still comes)."""
    try:
        return read_jsonl(path)
    except PeerchaosError as error:
        notes.append(str(error))
        return []


def _events(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    records = [
        e
        for e in _records(path, notes)
        if isinstance(e, dict) and isinstance(e.get("t"), int | float) and e.get("kind")
    ]
    return sorted(records, key=lambda e: e["t"])


def _history(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    ops = [
        op
        for op in _records(path, notes)
        if isinstance(op, dict)
        and op.get("type") in ("invoke", "ok", "fail", "info")
        and isinstance(op.get("time"), int | float)
    ]
    # `mono` orders ops across workers; `time` is the fallback for hand-written histories.
    return sorted(ops, key=lambda op: op.get("mono") or op["time"])


def load(run: RunDir) -> Evidence:
    """Read the run directory; never raises on missing or broken files."""
    notes: list[str] = []
    summary = _summary(_read_object(run.summary, notes, required=True) or {}, notes)
    meta = _read_object(run.meta, notes, required=True) or {}
    journal = _read_object(run.path / "journal.json", notes)
    if journal is None and not any("journal" in n for n in notes):
        notes.append("no journal.json (not a `chaos run`): the hypothesis cannot be judged")
    truth_file = _read_object(run.ground_truth, notes) or {}
    truth = [
        e
        for e in truth_file.get("log_events") or []
        if isinstance(e, dict) and isinstance(e.get("t"), int | float)
    ]
    evidence = Evidence(
        run=run,
        events=_events(run.events, notes),
        history=_history(run.history, notes),
        truth=sorted(truth, key=lambda e: e["t"]),
        summary=summary,
        meta=meta,
        journal=journal,
        system_version=system_of(meta.get("spec")).version_from_logs(run.peers),
        notes=notes,
    )
    if not evidence.events:
        notes.append("events.jsonl is missing or empty: no timeline")
    if not evidence.history:
        notes.append("history.jsonl is missing or empty: no client operations")
    if summary and not evidence.trials:
        notes.append("the summary holds no observed trial: nothing to measure")
    return evidence
