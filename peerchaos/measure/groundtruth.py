"""Ground truth of a trial from the peers' own logs and the runtime's own records.

The system reads its logs (`System.parse_logs`) and names each logged state as a lane
state (`System.log_state`). Each peer's log lane follows its real states: `leader` /
`follower` only while it serves (ZooKeeper: the broadcast phase), `syncing` while it
discovers or synchronises with a leader, `candidate` / `looking`,
`down` from the moment the runtime saw its process exit (a SIGKILL ends whatever state
the log last named) and `starting` from the process start the runtime recorded until
the new process names a state. From the lanes: when the new leader started serving,
when every peer served again (full redundancy), each peer's outage — the references
the probe-measured figures are compared with.
"""

from __future__ import annotations

from typing import Any

from peerchaos.systems import get_system
from peerchaos.systems.base import System

LOG_SERVING = ("leader", "follower")


def log_lanes(
    truth: list[dict[str, Any]], events: list[dict[str, Any]], system: System | None = None
) -> dict[str, list[tuple[float, str]]]:
    """Per pod, its (t, state) changes from the log, with the runtime's exits and starts."""
    system = system or get_system()
    changes: dict[str, list[tuple[float, int, str]]] = {}
    for e in truth:
        if e.get("kind") == "peer_state" and e.get("pod"):
            changes.setdefault(e["pod"], []).append((e["t"], 1, system.log_state(e)))
    for e in events:
        if e.get("source") != "runtime" or not e.get("pod"):
            continue
        if e["kind"] == "pod_exited":
            changes.setdefault(e["pod"], []).append((e["t"], 0, "down"))
        elif e["kind"] == "pod_started":
            changes.setdefault(e["pod"], []).append((e["t"], 0, "starting"))
    lanes = {}
    for pod, items in changes.items():
        lane: list[tuple[float, str]] = []
        # At equal times the runtime's record (0) goes first, the log's states after it
        # in the log's own order (a stable sort: etcd logs `became follower` and
        # `elected leader` in the same millisecond).
        for t, _, state in sorted(items, key=lambda item: (item[0], item[1])):
            if not lane or lane[-1][1] != state:
                lane.append((t, state))
        lanes[pod] = lane
    return lanes


def _state_at(lane: list[tuple[float, str]], t: float) -> str | None:
    state = None
    for at, value in lane:
        if at > t:
            break
        state = value
    return state


def _newest_leader(
    lanes: dict[str, list[tuple[float, str]]], pods: set[str], t: float
) -> str | None:
    """The pod that most recently became leader at or before `t`."""
    newest: tuple[float, str] | None = None
    for pod in pods:
        for at, state in lanes[pod]:
            if at > t:
                break
            if state == "leader" and (newest is None or at >= newest[0]):
                newest = (at, pod)
    return newest[1] if newest else None


def log_redundancy(
    lanes: dict[str, list[tuple[float, str]]],
    pods: set[str],
    t_fault: float,
    until: float,
    victims: list[str],
    fault: str,
) -> dict[str, Any]:
    """Full redundancy and per-peer outages as the logs tell them (None: not seen)."""
    if not pods or any(pod not in lanes for pod in pods):
        return {"full_redundancy_s": None, "peer_outage_s": {}}
    left: dict[str, float] = {}
    if fault in ("kill", "pause"):
        left.update({pod: t_fault for pod in victims})
    back: dict[str, float] = {}
    seen_out: set[str] = set()  # a victim's lane still names its old state until the exit
    times = sorted({t for pod in pods for t, _ in lanes[pod] if t_fault < t <= until})
    dipped, full = False, None
    for t in [t_fault, *times]:
        states = {pod: _state_at(lanes[pod], t) for pod in pods}
        # An old leader cut off from the others still logs itself leader until it steps
        # down: only the newest leader serves.
        newest = _newest_leader(lanes, pods, t)
        states = {
            p: "stale-leader" if s == "leader" and p != newest else s for p, s in states.items()
        }
        for pod, state in states.items():
            if state not in LOG_SERVING and t > t_fault:
                left.setdefault(pod, t)
                seen_out.add(pod)
            if (
                state in LOG_SERVING
                and pod in left
                and pod in seen_out
                and pod not in back
                and t > left[pod]
            ):
                back[pod] = t
        everyone = all(
            state in LOG_SERVING and (pod not in left or pod in back)
            for pod, state in states.items()
        )
        if not everyone:
            dipped = True
        elif dipped and full is None:
            full = t - t_fault
    if not dipped:
        full = 0.0
    outages = {pod: (back[pod] - at if pod in back else None) for pod, at in left.items()}
    return {"full_redundancy_s": full, "peer_outage_s": outages}


def trial_truth(
    truth: list[dict[str, Any]],
    lanes: dict[str, list[tuple[float, str]]],
    pods: set[str],
    t_fault: float,
    until: float,
    victims: list[str],
    fault: str,
    system: System | None = None,
) -> dict[str, Any]:
    """The trial's ground truth: leader serving, full redundancy, outages, votes."""
    serving = (system or get_system()).leader_serving(truth)
    leaders = [e for e in serving if t_fault < e["t"] <= until and e["pod"] not in victims]
    votes = [
        {"pod": e["pod"], "role": e.get("role"), "ms": e["took_ms"], "at_s": e["t"] - t_fault}
        for e in truth
        if e["kind"] == "election_took" and t_fault < e["t"] <= until
    ]
    logged = log_redundancy(lanes, pods, t_fault, until, victims, fault)
    return {
        "leader_serving_s": leaders[0]["t"] - t_fault if leaders else None,
        "leader": leaders[0]["pod"] if leaders else None,
        "full_redundancy_s": logged["full_redundancy_s"],
        "peer_outage_s": logged["peer_outage_s"],
        # Each peer's own vote (`election_took`): not the election's duration.
        "votes": votes,
    }
