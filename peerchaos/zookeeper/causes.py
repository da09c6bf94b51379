"""What held a trial's recovery up, named from the peers' own logs.

- `stale_peer_address`: a peer kept dialling a peer's name at an address no pod holds any
  more while DNS already published the new one. Which cache explains it is told from the
  name's DNS history: the old answer may still sit in the JVM's positive cache
  (`networkaddress.cache.ttl`, 30 s by default; `jvm_dns_cache_s`), or a lookup made while
  the restarted pod had no record (NXDOMAIN) failed, the JVM remembers failures for
  `networkaddress.cache.negative.ttl` (10 s) and ZooKeeper keeps the old address when a
  lookup fails (`jvm_dns_negative_cache_s`);
- `connect_to_leader_timeout`: a follower gave up connecting to its leader, each attempt
  after initLimit x tickTime;
- `waited_for_victim`: the new quorum formed only once the killed peer was back.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure.dnstruth import Truth
from peerchaos.measure.effects import JVM_NEGATIVE_DEFAULT_S, JVM_POSITIVE_DEFAULT_S, cache_seconds
from peerchaos.measure.roles import majority

FAILED = ("failed", "timeout")


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


def _short(name: str) -> str:
    return name.split(".", 1)[0]


def stale_addresses(
    dials: list[dict[str, Any]],
    truth: Truth,
    t_fault: float,
    until: float,
    spec: dict[str, Any],
) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for d in dials:
        if d["outcome"] not in FAILED or not d.get("ip") or not t_fault <= d["t"] <= until:
            continue
        expected = truth.expected(d["name"], d["t"])
        moved = expected is not None and expected[0] == "NOERROR" and d["ip"] not in expected[1]
        if moved and d["ip"] not in truth.live_ips(d["t"]):
            groups.setdefault((d["pod"], d["name"], d["ip"]), []).append(d)
    positive = cache_seconds(spec.get("jvm_dns_cache_s"), JVM_POSITIVE_DEFAULT_S)
    negative = cache_seconds(spec.get("jvm_dns_negative_cache_s"), JVM_NEGATIVE_DEFAULT_S)
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
            cache, setting, cache_s = "negative", "jvm_dns_negative_cache_s", negative
        else:
            cache, setting, cache_s = "not_re_resolved", None, None
        end = reached if reached is not None else last
        found.append(
            {
                "kind": "stale_peer_address",
                "peer": peer,
                "name": name,
                "target": _short(name),
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
            "ttl) and ZooKeeper keeps the old address when a lookup fails; set "
            "`jvm_dns_negative_cache_s`"
        )
    return f"{head}: ZooKeeper did not look the name up again"


def leader_timeouts(
    dials: list[dict[str, Any]], t_fault: float, until: float, spec: dict[str, Any]
) -> list[dict[str, Any]]:
    each = spec.get("init_limit", 10) * spec.get("tick_time_ms", 2000) / 1000.0
    groups: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for d in dials:
        if d["outcome"] == "timeout" and d["channel"] == "leader" and t_fault <= d["t"] <= until:
            groups.setdefault((d["pod"], d["name"], d.get("ip")), []).append(d)
    found = []
    for (peer, name, ip), times in sorted(groups.items(), key=lambda g: g[1][0]["t"]):
        found.append(
            {
                "kind": "connect_to_leader_timeout",
                "peer": peer,
                "leader": _short(name),
                "address": ip,
                "count": len(times),
                "each_s": each,
                "last_s": times[-1]["t"] - t_fault,
                "text": (
                    f"{peer} gave up connecting to the leader {_short(name)} ({ip}) "
                    f"{len(times)} time{'s' if len(times) > 1 else ''}, each after initLimit "
                    f"x tickTime = {each:g} s"
                ),
            }
        )
    return found


def waited_for_victim(
    elected: dict[str, Any], victims: list[str], replicas: int, re_elected: bool
) -> list[dict[str, Any]]:
    quorum = list(elected.get("quorum") or [])
    if elected.get("leader") is None or not victims:
        return []
    back = [v for v in victims if v in quorum]
    without = [p for p in quorum if p not in victims]
    if not back or len(without) >= majority(replicas):
        return []
    others = ", ".join(p for p in quorum if p != elected["leader"])
    how = "it was elected again" if re_elected else f"{elected['leader']} leads"
    return [
        {
            "kind": "waited_for_victim",
            "leader": elected["leader"],
            "victims": back,
            "quorum": quorum,
            "at_s": elected["s"],
            "text": (
                f"the new quorum ({elected['leader']} with {others}) formed only once the "
                f"killed {', '.join(back)} was back, {elected['s']:.2f} s after the fault "
                f"({how}); the surviving peers alone could not form one"
            ),
        }
    ]


def trial_causes(
    truth_events: list[dict[str, Any]],
    truth: Truth | None,
    t_fault: float,
    until: float,
    spec: dict[str, Any],
    elected: dict[str, Any],
    victims: list[str],
    replicas: int,
    re_elected: bool,
) -> list[dict[str, Any]]:
    dials = [e for e in truth_events if e.get("kind") == "dial"]
    causes = []
    if truth is not None:
        causes += stale_addresses(dials, truth, t_fault, until, spec)
    causes += leader_timeouts(dials, t_fault, until, spec)
    causes += waited_for_victim(elected, victims, replicas, re_elected)
    return causes
