"""Distributions across trials as data: one strip per measured figure, its ground truth beside.

Each measured strip (election time, full redundancy, zero tolerance, client
unavailability, write and read recovery, DNS convergence raw and through the cache)
holds one `Value` per trial — or per affected name, for DNS — censored ones included
as lower bounds, and its p50 and p95 from `peerchaos.measure.stats` (nearest rank, the
same figures `summary.json` holds; a censored statistic stays a bound). Ground-truth
strips follow the figure they judge: the peers' own logs (the new leader serving, every
peer serving again) and the moment each name's truth changed (the runtime's endpoints).
A peer's logged vote (ZooKeeper's per-peer election line) is its own, not an election,
and has no strip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peerchaos.measure.stats import Value, statistic
from peerchaos.report.values import dict_of, number, trial_value


@dataclass(frozen=True)
class Strip:
    label: str
    values: tuple[Value, ...]
    p50: Value | None
    p95: Value | None
    truth: bool  # a ground-truth reference, not a probe measurement
    group: str  # strips of a group are drawn together: election, redundancy, clients, dns

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def reached(self) -> list[float]:
        return [v.s for v in self.values if not v.censored and v.s is not None]

    @property
    def censored(self) -> list[float]:
        """The lower bounds of the censored values."""
        return [v.at_least or 0.0 for v in self.values if v.censored]


def _strip(label: str, values: list[Value | None], group: str, truth: bool = False) -> Strip:
    kept = [v for v in values if v is not None and (v.censored or v.s is not None)]
    return Strip(label, tuple(kept), statistic(kept, "p50"), statistic(kept, "p95"), truth, group)


def _figure(trials: list[dict[str, Any]], key: str) -> list[Value | None]:
    return [trial_value(t, key) for t in trials]


def _truth(trials: list[dict[str, Any]], key: str) -> list[Value | None]:
    found = [dict_of(t.get("ground_truth")).get(key) for t in trials]
    return [Value(float(v)) if number(v) else None for v in found]


def _per_name(trials: list[dict[str, Any]], key: str) -> list[Value | None]:
    """Per affected name, as the summary's metrics count them (censored: the window)."""
    censored_key = f"{key.removesuffix('_s')}_censored"
    values: list[Value | None] = []
    for trial in trials:
        censored = dict_of(trial.get(censored_key))
        window = trial.get("window_s")
        for name, s in dict_of(trial.get(key)).items():
            if censored.get(name):
                values.append(Value(None, True, float(window) if number(window) else None))
            elif number(s):
                values.append(Value(float(s)))
    return values


def _dns_truth(trials: list[dict[str, Any]]) -> list[Value | None]:
    found = []
    for trial in trials:
        found += dict_of(dict_of(trial.get("ground_truth")).get("dns_truth_s")).values()
    return [Value(float(v)) for v in found if number(v)]


def strips(trials: list[dict[str, Any]]) -> list[Strip]:
    """The strips of the observed trials, in drawing order; empty strips are kept (n=0)."""
    # As the summary's metrics: an election counts where one was due and the victim
    # did not simply win again.
    elections = [
        t
        for t in trials
        if t.get("election_expected", True) is not False and not t.get("victim_re_elected")
    ]
    return [
        _strip("election (probes)", _figure(elections, "election_time_s"), "election"),
        _strip(
            "leader serving (peer logs)",
            _truth(trials, "leader_serving_s"),
            "election",
            truth=True,
        ),
        _strip("full redundancy (probes)", _figure(trials, "full_redundancy_s"), "redundancy"),
        _strip(
            "every peer serving (peer logs)",
            _truth(trials, "full_redundancy_s"),
            "redundancy",
            truth=True,
        ),
        _strip("zero tolerance", _figure(trials, "zero_tolerance_s"), "redundancy"),
        _strip("client unavailability", _figure(trials, "client_unavailability_s"), "clients"),
        _strip("write recovery", _figure(trials, "write_recovery_s"), "clients"),
        _strip("read recovery", _figure(trials, "read_recovery_s"), "clients"),
        _strip("DNS convergence (raw)", _per_name(trials, "dns_convergence_s"), "dns"),
        _strip("DNS convergence (cached)", _per_name(trials, "dns_convergence_cached_s"), "dns"),
        _strip("name's truth changed (runtime)", _dns_truth(trials), "dns", truth=True),
    ]


def drawable(found: list[Strip]) -> list[Strip]:
    """The strips worth a row in the figure: those with at least one value."""
    return [s for s in found if s.n]
