"""After-effects: what the previous trials left behind when a trial's fault landed.

Trials are independent only when chosen (`settle: independent`). Each trial records its
starting conditions: peers that were not serving, how long ago a pod last came back with
a new IP compared with the caches that may still hold its old one (the peers' own DNS
cache, answers and failed lookups, as the system says — `System.dns_caches`, ZooKeeper:
the JVM's — and the cluster DNS TTL), and an open probe gap. The summary keeps the keys
`jvm_dns_cache_s`, `jvm_dns_negative_cache_s` and `within_jvm_dns_cache` for any system.
"""

from __future__ import annotations

import math
from typing import Any

from peerchaos.measure.roles import SERVING, replay
from peerchaos.systems import get_system
from peerchaos.systems.base import System


def ip_changes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each time a pod started with an address other than its previous one."""
    last: dict[str, str] = {}
    for e in events:
        if e["kind"] == "observe_start" and e.get("cluster"):
            last.update({p["name"]: p["ip"] for p in e["cluster"].get("pods") or [] if p.get("ip")})
    changes = []
    for e in sorted(events, key=lambda e: e["t"]):
        if e.get("source") != "runtime" or e["kind"] != "pod_started" or not e.get("ip"):
            continue
        pod, ip = e["pod"], e["ip"]
        if pod in last and last[pod] != ip:
            changes.append({"t": e["t"], "pod": pod, "old_ip": last[pod], "ip": ip})
        last[pod] = ip
    return changes


def after_effects(
    roles: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    gaps: list[dict[str, Any]],
    spec: dict[str, Any],
    t_fault: float,
    system: System | None = None,
) -> dict[str, Any]:
    # Just before the fault: a victim the probe saw go as the signal landed is not an
    # after-effect of an earlier trial.
    latest = next(iter(replay(roles, t_fault - 0.05, t_fault - 0.05)))[1]
    not_serving = sorted(pod for pod, e in latest.items() if e["mode"] not in SERVING)
    before = [c for c in changes if c["t"] <= t_fault]
    system = system or get_system()
    positive, negative = system.dns_caches(spec)
    ttl = float(spec.get("dns_ttl_s", 5) or 0)
    since = t_fault - before[-1]["t"] if before else None
    within_jvm = since is not None and since < max(positive, negative)
    within_ttl = since is not None and since < ttl
    open_gap = any(g["start"] <= t_fault < g["end"] for g in gaps)
    notes = []
    if not_serving:
        notes.append(f"not serving at the fault: {', '.join(not_serving)}")
    if within_jvm:
        notes.append(
            f"{before[-1]['pod']} came back with a new IP {since:.1f} s before the fault, "
            f"within {system.dns_cache_phrase} ({_cache_text(positive, negative)})"
        )
    elif within_ttl:
        notes.append(
            f"{before[-1]['pod']} came back with a new IP {since:.1f} s before the fault, "
            f"within the cluster DNS TTL ({ttl:g} s)"
        )
    if open_gap:
        notes.append("a probe gap was open at the fault")
    return {
        "peers_not_serving": not_serving,
        "since_ip_change_s": since,
        "ip_change_pod": before[-1]["pod"] if before else None,
        "jvm_dns_cache_s": None if math.isinf(positive) else positive,
        "jvm_dns_negative_cache_s": None if math.isinf(negative) else negative,
        "dns_ttl_s": ttl,
        "within_jvm_dns_cache": within_jvm,
        "within_dns_ttl": within_ttl,
        "open_probe_gap": open_gap,
        "independent": not notes,
        "notes": notes,
    }


def _cache_text(positive: float, negative: float) -> str:
    def s(v: float) -> str:
        return "forever" if math.isinf(v) else f"{v:g} s"

    return f"answers {s(positive)}, failed lookups {s(negative)}"
