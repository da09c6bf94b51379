"""Dials to addresses that led nowhere: stale peer addresses and dead-peer connect timeouts.

A peer's log names every address it dials. A failed dial is *stale* when a fresh lookup
as the attempt began would have given another address — the peer's pod had come back
elsewhere and nothing held the old one — and a *connect timeout* when the pod it dialled
was down and the attempt waited out its timeout. A failure is logged at the end of its
attempt, so the attempt's start is taken at the earliest it can have been.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure.dnstruth import Truth
from peerchaos.systems.zookeeper.settings import jvm_caches

FAILED = ("failed", "timeout")
CNX_TIMEOUT_S = 5.0  # zookeeper.cnxTimeout: how long an election connection attempt waits


def attempt_start(dial: dict[str, Any], spec: dict[str, Any], floor: float, born: dict) -> float:
    """When the logged attempt began at the earliest: not before the fault, nor before the
    dialling peer's own process started (`born`: pod -> its start times)."""
    starts = [t for t in born.get(dial["pod"], []) if t <= dial["t"]]
    return max([floor, dial["t"] - attempt_s(dial, spec), *starts[-1:]])


def attempt_s(dial: dict[str, Any], spec: dict[str, Any]) -> float:
    """How long the logged attempt can have lasted: a failure is logged at its end."""
    tick = spec.get("tick_time_ms", 2000) / 1000.0
    if dial["channel"] == "election":
        return CNX_TIMEOUT_S
    if dial["outcome"] == "timeout":
        return spec.get("init_limit", 10) * tick  # connectToLeader gives up after initLimit
    return spec.get("sync_limit", 5) * tick  # one connect try waits syncLimit ticks


def _old_address_until(truth: Truth, name: str, ip: str, before: float) -> float | None:
    """When `ip` last stopped being the name's published address, before `before`."""
    timeline = truth.names.get(name)
    if timeline is None:
        return None
    held_until = None
    holding = False
    for t, answer in timeline.changes:
        if t > before:
            break
        now = ip in answer[1]
        if holding and not now:
            held_until = t
        holding = now
    return held_until


def _nxdomain_within(truth: Truth, name: str, start: float, end: float) -> bool:
    timeline = truth.names.get(name)
    if timeline is None:
        return False
    if (timeline.at(start) or ("",))[0] == "NXDOMAIN":
        return True
    return any(start < t <= end and a[0] == "NXDOMAIN" for t, a in timeline.changes)


def short_name(name: str) -> str:
    return name.split(".", 1)[0]


def stale_addresses(
    dials: list[dict[str, Any]],
    truth: Truth,
    t_fault: float,
    until: float,
    spec: dict[str, Any],
    born: dict[str, list[float]],
) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for d in dials:
        if d["outcome"] not in FAILED or not d.get("ip") or not t_fault <= d["t"] <= until:
            continue
        # Stale only if a fresh lookup when the attempt began would have given another
        # address: the pod had come back elsewhere, and nothing held the old one.
        start = attempt_start(d, spec, t_fault, born)
        expected = truth.expected(d["name"], start)
        moved = expected is not None and expected[0] == "NOERROR" and d["ip"] not in expected[1]
        was = _old_address_until(truth, d["name"], d["ip"], start) is not None
        if moved and was and d["ip"] not in truth.live_ips(start):
            groups.setdefault((d["pod"], d["name"], d["ip"]), []).append(d)
    positive, negative = jvm_caches(spec)
    found = []
    for (peer, name, ip), attempts in sorted(groups.items(), key=lambda g: g[1][0]["t"]):
        first, last = attempts[0]["t"], attempts[-1]["t"]
        now = truth.expected(name, last)
        current = now[1][0] if now and now[1] else None
        reached = next(
            (
                d["t"]
                for d in dials
                if d["pod"] == peer
                and d["name"] == name
                and d["outcome"] == "connected"
                and d.get("ip") != ip
                and first <= d["t"] <= until
            ),
            None,
        )
        old_until = _old_address_until(truth, name, ip, first)
        if old_until is not None and first - old_until < positive:
            cache, setting, cache_s = "positive", "jvm_dns_cache_s", positive
        elif _nxdomain_within(truth, name, first - negative, first):
            setting = (
                "jvm_dns_negative_cache_s"
                if spec.get("jvm_dns_cache_s") is not None
                else "jvm_dns_cache_s"
            )
            cache, cache_s = "negative", negative
        else:
            cache, setting, cache_s = "not_re_resolved", None, None
        end = reached if reached is not None else last
        found.append(
            {
                "kind": "stale_peer_address",
                "peer": peer,
                "name": name,
                "target": short_name(name),
                "address": ip,
                "port": attempts[0]["port"],
                "channels": sorted({a["channel"] for a in attempts}),
                "current_address": current,
                "first_s": first - t_fault,
                "last_s": last - t_fault,
                "attempts": len(attempts),
                "reached_current_s": None if reached is None else reached - t_fault,
                "stalled_s": end - t_fault,
                "cache": cache,
                "setting": setting,
                "setting_value": spec.get(setting) if setting else None,
                "cache_s": cache_s,
            }
        )
    for cause in found:
        cause["text"] = _stale_text(cause)
    return found


def _stale_text(c: dict[str, Any]) -> str:
    head = (
        f"{c['peer']} kept dialling {c['target']} at its old address {c['address']} "
        f"for {c['stalled_s']:.1f} s ({c['attempts']} attempt{'s' if c['attempts'] > 1 else ''}"
        f"{', ' + c['current_address'] + ' was published' if c['current_address'] else ''})"
    )
    if c["cache"] == "positive":
        unset = c["setting_value"] is None
        return (
            f"{head}: the JVM caches DNS answers for {c['cache_s']:g} s"
            f"{' (jvm_dns_cache_s unset: the JVM default)' if unset else ''}; "
            "set `jvm_dns_cache_s`"
        )
    if c["cache"] == "negative":
        return (
            f"{head}: a lookup made while {c['target']} had no DNS record failed, the JVM "
            f"remembers failed lookups for {c['cache_s']:g} s (networkaddress.cache.negative."
            f"ttl) and ZooKeeper keeps the old address when a lookup fails; set `{c['setting']}`"
        )
    return f"{head}: ZooKeeper did not look the name up again"


def dead_peer_timeouts(
    dials: list[dict[str, Any]],
    truth: Truth,
    t_fault: float,
    until: float,
    spec: dict[str, Any],
    stale: list[dict[str, Any]],
    born: dict[str, list[float]],
) -> list[dict[str, Any]]:
    """Connection attempts that waited out their timeout on a peer that was down."""
    named = {(c["peer"], c["name"], c["address"]) for c in stale}
    groups: dict[tuple[str, str, str], list[tuple[dict[str, Any], float]]] = {}
    for d in dials:
        if not (d["channel"] == "election" or d["outcome"] == "timeout") or not d.get("ip"):
            continue
        if not t_fault <= d["t"] <= until or (d["pod"], d["name"], d["ip"]) in named:
            continue
        start = attempt_start(d, spec, t_fault, born)
        if d["ip"] not in truth.live_ips(start) and d["t"] - start >= 1.0:
            groups.setdefault((d["pod"], d["name"], d["ip"]), []).append((d, d["t"] - start))
    found = []
    for (peer, name, ip), attempts in sorted(groups.items(), key=lambda g: g[1][0][0]["t"]):
        waited = max(w for _, w in attempts)
        channel = attempts[0][0]["channel"]
        what = (
            "the election connect timeout (zookeeper.cnxTimeout)"
            if channel == "election"
            else "connectToLeader's initLimit x tickTime"
        )
        found.append(
            {
                "kind": "connect_timeout",
                "peer": peer,
                "target": short_name(name),
                "address": ip,
                "channel": channel,
                "attempts": len(attempts),
                "waited_s": waited,
                "last_s": attempts[-1][0]["t"] - t_fault,
                "text": (
                    f"{peer} waited up to {waited:.1f} s on a connection to {short_name(name)} at "
                    f"{ip}, an address no pod held ({short_name(name)} was down): {what}"
                ),
            }
        )
    return found
