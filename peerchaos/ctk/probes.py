"""Chaos Toolkit probes for steady-state hypotheses, with tolerances in the experiment.

Live probes ask the ensemble now (quorum, leader, ready peers). Measured probes
(`peerchaos.ctk.measured`, importable from here too) read the run's summary, which the
control computes after the method, so a hypothesis can say "a new leader within 2 s"
as a range tolerance on `election_time`.
"""

from __future__ import annotations

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from peerchaos import ensemble as ens
from peerchaos.ctk.measured import (
    checks_valid,
    client_unavailability,
    dns_convergence,
    dual_leader_time,
    election_time,
    full_redundancy,
    history_linearizable,
    leader_changes,
    no_lost_writes,
    peer_outage,
    reads_linearizable,
    write_recovery,
    write_recovery_after_heal,
    zero_tolerance,
)
from peerchaos.ctk.session import open_session
from peerchaos.errors import PeerchaosError

__all__ = [
    "checks_valid",
    "client_unavailability",
    "connections_to_unready_peers",
    "dns_convergence",
    "dual_leader_time",
    "election_time",
    "ensemble_has_quorum",
    "full_redundancy",
    "headless_dns_lists_unready_peers",
    "history_linearizable",
    "leader_changes",
    "leader_elected",
    "no_lost_writes",
    "peer_outage",
    "reads_linearizable",
    "ready_peers",
    "write_recovery",
    "write_recovery_after_heal",
    "zero_tolerance",
]


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


def connections_to_unready_peers(
    connections: int = 12, configuration: Configuration = None, secrets: Secrets = None
) -> int:
    """Open fresh connections through the client Service; count those an unready peer took.

    Each connection asks which peer answered, as the system can tell
    (`System.answering_ordinal`; ZooKeeper: `conf`'s serverId). The largest count seen in
    this run is returned, so a hypothesis after the method still sees what happened while
    a peer was unready.
    """
    from peerchaos.ctk.validate import check_argument
    from peerchaos.systems import get_system

    try:
        connections = check_argument("connections", connections, "connections_to_unready_peers")
    except PeerchaosError as error:
        raise ActivityFailed(str(error)) from None
    session = open_session(configuration)
    try:
        pods = session.runtime.pods()
        vip = session.runtime.client_service_address()
        system = get_system(session.runtime.system())
    except PeerchaosError as error:
        raise ActivityFailed(str(error)) from None
    unready = {pod.ordinal for pod in pods if pod.phase == "Running" and not pod.ready}
    hits = 0
    for _ in range(connections):
        if system.answering_ordinal(vip[0], vip[1], 2.0) in unready:
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
