"""The key figures table: each distribution beside its ground truth, resolution and error.

One row per measured figure of `summary["metrics"]` (n with its censored count, p50, p95
and max, censored statistics as "> X s"), the probe period it was measured with
(`resolution_s`) and its error against the ground truth across trials (probe minus peer
logs; for DNS, how long the view lagged the runtime's truth). The ground truth itself
follows as an indented row: the peers' own logs for the leader serving, full redundancy
and outages, the runtime's endpoint records for DNS. Rows the summary lacks (one
written before these figures existed) read "—" rather than disappear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peerchaos.measure.stats import Value, distribution
from peerchaos.report.values import (
    DASH,
    count_text,
    dict_of,
    milliseconds,
    number,
    stat_text,
)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    resolution: str | None  # key of `resolution_s`
    truth: str | None = None  # the ground-truth row that follows it


FIGURES = (
    Figure(
        "election_time_s",
        "election time (new leader, majority following)",
        "role_s",
        "ground_truth_leader_serving_s",
    ),
    Figure(
        "full_redundancy_s",
        "full redundancy (every peer serving again)",
        "role_s",
        "ground_truth_full_redundancy_s",
    ),
    Figure("zero_tolerance_s", "zero tolerance (at most a bare majority serving)", "role_s"),
    Figure(
        "client_unavailability_s",
        "client unavailability (longest gap between acks)",
        "client_s",
    ),
    Figure("peer_outage_s", "peer outage (per peer)", "role_s", "ground_truth_peer_outage_s"),
    Figure("write_recovery_s", "write recovery", "client_s"),
    Figure("read_recovery_s", "read recovery", "client_s"),
    Figure("dns_convergence_s", "DNS convergence, raw (per affected name)", "dns_s"),
    Figure(
        "dns_convergence_cached_s",
        "DNS convergence, cached (per affected name)",
        "dns_s",
        "ground_truth_dns_s",
    ),
)
TRUTH_LABELS = {
    "ground_truth_leader_serving_s": "leader serving (peer logs, ground truth)",
    "ground_truth_full_redundancy_s": "every peer serving (peer logs, ground truth)",
    "ground_truth_peer_outage_s": "peer outage (peer logs, ground truth)",
    "ground_truth_dns_s": "name's truth changed (runtime endpoints, ground truth)",
}


def _truth(trial: dict[str, Any]) -> dict[str, Any]:
    return dict_of(trial.get("ground_truth"))


def _distribution(found: list[Any]) -> dict[str, Any] | None:
    values = [Value(float(v)) for v in found if number(v)]
    return distribution(values) if values else None  # none recorded: "—", not n=0


def _outage_truths(trials: list[dict[str, Any]]) -> dict[str, Any] | None:
    return _distribution(
        [v for t in trials for v in dict_of(_truth(t).get("peer_outage_s")).values()]
    )


def _dns_truths(trials: list[dict[str, Any]]) -> dict[str, Any] | None:
    return _distribution(
        [v for t in trials for v in dict_of(_truth(t).get("dns_truth_s")).values()]
    )


DERIVED_TRUTHS: dict[str, Callable[[list[dict[str, Any]]], dict[str, Any] | None]] = {
    "ground_truth_peer_outage_s": _outage_truths,
    "ground_truth_dns_s": _dns_truths,
}


def _span(errors: list[Any], prefix: str = "") -> str:
    numbers = sorted(float(e) for e in errors if number(e))
    if not numbers:
        return DASH
    low, high = numbers[0], numbers[-1]
    text = f"{low:+.3f} s" if low == high else f"{low:+.3f} … {high:+.3f} s"
    return prefix + text + f" (n={len(numbers)})"


def _outage_errors(trials: list[dict[str, Any]]) -> list[float]:
    errors = []
    for trial in trials:
        logged = dict_of(_truth(trial).get("peer_outage_s"))
        for pod, probed in dict_of(trial.get("peer_outage_s")).items():
            if number(probed) and number(logged.get(pod)):
                errors.append(probed - logged[pod])
    return errors


def _dns_lags(trials: list[dict[str, Any]], view: str) -> list[Any]:
    return [
        entry.get("lag_s")
        for trial in trials
        for stream, probes in dict_of(trial.get("dns")).items()
        if stream.startswith(view + ":")
        for entry in dict_of(probes).values()
        if isinstance(entry, dict) and entry.get("affected", True)
    ]


def error_text(key: str, trials: list[dict[str, Any]]) -> str:
    """The figure against its ground truth across the trials, as a range."""
    if key == "election_time_s":
        return _span([_truth(t).get("election_time_error_s") for t in trials])
    if key == "full_redundancy_s":
        return _span([_truth(t).get("full_redundancy_error_s") for t in trials])
    if key == "peer_outage_s":
        return _span(_outage_errors(trials))
    if key == "dns_convergence_s":
        return _span(_dns_lags(trials, "raw"), "lags truth ")
    if key == "dns_convergence_cached_s":
        return _span(_dns_lags(trials, "cached"), "lags truth ")
    return DASH


def _row(label: str, dist: Any, error: str, resolution: str, truth: bool) -> dict[str, Any]:
    dist = dist if isinstance(dist, dict) else None
    return {
        "metric": label,
        "n": count_text(dist),
        "p50": stat_text(dist, "p50"),
        "p95": stat_text(dist, "p95"),
        "max": stat_text(dist, "max"),
        "error": error,
        "resolution": resolution,
        "truth": truth,
    }


def metric_rows(summary: dict[str, Any], trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The key figures of the run, ground truth beside each; unknown metrics at the end."""
    metrics = dict_of(summary.get("metrics"))
    resolution = dict_of(summary.get("resolution_s"))
    rows, shown = [], set()
    for figure in FIGURES:
        period = resolution.get(figure.resolution) if figure.resolution else None
        rows.append(
            _row(
                figure.label,
                metrics.get(figure.key),
                error_text(figure.key, trials),
                milliseconds(period),
                False,
            )
        )
        shown.add(figure.key)
        if figure.truth:
            derive = DERIVED_TRUTHS.get(figure.truth)
            dist = metrics.get(figure.truth)
            if dist is None and derive is not None and trials:
                dist = derive(trials)
            rows.append(_row(TRUTH_LABELS[figure.truth], dist, "", "", True))
            shown.add(figure.truth)
    for key, dist in metrics.items():
        if key not in shown and isinstance(dist, dict):
            rows.append(_row(key, dist, DASH, DASH, key.startswith("ground_truth")))
    return rows
