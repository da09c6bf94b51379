"""The runs of one experiment as `peerchaos trend` reads them: usable or not, and why.

A run is usable when its `summary.json` is whole, has the shape trend relies on (named
file and key otherwise) and says the run finished. Runs are ordered by when they started
(`meta.json`, else the run id's UTC stamp, else the file time), so the newest run is
known even when it cannot be read — which is exactly when the gate must fail.
"""

from __future__ import annotations

import json
import math
import re
from calendar import timegm
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peerchaos.errors import UsageError

UNFINISHED = ("running", "interrupted")
RUN_ID_TIME = re.compile(r"^(\d{8}T\d{6})Z")


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
    started: float = 0.0


def _started(path: Path, run_id: str, meta: dict[str, Any]) -> float:
    started = meta.get("started")
    if _finite(started):
        return float(started)
    if match := RUN_ID_TIME.match(run_id):
        try:
            return float(timegm(_utc_fields(match.group(1))))
        except ValueError:  # "20261399T…": looks like a stamp, is none
            pass
    summary = path / "summary.json"
    return (summary if summary.exists() else path).stat().st_mtime


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


def _meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        return {}  # the summary is enough; meta only dates the run more precisely
    return meta if isinstance(meta, dict) else {}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_shape(summary: Any) -> None:
    """ValueError naming the key of `summary.json` that trend cannot use."""
    if not isinstance(summary, dict):
        raise ValueError(f"summary.json: must hold a JSON object (got {type(summary).__name__})")
    if "metrics" not in summary:
        raise ValueError("summary.json holds no metrics (partial run)")
    shapes = {
        "metrics": dict,
        "status": str,
        "run_id": str,
        "failure_reasons": list,
        "checks": dict,
        "deviated": bool,
    }
    for key, shape in shapes.items():
        value = summary.get(key)
        if value is not None and not isinstance(value, shape):
            raise ValueError(
                f"summary.json: {key} must be a {shape.__name__} (got {type(value).__name__})"
            )
    for name, dist in summary["metrics"].items():
        if not isinstance(dist, dict):
            raise ValueError(
                f"summary.json: metrics.{name} must map p50, p95, max and n "
                f"(got {type(dist).__name__})"
            )
        for stat in ("p50", "p95", "max"):
            value = dist.get(stat)
            if value is not None and not _finite(value):
                raise ValueError(
                    f"summary.json: metrics.{name}.{stat} must be a finite number or null "
                    f"(got {value!r})"
                )
        n = dist.get("n")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise ValueError(f"summary.json: metrics.{name}.n must be a count (got {n!r})")
    reasons = summary.get("failure_reasons") or []
    if not all(isinstance(reason, str) for reason in reasons):
        raise ValueError("summary.json: failure_reasons must be a list of strings")
    valid = (summary.get("checks") or {}).get("valid")
    if valid not in (None, True, False, "unknown"):
        raise ValueError(
            f"summary.json: checks.valid must be true, false or unknown (got {valid!r})"
        )


def read_run(path: Path) -> TrendRun:
    """One run's figures; ValueError with a short reason when it cannot be used."""
    try:
        summary = json.loads((path / "summary.json").read_text())
    except FileNotFoundError:
        status = _meta(path).get("status")
        said = f" (meta.json: status {status})" if isinstance(status, str) else ""
        raise ValueError(f"no summary.json{said}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"summary.json is not valid JSON (line {error.lineno})") from None
    except UnicodeDecodeError:
        raise ValueError("summary.json is not UTF-8 text") from None
    except OSError as error:
        raise ValueError(f"summary.json unreadable ({error.strerror})") from None
    check_shape(summary)
    status = summary.get("status") or "unknown"
    if status in UNFINISHED:
        raise ValueError(f"status {status} (partial run)")
    meta = _meta(path)
    reasons = list(summary.get("failure_reasons") or [])
    checks_valid = (summary.get("checks") or {}).get("valid")
    passed = (
        status == "completed"
        and not reasons
        and checks_valid is not False
        and not (summary.get("deviated"))
    )
    run_id = summary.get("run_id") or path.name
    started = _started(path, path.name, meta)
    return TrendRun(path, run_id, started, status, passed, summary["metrics"], reasons)


def collect(
    experiment_dir: Path, ignore: tuple[Path, ...] = ()
) -> tuple[list[TrendRun], list[Skipped]]:
    """Readable runs oldest first, and the skipped ones (oldest first) with their reason."""
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
            skipped.append(Skipped(path, str(error), _started(path, path.name, _meta(path))))
    runs.sort(key=lambda run: (run.started, run.run_id))
    skipped.sort(key=lambda skip: (skip.started, skip.path.name))
    return runs, skipped


def unusable_newest(runs: list[TrendRun], skipped: list[Skipped]) -> Skipped | None:
    """The newest run when it cannot be judged (unreadable or unfinished), else None."""
    if not skipped:
        return None
    last = skipped[-1]
    if not runs or (last.started, last.path.name) > (runs[-1].started, runs[-1].path.name):
        return last
    return None
