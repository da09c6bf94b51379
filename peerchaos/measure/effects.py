"""After-effects: what the previous trials left behind when a trial's fault landed.

Trials are independent only when chosen (`settle: independent`). Each trial records its
starting conditions: peers that were not serving, how long ago a pod last came back with
a new IP compared with the caches that may still hold its old one (the peers' JVM DNS
cache, positive and negative, and the cluster DNS TTL), and an open probe gap.
"""

from __future__ import annotations

import math
from typing import Any

from peerchaos.measure.roles import SERVING, replay

JVM_POSITIVE_DEFAULT_S = 30  # without a security manager, OpenJDK caches answers 30 s
JVM_NEGATIVE_DEFAULT_S = 10  # java.security's networkaddress.cache.negative.ttl


def cache_seconds(value: Any, default: int) -> float:
    """A JVM DNS cache setting in seconds: None is the JVM default, -1 is forever."""
    if value is None:
        return float(default)
    return math.inf if int(value) < 0 else float(value)


def jvm_caches(spec: dict[str, Any]) -> tuple[float, float]:
    """(answers, failed lookups) the peers' JVMs cache DNS for, as the spec sets them:
    `jvm_dns_cache_s` sets both unless `jvm_dns_negative_cache_s` is given."""
    positive = spec.get("jvm_dns_cache_s")
    negative = spec.get("jvm_dns_negative_cache_s")
    negative = positive if negative is None else negative
    return (
        cache_seconds(positive, JVM_POSITIVE_DEFAULT_S),
        cache_seconds(negative, JVM_NEGATIVE_DEFAULT_S),
    )


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
) -> dict[str, Any]:
    # Just before the fault: a victim the probe saw go as the signal landed is not an
    # after-effect of an earlier trial.
    latest = next(iter(replay(roles, t_fault - 0.05, t_fault - 0.05)))[1]
    not_serving = sorted(pod for pod, e in latest.items() if e["mode"] not in SERVING)
    before = [c for c in changes if c["t"] <= t_fault]
    positive, negative = jvm_caches(spec)
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
            f"within the peers' JVM DNS cache ({_cache_text(positive, negative)})"
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
