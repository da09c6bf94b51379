"""Faults from anywhere: what the runtime saw happen that no peerchaos fault explains.

Trials come from what happened, not only from what peerchaos did. The runtime's own
records (the local control plane's, or the cluster watcher's) show every pod that
died, restarted or turned unready; each such change with no peerchaos fault behind it
becomes a `fault` event with `source: "external"`, measured like any trial:
- `kill`: a pod's process exited or the pod was deleted (local: the container exit the
  control plane saw; Kubernetes: the pod gone from the API, or its deletion timestamp);
- `restart`: a container restarted in place (Kubernetes: its restart count grew);
- `unready`: a ready pod's readiness flipped while it kept running (the endpoint went),
  outside the recovery from a peerchaos fault — from the fault until every pod is ready
  again after it (a readiness probe that asks for a quorum, etcd's `/health` or
  ZooKeeper's `quorum`, fails on every member while an election runs: a consequence of
  the fault, not a new one).
`t_fault` is the earliest moment the ground truth shows it, and `observed_by` says which.
"""

from __future__ import annotations

from typing import Any

# A peerchaos fault explains a change that follows it within this long.
KILL_EXPLAINS_S = 30.0  # a delete with a grace period ends the pod that much later
TEARDOWN_KINDS = ("observe_stop", "control_plane_stopped", "teardown")


def _faults(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "fault" and e.get("source") != "external"]


def _pods_of(event: dict[str, Any]) -> set[str]:
    if event.get("pod"):
        return {str(event["pod"])}
    return {str(p) for group in event.get("groups") or [] for p in group}


def _explained_exit(pod: str, t: float, faults: list[dict[str, Any]]) -> bool:
    return any(
        f.get("fault") == "kill"
        and pod in _pods_of(f)
        and f.get("t_fault", f["t"]) - 0.5 <= t <= f.get("t_fault", f["t"]) + KILL_EXPLAINS_S
        for f in faults
    )


def _active(fault: dict[str, Any], heals: list[dict[str, Any]], t: float) -> bool:
    """Whether a peerchaos unready / pause / partition fault still held at `t`."""
    start = fault.get("t_fault", fault["t"])
    if start > t + 0.5:
        return False
    ended = [
        h.get("t_heal", h["t"])
        for h in heals
        if h.get("fault") == fault.get("fault") and h.get("t_heal", h["t"]) >= start
        and (not h.get("pod") or h.get("pod") in _pods_of(fault))
    ]  # fmt: skip
    # A peer made ready again needs a probe period or two to pass: some slack.
    return not ended or t <= min(ended) + 2.0


def _explained_unready(pod: str, t: float, events: list[dict[str, Any]]) -> bool:
    faults = _faults(events)
    heals = [e for e in events if e["kind"] == "heal" and e.get("source") != "external"]
    for fault in faults:
        kind = fault.get("fault")
        affects = pod in _pods_of(fault) or kind == "partition"
        if affects and kind in ("unready", "pause", "partition") and _active(fault, heals, t):
            return True
        if kind == "kill" and pod in _pods_of(fault) and _explained_exit(pod, t, [fault]):
            return True
    return False


def external_faults(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The external fault events the runtime's records imply (none already written)."""
    events = sorted(events, key=lambda e: e["t"])
    if any(e["kind"] == "fault" and e.get("source") == "external" for e in events):
        return []  # recognised already (a run dir measured again)
    starts = [e["t"] for e in events if e["kind"] == "observe_start"]
    ends = [e["t"] for e in events if e["kind"] in TEARDOWN_KINDS]
    begin = starts[0] if starts else float("-inf")
    end = min(ends) if ends else float("inf")
    faults = _faults(events)
    found: list[dict[str, Any]] = []
    ready: dict[str, bool] = {}
    for e in events:  # readiness as the observers found it at their start
        if e["kind"] == "observe_start" and e.get("cluster"):
            ready.update({p["name"]: bool(p.get("ready")) for p in e["cluster"].get("pods") or []})
    recovery = _Recovery()
    for e in events:
        if e["kind"] == "fault" and e.get("source") != "external":
            recovery.fault()
        if e.get("source") != "runtime" or not e.get("pod"):
            continue
        pod, t = str(e["pod"]), e["t"]
        recovery.seen(e["kind"], ready, pod)
        if e["kind"] == "pod_ready":
            ready[pod] = True
            continue
        inside = begin <= t < end
        if e["kind"] == "pod_exited":
            ready[pod] = False
            if inside and not _explained_exit(pod, t, faults):
                found.append(_fault("kill", e, e.get("observed_by") or "container exit"))
        elif e["kind"] == "container_restarted":
            ready[pod] = False
            if inside and not _explained_exit(pod, t, faults):
                found.append(_fault("restart", e, "container restart count grew"))
        elif e["kind"] == "pod_unready":
            was_ready, ready[pod] = ready.get(pod, False), False
            explained = recovery.explains() or _explained_unready(pod, t, events)
            if inside and was_ready and not explained:
                found.append(_fault("unready", e, "readiness failed: endpoint removed"))
    return found


class _Recovery:
    """Whether the ensemble is still recovering from a peerchaos fault: from the fault
    until every pod is ready again after some pod was not."""

    def __init__(self) -> None:
        self.recovering = False
        self.dipped = False

    def fault(self) -> None:
        self.recovering, self.dipped = True, False

    def seen(self, kind: str, ready: dict[str, bool], pod: str) -> None:
        if not self.recovering:
            return
        if kind in ("pod_exited", "container_restarted", "pod_unready"):
            self.dipped = True
        elif kind == "pod_ready" and self.dipped and all(
            state or name == pod for name, state in ready.items()
        ):
            self.recovering = False

    def explains(self) -> bool:
        return self.recovering


def _fault(kind: str, seen: dict[str, Any], observed_by: str) -> dict[str, Any]:
    t_fault = seen.get("deletion_timestamp") or seen.get("finished_at") or seen["t"]
    return {
        "t": seen["t"],
        "mono": seen.get("mono"),
        "source": "external",
        "kind": "fault",
        "fault": kind,
        "pod": seen["pod"],
        "ip": seen.get("ip"),
        "t_fault": t_fault,
        "observed_by": observed_by,
    }
