"""Chaos Toolkit probes for steady-state hypotheses, with tolerances in the experiment.

Live probes ask the ensemble now (quorum, leader, ready peers). Measured probes read
the run's summary, which the control computes after the method, so a hypothesis can
say "a new leader within 2 s" as a range tolerance on `election_time`.
"""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from peerchaos import ensemble as ens
from peerchaos.ctk.session import open_session
from peerchaos.errors import PeerchaosError

__all__ = [
    "checks_valid",
    "dns_convergence",
    "dual_leader_time",
    "election_time",
    "ensemble_has_quorum",
    "history_linearizable",
    "leader_changes",
    "leader_elected",
    "no_lost_writes",
    "ready_peers",
    "write_recovery",
    "write_recovery_after_heal",
]

STATS = ("last", "p50", "p95", "max")


def ensemble_has_quorum(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when a leader is followed by a majority of peers."""
    session = open_session(configuration)
    try:
        return ens.current_leader(ens.roles(session.runtime)) is not None
    except PeerchaosError as error:
        raise ActivityFailed(str(error)) from None


def leader_elected(configuration: Configuration = None, secrets: Secrets = None) -> str:
    """The current leader's pod name, or "" when there is none."""
    session = open_session(configuration)
    try:
        return ens.current_leader(ens.roles(session.runtime)) or ""
    except PeerchaosError as error:
        raise ActivityFailed(str(error)) from None


def ready_peers(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """How many peers are Ready (their endpoint is published as ready)."""
    session = open_session(configuration)
    try:
        return sum(1 for pod in session.runtime.pods() if pod.ready)
    except PeerchaosError as error:
        raise ActivityFailed(str(error)) from None


NOT_YET: dict[str, Any] = {"trials": [], "checks": {"valid": True, "details": {"results": {}}}}


def _summary(configuration: Configuration) -> dict[str, Any]:
    """The run's summary; before the method (no fault yet) an empty one.

    The steady-state hypothesis runs before and after the method, so a measured probe
    answers "nothing happened yet" before it: no election delay, no lost write.
    """
    session = open_session(configuration)
    if session.summary is not None:
        return session.summary
    if session.run is None:
        raise ActivityFailed(
            "measurements: no run (add the peerchaos control, module peerchaos.ctk.control, "
            "to the experiment's controls)"
        )
    return NOT_YET


def _stat(values: list[float | None], stat: str, what: str) -> float:
    if stat not in STATS:
        raise ActivityFailed(f"{what}: stat must be one of {', '.join(STATS)} (got {stat!r})")
    if not values:
        return 0.0  # no fault, no delay
    if stat == "last":
        value = values[-1]
    else:
        present = sorted(v for v in values if v is not None)
        if len(present) < len(values):
            # A trial that never recovered is no number; as a figure it is infinitely late.
            return float("inf")
        index = {"p50": (len(present) - 1) // 2, "p95": max(0, -(-95 * len(present) // 100) - 1)}
        value = present[index.get(stat, len(present) - 1)]
    return float("inf") if value is None else float(value)


def _observed(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in summary["trials"] if t.get("observed", True)]


def election_time(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Seconds from fault to a new leader followed by a majority (inf if none came).

    A trial whose restarted victim won the new epoch itself has no election time by the
    definition (the victim is excluded) and is left out rather than counted as never."""
    trials = _observed(_summary(configuration))
    values = [
        t["election_time_s"]
        for t in trials
        if not (t.get("victim_re_elected") and t["election_time_s"] is None)
    ]
    return _stat(values, stat, "election_time")


def write_recovery(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Seconds from fault to the first acknowledged write invoked after it."""
    trials = _observed(_summary(configuration))
    return _stat([t["write_recovery_s"] for t in trials], stat, "write_recovery")


def write_recovery_after_heal(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Seconds from the heal (Endpoints restored, partition healed) to the first acked write."""
    trials = _observed(_summary(configuration))
    return _stat(
        [t.get("write_recovery_after_heal_s") for t in trials], stat, "write_recovery_after_heal"
    )


def dns_convergence(
    name: str = "headless",
    view: str = "raw",
    stat: str = "max",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Seconds until every DNS probe saw the final answer for `name` (headless, client or FQDN)."""
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
    trials = _observed(_summary(configuration))
    return _stat([t[key].get(fqdn) for t in trials], stat, f"dns_convergence {fqdn}")


def leader_changes(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """How many trials ended with a new leader (a follower kill should give 0)."""
    return sum(1 for t in _observed(_summary(configuration)) if t["new_leader"])


def dual_leader_time(
    stat: str = "max", configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Seconds during which two peers answered `srvr` as leader at once."""
    trials = _observed(_summary(configuration))
    return _stat([t.get("dual_leader_s", 0.0) for t in trials], stat, "dual_leader_time")


def _check(name: str, configuration: Configuration) -> bool:
    checks = _summary(configuration)["checks"]
    results = checks.get("details", {}).get("results", {})
    if not results:
        return True  # before the method: no history yet
    if name not in results:
        raise ActivityFailed(f"checks: no {name} result in the summary")
    return results[name]["valid"] is True


def no_lost_writes(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when every acknowledged write survived (durability check)."""
    return _check("durability", configuration)


def history_linearizable(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when the writes and compare-and-sets form a linearizable history."""
    return _check("linearizable-writes", configuration)


def checks_valid(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when every default check is true (false and unknown both fail)."""
    return _summary(configuration)["checks"]["valid"] is True


def connections_to_unready_peers(
    connections: int = 12, configuration: Configuration = None, secrets: Secrets = None
) -> int:
    """Open fresh connections through the client Service; count those an unready peer took.

    Each connection asks ZooKeeper's `conf`, whose `serverId` names the peer that
    answered. The largest count seen in this run is returned, so a hypothesis after
    the method still sees what happened while a peer was unready.
    """
    from peerchaos.ctk.validate import check_argument
    from peerchaos.zookeeper.fourletter import ask

    try:
        connections = check_argument("connections", connections, "connections_to_unready_peers")
    except PeerchaosError as error:
        raise ActivityFailed(str(error)) from None
    session = open_session(configuration)
    try:
        pods = session.runtime.pods()
        vip = session.runtime.client_service_address()
    except PeerchaosError as error:
        raise ActivityFailed(str(error)) from None
    unready = {pod.ordinal + 1 for pod in pods if pod.phase == "Running" and not pod.ready}
    hits = 0
    for _ in range(connections):
        try:
            reply = ask(vip[0], vip[1], "conf", timeout_s=2)
        except OSError:
            continue
        ids = [line.split("=", 1)[1] for line in reply.splitlines() if line.startswith("serverId=")]
        if ids and int(ids[0]) in unready:
            hits += 1
    seen = max(hits, session.notes.get("connections_to_unready", 0))
    session.notes["connections_to_unready"] = seen
    return seen


def headless_dns_lists_unready_peers(
    configuration: Configuration = None, secrets: Secrets = None
) -> bool:
    """Whether the headless name answers with the addresses of running, unready peers now.

    True is expected with publishNotReadyAddresses, false without it. Remembered like
    `connections_to_unready_peers`: once true in a run, it stays true.
    """
    from peerchaos.ensemble import resolve

    session = open_session(configuration)
    spec = session.config.spec
    try:
        unready = {p.ip for p in session.runtime.pods() if p.phase == "Running" and not p.ready}
        answer = resolve(
            session.runtime.dns_server(), spec.service_fqdn(spec.headless_service.name)
        )
    except PeerchaosError as error:
        raise ActivityFailed(str(error)) from None
    listed = bool(unready) and bool(unready & set(answer.addresses))
    seen = listed or session.notes.get("headless_lists_unready", False)
    session.notes["headless_lists_unready"] = seen
    return seen
