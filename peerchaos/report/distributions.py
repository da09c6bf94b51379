"""Distributions across trials as data: one strip per measured figure, its ground truth beside.

Each measured strip (election time, write and read recovery, DNS convergence raw and
through the cache) carries its p50 and p95 (nearest rank, as `summary.json`), and is
followed by the reference it is judged against, drawn apart so the error shows at a
glance: the peers' logs (the new leader serving, ZooKeeper's own `ELECTION TOOK`) for
the election, the runtime's first endpoint change for DNS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peerchaos.measure import distribution


@dataclass(frozen=True)
class Strip:
    label: str
    values: tuple[float, ...]
    p50: float | None
    p95: float | None
    truth: bool  # a ground-truth reference, not a probe measurement
    group: str  # strips of a group are drawn together: "election", "recovery", "dns"

    @property
    def n(self) -> int:
        return len(self.values)


def _strip(label: str, values: list[Any], group: str, truth: bool = False) -> Strip:
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    stats = distribution(list(numbers))
    return Strip(label, tuple(numbers), stats["p50"], stats["p95"], truth, group)


def _per_name(trials: list[dict[str, Any]], key: str) -> list[Any]:
    return [v for t in trials for v in (t.get(key) or {}).values()]


def _truth(trial: dict[str, Any], key: str) -> Any:
    return (trial.get("ground_truth") or {}).get(key)


def _election_took_s(trial: dict[str, Any]) -> float | None:
    # The slowest peer's count: the ensemble had its leader when the last one was done.
    took = [e.get("ms") for e in _truth(trial, "election_took_ms") or []]
    took = [ms for ms in took if isinstance(ms, int | float)]
    return max(took) / 1000 if took else None


def strips(trials: list[dict[str, Any]]) -> list[Strip]:
    """The strips of the observed trials, in drawing order; empty strips are kept (n=0)."""
    return [
        _strip("election (probes)", [t.get("election_time_s") for t in trials], "election"),
        _strip(
            "leader serving (peer logs)",
            [_truth(t, "leader_serving_s") for t in trials],
            "election",
            truth=True,
        ),
        _strip(
            "ELECTION TOOK (peer logs)",
            [_election_took_s(t) for t in trials],
            "election",
            truth=True,
        ),
        _strip("write recovery", [t.get("write_recovery_s") for t in trials], "recovery"),
        _strip("read recovery", [t.get("read_recovery_s") for t in trials], "recovery"),
        _strip("DNS convergence (raw)", _per_name(trials, "dns_convergence_s"), "dns"),
        _strip("DNS convergence (cached)", _per_name(trials, "dns_convergence_cached_s"), "dns"),
        _strip(
            "endpoint change (runtime)",
            [_truth(t, "first_endpoint_change_s") for t in trials],
            "dns",
            truth=True,
        ),
    ]


def drawable(found: list[Strip]) -> list[Strip]:
    """The strips worth a row in the figure: those with at least one value."""
    return [s for s in found if s.n]
