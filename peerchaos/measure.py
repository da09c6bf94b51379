"""The numbers, from a run directory's files alone: election time, recovery, DNS convergence.

Definitions (DESIGN.md, "Measurement definitions"):
- election time: `t_fault` to the first probe answer showing a leader of a newer epoch
  than any seen before the fault, not the victim, while a majority of peers serve
  (as leader or follower) in the probe's latest view;
- write / read recovery: `t_fault` to the acknowledgement of the first write (write or
  cas) / read *invoked* after `t_fault`;
- DNS convergence (per probe, view and name): `t_fault` to the first answer equal to the
  final answer of the trial that stays equal; the stale window (answers holding an
  address of a pod that died in the trial) and the NXDOMAIN time.
Each trial runs from its fault to the next fault (or the end of the run). Ground truth
comes from the peers' logs (`leading - broadcast`, `LEADER ELECTION TOOK`) and the
runtime's own endpoint changes; every figure is reported beside it with the difference.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from peerchaos.zookeeper.logs import serving_as_leader

SERVING = ("leader", "follower", "standalone")


def trials(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fault events in time order, each with the end of its window."""
    faults = sorted((e for e in events if e["kind"] == "fault"), key=lambda e: e["t_fault"])
    end = max((e["t"] for e in events), default=0.0)
    windows = []
    for i, fault in enumerate(faults):
        until = faults[i + 1]["t_fault"] if i + 1 < len(faults) else end
        windows.append({"fault": fault, "t_fault": fault["t_fault"], "until": until})
    return windows


def election_time(roles: list[dict[str, Any]], t_fault: float, victim: str | None) -> dict:
    """Probe-observed time to a new-epoch leader (not the victim) with a serving majority.

    Checked after every role observation, because the majority may form after the
    leader was first seen (a follower still looking at that moment).
    """
    pods = {e["pod"] for e in roles}
    latest: dict[str, dict[str, Any]] = {}
    epoch_before = -1
    for e in roles:
        latest[e["pod"]] = e
        if e["t"] <= t_fault:
            if e["mode"] == "leader" and e["epoch"] is not None:
                epoch_before = max(epoch_before, e["epoch"])
            continue
        leaders = [
            x
            for x in latest.values()
            if x["mode"] == "leader" and x["pod"] != victim and (x["epoch"] or -1) > epoch_before
        ]
        serving = sum(1 for x in latest.values() if x["mode"] in SERVING)
        if leaders and serving > len(pods) // 2:
            leader = leaders[0]
            return {
                "t": e["t"],
                "leader": leader["pod"],
                "epoch": leader["epoch"],
                "s": e["t"] - t_fault,
            }
    return {"t": None, "leader": None, "epoch": None, "s": None}


def dual_leader_time(roles: list[dict[str, Any]], start: float, until: float) -> float:
    """Seconds within [start, until] during which two or more peers answered as leader."""
    latest: dict[str, str] = {}
    total = 0.0
    since: float | None = None
    for e in roles:
        if e["t"] > until:
            break
        latest[e["pod"]] = e["mode"]
        leaders = sum(1 for mode in latest.values() if mode == "leader")
        t = max(e["t"], start)
        if leaders >= 2 and since is None:
            since = t
        elif leaders < 2 and since is not None:
            total += max(0.0, t - since)
            since = None
    if since is not None:
        total += max(0.0, until - since)
    return total


def first_ack_after(
    history: list[dict[str, Any]], t_fault: float, fs: tuple[str, ...]
) -> float | None:
    """Seconds from the fault to the ack of the first op of kind `fs` invoked after it."""
    invoked: dict[Any, dict[str, Any]] = {}
    best = None
    for op in history:
        if op["f"] not in fs:
            continue
        if op["type"] == "invoke":
            invoked[op["process"]] = op
            continue
        start = invoked.pop(op["process"], None)
        acked_after = op["type"] == "ok" and start is not None and start["time"] >= t_fault
        if acked_after and (best is None or op["time"] < best):
            best = op["time"]
    return None if best is None else best - t_fault


def dns_convergence(
    answers: list[dict[str, Any]], t_fault: float, until: float, dead_ips: set[str]
) -> dict[str, Any]:
    """Convergence, stale window and NXDOMAIN time of one (probe, view, name) stream."""
    before = [a for a in answers if a["t"] <= t_fault]
    during = [a for a in answers if t_fault < a["t"] <= until]
    if not before and not during:
        return {"convergence_s": None}
    final = (during or before)[-1]

    def key(answer: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        return answer["rcode"], tuple(answer["addresses"])

    # Already right at the fault (and never wrong after) converges at once.
    converged_at = t_fault if before and key(before[-1]) == key(final) else None
    for a in during:
        if key(a) != key(final):
            converged_at = None
        elif converged_at is None:
            converged_at = a["t"]
    timeline = ([before[-1]] if before else []) + during
    stale_until = t_fault
    nxdomain = 0.0
    for i, a in enumerate(timeline):
        start = max(a["t"], t_fault)
        end = timeline[i + 1]["t"] if i + 1 < len(timeline) else until
        if set(a["addresses"]) & dead_ips:
            stale_until = max(stale_until, end)
        if a["rcode"] == "NXDOMAIN":
            nxdomain += max(0.0, end - start)
    return {
        "convergence_s": None if converged_at is None else converged_at - t_fault,
        "final": {"rcode": final["rcode"], "addresses": final["addresses"]},
        "stale_window_s": stale_until - t_fault,
        "nxdomain_s": nxdomain,
    }


def measure_trial(
    window: dict[str, Any],
    events: list[dict[str, Any]],
    history: list[dict[str, Any]],
    truth: list[dict[str, Any]],
) -> dict[str, Any]:
    fault, t_fault, until = window["fault"], window["t_fault"], window["until"]
    victim = fault.get("pod")
    # Up to the next fault only: a leader that the next trial's fault brought about is
    # not this trial's election.
    roles = [e for e in events if e["kind"] == "role" and e["t"] <= until]
    election = election_time(roles, t_fault, victim)
    # The restarted victim may win the new epoch itself (highest zxid and myid): then no
    # *other* leader ever comes, and the trial has no election time by definition — which
    # is not the same as an ensemble that never recovered.
    re_elected = (
        election["s"] is None
        and victim is not None
        and election_time(roles, t_fault, None)["leader"] == victim
    )
    leaders = [
        e for e in serving_as_leader(truth) if t_fault < e["t"] <= until and e["pod"] != victim
    ]
    took = [e for e in truth if e["kind"] == "election_took" and t_fault < e["t"] <= until]
    gt_election = leaders[0]["t"] - t_fault if leaders else None
    runtime = [e for e in events if e.get("source") == "runtime" and t_fault <= e["t"] <= until]
    dead_ips = {e["ip"] for e in runtime if e["kind"] == "pod_exited" and e.get("ip")}
    endpoint_changes = [e for e in runtime if e["kind"] == "endpoints"]
    dns: dict[str, dict[str, Any]] = defaultdict(dict)
    streams: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["kind"] == "dns":
            streams[(e["view"], e["name"], e["probe"])].append(e)
    for (view, name, probe), answers in sorted(streams.items()):
        dns[f"{view}:{name}"][probe] = dns_convergence(answers, t_fault, until, dead_ips)
    per_name: dict[str, float | None] = {}
    per_name_cached: dict[str, float | None] = {}
    for key, probes in dns.items():
        view, name = key.split(":", 1)
        values = [p["convergence_s"] for p in probes.values() if p.get("convergence_s") is not None]
        # The name has converged when every probe has seen the truth.
        (per_name if view == "raw" else per_name_cached)[name] = max(values) if values else None
    write_s = first_ack_after(history, t_fault, ("write", "cas"))
    heals = [e for e in runtime if e["kind"] == "heal" and e.get("fault") == fault.get("fault")]
    t_heal = heals[0].get("t_heal", heals[0]["t"]) if heals else None
    after_heal = None if t_heal is None else first_ack_after(history, t_heal, ("write", "cas"))
    rejoin = next(
        (
            e["t"] - t_fault
            for e in roles
            if e["pod"] == victim
            and e["t"] > t_fault
            and e["mode"] in SERVING
            and any(x["pod"] == victim and t_fault < x["t"] < e["t"] for x in roles)
        ),
        None,
    )
    endpoint_s = endpoint_changes[0]["t"] - t_fault if endpoint_changes else None
    return {
        "fault": {k: v for k, v in fault.items() if k not in ("mono", "source", "kind")},
        "t_fault": t_fault,
        "until": until,
        "election_time_s": election["s"],
        "new_leader": election["leader"],
        "new_epoch": election["epoch"],
        "victim_re_elected": re_elected,
        "dual_leader_s": dual_leader_time(roles, t_fault, until),
        "write_recovery_s": write_s,
        "t_heal": t_heal,
        "write_recovery_after_heal_s": after_heal,
        # A restarted or isolated peer serving again: the others reached it.
        "victim_serving_again_s": rejoin,
        "read_recovery_s": first_ack_after(history, t_fault, ("read",)),
        "dns_convergence_s": per_name,
        "dns_convergence_cached_s": per_name_cached,
        "dns": dict(dns),
        "ground_truth": {
            "leader_serving_s": gt_election,
            "leader": leaders[0]["pod"] if leaders else None,
            "election_took_ms": [{"pod": e["pod"], "ms": e["took_ms"]} for e in took],
            "election_time_error_s": (
                None
                if gt_election is None or election["s"] is None
                else election["s"] - gt_election
            ),
            "first_endpoint_change_s": endpoint_s,
            "endpoint_changes": [
                {
                    "t": e["t"],
                    "service": e["service"],
                    "ready": e["ready"],
                    "not_ready": e["not_ready"],
                }
                for e in endpoint_changes
            ],
            "dead_ips": sorted(dead_ips),
        },
    }


def distribution(values: list[float | None]) -> dict[str, Any]:
    data = sorted(v for v in values if v is not None)
    if not data:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    p95 = data[math.ceil(0.95 * len(data)) - 1]  # nearest rank
    return {"n": len(data), "p50": statistics.median(data), "p95": p95, "max": data[-1]}


def measure(
    events: list[dict[str, Any]], history: list[dict[str, Any]], truth: list[dict[str, Any]]
) -> dict[str, Any]:
    """Trials and metrics for a run."""
    events = sorted(events, key=lambda e: e["t"])
    history = sorted(history, key=lambda o: o.get("mono", o["time"]))
    starts = [e["t"] for e in events if e["kind"] == "observe_start"]
    measured = [measure_trial(w, events, history, truth) for w in trials(events)]
    for trial in measured:
        # A fault injected before the observers ran cannot be measured from the probes.
        trial["observed"] = bool(starts) and trial["t_fault"] >= starts[0]
    measured = [t for t in measured if t["observed"]] + [t for t in measured if not t["observed"]]
    observed = [t for t in measured if t["observed"]]
    dns_values = [v for t in observed for v in t["dns_convergence_s"].values()]
    dns_cached = [v for t in observed for v in t["dns_convergence_cached_s"].values()]
    return {
        "trials": measured,
        "metrics": {
            "election_time_s": distribution([t["election_time_s"] for t in observed]),
            "write_recovery_s": distribution([t["write_recovery_s"] for t in observed]),
            "read_recovery_s": distribution([t["read_recovery_s"] for t in observed]),
            "dns_convergence_s": distribution(dns_values),
            "dns_convergence_cached_s": distribution(dns_cached),
            "ground_truth_leader_serving_s": distribution(
                [t["ground_truth"]["leader_serving_s"] for t in observed]
            ),
        },
    }
