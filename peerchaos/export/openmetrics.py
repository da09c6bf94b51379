"""A run's figures as Prometheus metric families, in a registry of their own.

Every distribution in summary["metrics"] becomes `peerchaos_<figure>_seconds` with labels
`experiment` and `stat` (p50 / p95 / max, nearest rank, as the summary has them) and, for
DNS convergence, `view` (raw / cached). Per-name DNS convergence, from the trials, is its
own family (`peerchaos_dns_convergence_by_name_seconds`, label `name`): an aggregate and
its parts in one family would make every sum() or avg() over it count twice.

Censoring: a statistic that landed on a trial cut short by its window is not a value the
system reached, so it is never a sample of `_seconds`. Its lower bound ("> X s" in the
report) goes to `peerchaos_<figure>_at_least_seconds` under the same labels, and
`_samples` / `_censored_samples` say how many trials (per peer for peer outage, per
affected name for DNS) the statistic ranks and how many of them were cut short. A
statistic with no data at all (no trial measured it) has no sample anywhere.

The run itself: `peerchaos_run_passed` (1 when the report's verdict is "passed"),
`peerchaos_checks_valid` and `peerchaos_check_valid{check}` (1 / 0; absent when the
checker answered "unknown", counted in `peerchaos_checks_unknown`),
`peerchaos_run_timestamp_seconds` (its end, else its start), trial counts, probe gaps,
the probes' resolution and `peerchaos_run_info` (run id, status, verdict).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector

from peerchaos.export.record import STAT_NAMES, RunRecord
from peerchaos.measure.stats import Value, distribution

PREFIX = "peerchaos_"
# Figures measured through more than one view share a family; the view is a label.
VIEWS = {
    "dns_convergence_s": ("dns_convergence", "raw"),
    "dns_convergence_cached_s": ("dns_convergence", "cached"),
}
DNS_HELP = (
    "Fault until a DNS view of an affected name equals the runtime's truth for good "
    "(view raw: the server's answers; cached: through the TTL cache)"
)
# HELP texts; the Pushgateway refuses a push whose HELP differs from the one it holds for
# the same family, so these stay fixed.
FIGURES = {
    "election_time": "Fault to the first probe seeing a leader of a new epoch followed by a "
    "majority",
    "full_redundancy": "Fault until every peer serves again in the new epoch",
    "zero_tolerance": "Time within a trial with at most a bare majority serving (one more "
    "fault stops writes)",
    "client_unavailability": "Longest gap between acknowledged client ops spanning the fault",
    "peer_outage": "Per peer and trial: out of service until serving again",
    "write_recovery": "Fault to the first acknowledged write invoked after it",
    "read_recovery": "Fault to the first acknowledged read invoked after it",
    "dns_convergence": DNS_HELP,
    "dns_convergence_by_name": DNS_HELP + ", per name",
    "ground_truth_leader_serving": "From the servers' own logs: fault until the new leader "
    "is broadcasting",
    "ground_truth_full_redundancy": "From the servers' own logs: fault until every peer "
    "serves again",
}
DNS_KEYS = {"raw": "dns_convergence_s", "cached": "dns_convergence_cached_s"}
RESOLUTIONS = {"role_s": "role", "dns_s": "dns", "client_s": "client"}


class _Families:
    """Gauge families by name, each with a fixed label set, filled sample by sample."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[GaugeMetricFamily, tuple[str, ...]]] = {}

    def add(self, name: str, help_text: str, labels: dict[str, str], value: float) -> None:
        unit = "seconds" if name.endswith("_seconds") else ""
        if name not in self._families:
            family = GaugeMetricFamily(name, help_text, labels=list(labels), unit=unit)
            self._families[name] = (family, tuple(labels))
        family, names = self._families[name]
        if tuple(labels) != names:
            raise ValueError(f"{name}: labels {sorted(labels)} differ from {sorted(names)}")
        family.add_metric([labels[label] for label in names], float(value))

    def __iter__(self) -> Iterator[Metric]:
        return (family for family, _ in self._families.values())


def figure_of(key: str) -> tuple[str, dict[str, str]]:
    """`election_time_s` -> ("election_time", {}); DNS keys carry their view."""
    if key in VIEWS:
        figure, view = VIEWS[key]
        return figure, {"view": view}
    return key.removesuffix("_s"), {}


def _distribution(
    families: _Families, figure: str, labels: dict[str, str], dist: dict[str, Any]
) -> None:
    """One distribution's samples: reached statistics, lower bounds, counts."""
    about = FIGURES.get(figure, f"peerchaos figure {figure}")
    base = f"{PREFIX}{figure}"
    for stat in STAT_NAMES:
        stat_labels = {**labels, "stat": stat}
        if dist.get(f"{stat}_censored"):
            families.add(
                f"{base}_at_least_seconds",
                f"{about}: lower bound of a censored statistic (its trial's window ended first)",
                stat_labels,
                dist[f"{stat}_at_least"],
            )
        elif dist.get(stat) is not None:
            families.add(
                f"{base}_seconds", f"{about} (nearest-rank statistic)", stat_labels, dist[stat]
            )
    families.add(
        f"{base}_samples",
        f"{about}: values the statistics rank, censored included",
        labels,
        dist.get("n", 0),
    )
    families.add(
        f"{base}_censored_samples",
        f"{about}: values cut short by their window",
        labels,
        dist.get("n_censored", 0),
    )


def dns_by_name(trials: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (view, name): the distribution over the trials that changed what the name should
    answer, censored as the run's own DNS distribution is (lower bound: the window)."""
    values: dict[tuple[str, str], list[Value]] = {}
    for trial in trials:
        for view, key in DNS_KEYS.items():
            censored = trial.get(f"{key.removesuffix('_s')}_censored") or {}
            for name, seconds in (trial.get(key) or {}).items():
                if censored.get(name):
                    window = trial.get("window_s")
                    value = Value(None, True, window if isinstance(window, int | float) else 0.0)
                elif isinstance(seconds, int | float) and not isinstance(seconds, bool):
                    value = Value(float(seconds))
                else:
                    continue
                values.setdefault((view, str(name)), []).append(value)
    return {where: distribution(found) for where, found in sorted(values.items())}


def _run(families: _Families, record: RunRecord, labels: dict[str, str]) -> None:
    summary = record.summary
    families.add(
        f"{PREFIX}run_passed",
        "1 when the run passed (its report's verdict), else 0",
        labels,
        1 if record.outcome == "passed" else 0,
    )
    if record.timestamp is not None:
        families.add(
            f"{PREFIX}run_timestamp_seconds",
            "When the run ended (its start when the end is unknown), epoch seconds",
            labels,
            record.timestamp,
        )
    if record.started is not None and record.ended is not None:
        families.add(
            f"{PREFIX}run_duration_seconds",
            "From the run's start to its end",
            labels,
            record.ended - record.started,
        )
    families.add(
        f"{PREFIX}run_trials",
        "Faults in the run (one fault on several pods is one)",
        labels,
        len(summary.get("trials") or []),
    )
    families.add(
        f"{PREFIX}run_observed_trials",
        "Trials the probes saw, so measured",
        labels,
        len(record.observed_trials),
    )
    gaps = (summary.get("probe_health") or {}).get("gaps")
    if isinstance(gaps, int) and not isinstance(gaps, bool):
        families.add(
            f"{PREFIX}run_probe_gaps", "Stalls of the run's probes (late polls)", labels, gaps
        )
    for key, probe in RESOLUTIONS.items():
        seconds = (summary.get("resolution_s") or {}).get(key)
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            families.add(
                f"{PREFIX}resolution_seconds",
                "Probe period: the figures' resolution",
                {**labels, "probe": probe},
                seconds,
            )
    checks = summary.get("checks") or {}
    results = (checks.get("details") or {}).get("results") or {}
    overall = checks.get("valid")
    if isinstance(overall, bool):
        families.add(
            f"{PREFIX}checks_valid",
            "1 when every checker answered true, 0 when one "
            "answered false; absent when the answer is unknown",
            labels,
            int(overall),
        )
    for name, result in results.items():
        if isinstance(result.get("valid"), bool):
            families.add(
                f"{PREFIX}check_valid",
                "1 when the checker answered true, 0 false; absent when unknown",
                {**labels, "check": str(name)},
                int(result["valid"]),
            )
    unknown = sum(1 for r in results.values() if r.get("valid") == "unknown")
    families.add(
        f"{PREFIX}checks_unknown",
        "Checkers that answered unknown (ran out of budget): neither passed nor failed",
        labels,
        unknown,
    )


def families(record: RunRecord) -> list[Metric]:
    """Every metric family of the run, in a stable order."""
    labels = {"experiment": record.experiment}
    found = _Families()
    _run(found, record, labels)
    for key, dist in record.summary["metrics"].items():
        figure, extra = figure_of(key)
        _distribution(found, figure, {**labels, **extra}, dist)
    for (view, name), dist in dns_by_name(record.observed_trials).items():
        _distribution(
            found, "dns_convergence_by_name", {**labels, "view": view, "name": name}, dist
        )
    info = InfoMetricFamily(
        f"{PREFIX}run", "The run these figures come from", labels=["experiment"]
    )
    info.add_metric(
        [record.experiment],
        {
            "run_id": record.run_id,
            "runtime": str(record.summary.get("runtime") or record.meta.get("runtime") or ""),
            "status": record.status,
            "outcome": record.outcome,
        },
    )
    return [*found, info]


class RunCollector(Collector):
    """A collector holding one run's families (computed once, when it is made)."""

    def __init__(self, record: RunRecord) -> None:
        self._families = families(record)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def run_registry(record: RunRecord) -> CollectorRegistry:
    """A registry of the run's figures and nothing else (no process or platform metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(record))
    return registry


def openmetrics_text(registry: CollectorRegistry) -> str:
    """The registry in the OpenMetrics text format, `# EOF` included."""
    return generate_latest(registry).decode()
