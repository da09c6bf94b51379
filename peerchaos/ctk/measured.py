"""Measured probes: figures of the run's summary, which the control computes after the method.

A hypothesis says "a new leader within 2 s" as a range tolerance on `election_time`.
Each probe answers a statistic (`last`, `p50`, `p95`, `max`, nearest rank) over the
observed trials; a trial cut short by its window counts, censored, and a statistic that
lands on it fails the probe with "> X s". A probe with no usable trial fails with
"no data" and the reason — it never meets a tolerance by answering 0.
"""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from peerchaos.ctk.session import open_session
from peerchaos.measure.stats import STATS, Value, from_trial, statistic

NO_FAULT_YET = "no fault yet"
MEASURED = frozenset(
    {
        "election_time",
        "full_redundancy",
        "zero_tolerance",
        "client_unavailability",
        "peer_outage",
        "write_recovery",
        "write_recovery_after_heal",
        "dns_convergence",
        "leader_changes",
        "dual_leader_time",
        "no_lost_writes",
        "history_linearizable",
        "reads_linearizable",
        "checks_valid",
    }
)


class _NoFaultYet(Exception):
    """Before the method nothing was measured; the probe says so instead of a number."""


def _summary(configuration: Configuration) -> dict[str, Any]:
    """The run's summary, computed by the control after the method.

    Before the method the control leaves measured probes out of the hypothesis (see
    `peerchaos.ctk.control`); called anyway, they answer "no fault yet", never 0 s.
    """
    session = open_session(configuration)
    if session.summary is not None:
        return session.summary
    if session.run is None:
        raise ActivityFailed(
            "measurements: no run (add the peerchaos control, module peerchaos.ctk.control, "
            "to the experiment's controls)"
        )
    raise _NoFaultYet()


def _observed(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in summary["trials"] if t.get("observed", True)]


def _answer(values: list[Value], stat: str, what: str, none_why: str) -> float:
    """The statistic as a number; no data or a censored statistic fails, naming why."""
    if stat not in STATS:
        raise ActivityFailed(f"{what}: stat must be one of {', '.join(STATS)} (got {stat!r})")
    picked = statistic(values, stat)
    if picked is None:
        raise ActivityFailed(f"{what} {stat}: no data ({none_why})")
    if picked.censored:
        raise ActivityFailed(
            f"{what} {stat}: {picked.text()} — not reached before its trial's window ended "
            f"({sum(v.censored for v in values)} of {len(values)} trials censored)"
        )
    return float(picked.s or 0.0)


def _figure(
    key: str, stat: str, configuration: Configuration, keep: Any = None, why: str = ""
) -> float | str:
    try:
        trials = _observed(_summary(configuration))
    except _NoFaultYet:
        return NO_FAULT_YET
    chosen = [t for t in trials if keep is None or keep(t)]
    values = [v for t in chosen if (v := from_trial(t, key)) is not None]
    reason = why or ("no observed trial" if not trials else f"no trial measured {key}")
    return _answer(values, stat, key.removesuffix("_s"), reason)


def election_time(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float | str:
    """Seconds from fault to a new leader followed by a majority.

    Trials with no election due (the leader was not hit) and trials whose restarted
    victim won the new epoch itself (no election time by the definition: the victim is
    excluded) are left out; a trial that never elected one counts, censored."""
    return _figure(
        "election_time_s",
        stat,
        configuration,
        keep=lambda t: t.get("election_expected", True) and not t.get("victim_re_elected"),
        why="no trial had an election due (the leader was never taken out of service)",
    )


def full_redundancy(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float | str:
    """Seconds from fault until every peer serves again in the new epoch."""
    return _figure("full_redundancy_s", stat, configuration)


def zero_tolerance(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float | str:
    """Seconds of a trial during which at most a bare majority served."""
    return _figure("zero_tolerance_s", stat, configuration)


def client_unavailability(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float | str:
    """The longest gap between acknowledged client ops spanning the fault."""
    return _figure("client_unavailability_s", stat, configuration)


def peer_outage(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float | str:
    """Per peer and trial, from leaving service to serving again."""
    try:
        trials = _observed(_summary(configuration))
    except _NoFaultYet:
        return NO_FAULT_YET
    values = [
        Value(None, True, t.get("window_s"))
        if (t.get("peer_outage_censored") or {}).get(pod)
        else Value(s)
        for t in trials
        for pod, s in (t.get("peer_outage_s") or {}).items()
    ]
    return _answer(values, stat, "peer_outage", "no peer left service in any trial")


def write_recovery(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float | str:
    """Seconds from fault to the first acknowledged write invoked after it."""
    return _figure("write_recovery_s", stat, configuration, why="no writes in the history")


def write_recovery_after_heal(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float | str:
    """Seconds from the heal (Endpoints restored, partition healed) to the first acked write."""
    try:
        trials = _observed(_summary(configuration))
    except _NoFaultYet:
        return NO_FAULT_YET
    healed = [t for t in trials if t.get("t_heal") is not None]
    values = [
        Value(t["write_recovery_after_heal_s"])
        if t.get("write_recovery_after_heal_s") is not None
        else Value(None, True, t.get("until", 0) - t["t_heal"])
        for t in healed
    ]
    return _answer(values, stat, "write_recovery_after_heal", "no trial was healed")


def dns_convergence(
    name: str = "headless",
    view: str = "raw",
    stat: str = "max",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float | str:
    """Seconds until every DNS probe's view of `name` equals the truth for good (headless,
    client or an FQDN); only trials that changed what the name should answer count."""
    if not isinstance(name, str):
        raise ActivityFailed(f"dns_convergence: name must be a string (got {name!r})")
    session = open_session(configuration)
    spec = session.config.spec
    aliases = {
        "headless": spec.service_fqdn(spec.headless_service.name),
        "client": spec.service_fqdn(spec.client_service.name),
    }
    fqdn = aliases.get(name, name)
    if view not in ("raw", "cached"):
        raise ActivityFailed(f"dns_convergence: view must be raw or cached (got {view!r})")
    key = "dns_convergence_s" if view == "raw" else "dns_convergence_cached_s"
    censored = f"{key.removesuffix('_s')}_censored"
    try:
        trials = _observed(_summary(configuration))
    except _NoFaultYet:
        return NO_FAULT_YET
    values = [
        Value(None, True, t.get("window_s"))
        if (t.get(censored) or {}).get(fqdn)
        else Value(t[key][fqdn])
        for t in trials
        if fqdn in (t.get(key) or {})
    ]
    return _answer(
        values,
        stat,
        f"dns_convergence {fqdn} ({view})",
        "no trial changed what the name should answer",
    )


def leader_changes(configuration: Configuration = None, secrets: Secrets = None) -> int | str:
    """How many trials ended with a new leader (a follower kill should give 0)."""
    try:
        trials = _observed(_summary(configuration))
    except _NoFaultYet:
        return NO_FAULT_YET
    if not trials:
        raise ActivityFailed("leader_changes: no data (no observed trial)")
    return sum(1 for t in trials if t["new_leader"])


def dual_leader_time(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float | str:
    """Seconds during which two peers answered the role probe as leader at once."""
    try:
        trials = _observed(_summary(configuration))
    except _NoFaultYet:
        return NO_FAULT_YET
    values = [Value(t.get("dual_leader_s", 0.0)) for t in trials]
    return _answer(values, stat, "dual_leader_time", "no observed trial")


def _check(name: str, configuration: Configuration) -> bool | str:
    try:
        checks = _summary(configuration)["checks"]
    except _NoFaultYet:
        return NO_FAULT_YET
    results = checks.get("details", {}).get("results", {})
    if name not in results:
        raise ActivityFailed(f"checks: no {name} result in the summary (no client history?)")
    return results[name]["valid"] is True


def no_lost_writes(configuration: Configuration = None, secrets: Secrets = None) -> bool | str:
    """True when every acknowledged write survived (durability check)."""
    return _check("durability", configuration)


def history_linearizable(
    configuration: Configuration = None, secrets: Secrets = None
) -> bool | str:
    """True when the writes and compare-and-sets form a linearizable history."""
    return _check("linearizable-writes", configuration)


def reads_linearizable(
    configuration: Configuration = None, secrets: Secrets = None
) -> bool | str:
    """True when the whole history, reads included, is linearizable (for a system that
    promises linearizable reads, such as etcd; its runs check the reads)."""
    return _check("linearizable-full", configuration)


def checks_valid(configuration: Configuration = None, secrets: Secrets = None) -> bool | str:
    """True when every default check is true (false and unknown both fail)."""
    try:
        return _summary(configuration)["checks"]["valid"] is True
    except _NoFaultYet:
        return NO_FAULT_YET
