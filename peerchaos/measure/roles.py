"""What the role probe saw, as figures: election, full redundancy, zero tolerance, outages.

The role probe records each peer's (mode, epoch) when it changes. From that stream:
- election time: `t_fault` to the first answer showing a leader of a newer epoch than any
  before the fault, not a victim, while it and the peers following make a majority (an
  old leader still answering as leader — cut off, not yet aware — is not one of them);
- full redundancy: `t_fault` until every peer serves again in the new epoch — a peer
  that left service (looking, unreachable, killed) must have come back; with a new
  epoch, a peer that never left service is still following the old leader;
- zero tolerance: time within the trial during which no more than a bare majority served
  (one more fault stops writes);
- peer outage: per peer, from leaving service (for a killed or paused victim: the
  fault) to serving again.
A figure the window ended before is censored (see `stats`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from peerchaos.measure.stats import Value
from peerchaos.systems.base import SERVING_MODES

SERVING = SERVING_MODES  # the role probe's modes that serve, for every system
LEAVES_AT_FAULT = ("kill", "pause")  # the victim stops serving the moment the fault lands


def majority(replicas: int) -> int:
    return replicas // 2 + 1


def replay(
    roles: list[dict[str, Any]], start: float, until: float
) -> Iterator[tuple[float, dict[str, dict[str, Any]]]]:
    """(t, latest answer per pod) at `start`, then after each answer in (start, until]."""
    latest: dict[str, dict[str, Any]] = {}
    for e in roles:
        if e["t"] > start:
            break
        latest[e["pod"]] = e
    yield start, dict(latest)
    for e in roles:
        if start < e["t"] <= until:
            latest[e["pod"]] = e
            yield e["t"], dict(latest)


def epoch_before(roles: list[dict[str, Any]], t_fault: float) -> int:
    epochs = [
        e["epoch"]
        for e in roles
        if e["t"] <= t_fault and e["mode"] == "leader" and e.get("epoch") is not None
    ]
    return max(epochs, default=-1)


def serving(latest: dict[str, dict[str, Any]]) -> set[str]:
    return {pod for pod, e in latest.items() if e["mode"] in SERVING}


def election(
    roles: list[dict[str, Any]],
    t_fault: float,
    until: float,
    excluded: set[str],
    pods: set[str],
) -> dict[str, Any]:
    """First new-epoch leader (not in `excluded`) followed by a majority in the window."""
    before = epoch_before(roles, t_fault)
    for t, latest in replay(roles, t_fault, until):
        if t <= t_fault:
            continue
        leaders = [
            e
            for e in latest.values()
            if e["mode"] == "leader" and e["pod"] not in excluded and (e["epoch"] or -1) > before
        ]
        if not leaders:
            continue
        leader = leaders[0]
        # The new leader and the peers following: an old leader still answering as one
        # (cut off by a partition, its view not yet updated) is not part of its quorum.
        quorum = {leader["pod"]} | {p for p, e in latest.items() if e["mode"] == "follower"}
        if len(quorum) >= majority(len(pods)):
            return {
                "t": t,
                "leader": leader["pod"],
                "epoch": leader["epoch"],
                "s": t - t_fault,
                "quorum": sorted(quorum),
            }
    return {"t": None, "leader": None, "epoch": None, "s": None, "quorum": []}


class Service:
    """Per peer, whether it is back in service at each moment of one trial."""

    def __init__(
        self,
        roles: list[dict[str, Any]],
        t_fault: float,
        until: float,
        victims: list[str],
        fault: str,
        pods: set[str],
    ) -> None:
        self.roles, self.t_fault, self.until, self.pods = roles, t_fault, until, pods
        self.before = epoch_before(roles, t_fault)
        won = election(roles, t_fault, until, set(), pods)
        self.target_epoch = won["epoch"] if won["epoch"] is not None else self.before
        self.new_leader = won["leader"]
        self.left: dict[str, float] = {}  # pod -> when it first left service in the trial
        # A killed or paused victim left at the fault, but counts as back only once it was
        # seen out of service: an answer that raced the signal is not a comeback.
        self.seen_out: set[str] = set()
        if fault in LEAVES_AT_FAULT:
            self.left.update({pod: t_fault for pod in victims})

    def back(self, pod: str, latest: dict[str, dict[str, Any]]) -> bool:
        e = latest.get(pod)
        if e is None or e["mode"] not in SERVING:
            return False
        if pod in self.left:
            return e["t"] > self.left[pod] and pod in self.seen_out
        if self.target_epoch > self.before and pod != self.new_leader:
            # A new leader came; a peer that never left service still follows the old one.
            return (e.get("epoch") or -1) >= self.target_epoch
        return True

    def walk(self) -> Iterator[tuple[float, dict[str, dict[str, Any]]]]:
        for t, latest in replay(self.roles, self.t_fault, self.until):
            if t > self.t_fault:
                for pod, e in latest.items():
                    if e["t"] > self.t_fault and e["mode"] not in SERVING:
                        self.left.setdefault(pod, e["t"])
                        self.seen_out.add(pod)
            yield t, latest


def redundancy(service: Service) -> dict[str, Any]:
    """Full redundancy and the per-peer outages of one trial."""
    dipped = False
    full: Value | None = None
    returned: dict[str, float] = {}
    for t, latest in service.walk():
        for pod in service.pods:
            if pod in service.left and pod not in returned and service.back(pod, latest):
                returned[pod] = t
        everyone = all(service.back(pod, latest) for pod in service.pods)
        if not everyone:
            dipped = True
        elif dipped and full is None:
            full = Value.reached(t - service.t_fault)
    window = service.until - service.t_fault
    if full is None:
        # Never short of a peer (e.g. an unready peer keeps serving): nothing was lost.
        full = Value.cut_short(window) if dipped else Value.reached(0.0)
    outages = {}
    for pod, left in sorted(service.left.items()):
        if pod in returned:
            outages[pod] = Value.reached(returned[pod] - left)
        else:
            outages[pod] = Value.cut_short(service.until - left)
    return {"full": full, "outages": outages}


def zero_tolerance(
    roles: list[dict[str, Any]],
    t_fault: float,
    until: float,
    replicas: int,
    victims: list[str],
    fault: str,
) -> Value:
    """Seconds within the window with at most a bare majority serving; censored when the
    window ends in that state."""
    total = 0.0
    since: float | None = None
    bare = majority(replicas)
    # The fault has landed before the probe sees the victim go: it counts as down already.
    down = set(victims) if fault in LEAVES_AT_FAULT else set()
    for t, latest in replay(roles, t_fault, until):
        down = {p for p in down if latest.get(p, {}).get("t", t_fault) <= t_fault}
        up = serving(latest) - down
        if len(up) <= bare and since is None:
            since = t
        elif len(up) > bare and since is not None:
            total += t - since
            since = None
    if since is not None:
        return Value.cut_short(total + until - since)
    return Value.reached(total)


def dual_leader_time(roles: list[dict[str, Any]], start: float, until: float) -> float:
    """Seconds within [start, until] during which two or more peers answered as leader."""
    total = 0.0
    since: float | None = None
    for t, latest in replay(roles, start, until):
        leaders = sum(1 for e in latest.values() if e["mode"] == "leader")
        if leaders >= 2 and since is None:
            since = t
        elif leaders < 2 and since is not None:
            total += t - since
            since = None
    if since is not None:
        total += until - since
    return total


def victim_serving_again(
    roles: list[dict[str, Any]], t_fault: float, until: float, victim: str | None
) -> float | None:
    """A restarted or isolated victim serving again after it was seen out of service."""
    seen_out = False
    for e in roles:
        if e["pod"] != victim or not t_fault < e["t"] <= until:
            continue
        if e["mode"] not in SERVING:
            seen_out = True
        elif seen_out:
            return e["t"] - t_fault
    return None
