"""What held a trial's recovery up, named from the peers' own logs.

- `stale_peer_address`: a peer kept dialling a peer's name at an address no pod holds any
  more while DNS already published the new one. Which cache explains it is told from the
  name's DNS history: the old answer may still sit in the JVM's positive cache
  (`networkaddress.cache.ttl`, 30 s by default; `jvm_dns_cache_s`), or a lookup made while
  the restarted pod had no record (NXDOMAIN) failed, the JVM remembers failures for
  `networkaddress.cache.negative.ttl` (10 s) and ZooKeeper keeps the old address when a
  lookup fails (`jvm_dns_negative_cache_s`);
- `connect_timeout`: a peer waited out a connection attempt to a peer that was down
  (its old address answered nothing): an election connection waits `zookeeper.cnxTimeout`
  (5 s), a leader connection initLimit x tickTime;
- `connect_to_leader_timeout`: a follower gave up connecting to its leader, each attempt
  after initLimit x tickTime;
- `waited_for_victim`: the new quorum formed only once the killed peer was back;
- `late_to_look`: a follower lost its leader but started looking for a new one only
  seconds later (its log silent in between); meanwhile it answered the others' votes
  as a follower of the dead leader, so no quorum could form without it.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure.dnstruth import Truth
from peerchaos.systems.quorum import waited_for_victim
from peerchaos.systems.zookeeper.dials import dead_peer_timeouts, short_name, stale_addresses


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
                "leader": short_name(name),
                "address": ip,
                "count": len(times),
                "each_s": each,
                "last_s": times[-1]["t"] - t_fault,
                "text": (
                    f"{peer} gave up connecting to the leader {short_name(name)} ({ip}) "
                    f"{len(times)} time{'s' if len(times) > 1 else ''}, each after initLimit "
                    f"x tickTime = {each:g} s"
                ),
            }
        )
    return found


LATE_TO_LOOK_S = 1.0


def late_to_look(truth_events: list[dict[str, Any]], t_fault: float, until: float) -> list[dict]:
    found = []
    lost = [e for e in truth_events if e["kind"] == "lost_leader" and t_fault <= e["t"] <= until]
    for loss in lost:
        looked = next(
            (
                e["t"]
                for e in truth_events
                if e["pod"] == loss["pod"]
                and e["kind"] == "peer_state"
                and e.get("state") == "looking"
                and loss["t"] <= e["t"] <= until
            ),
            None,
        )
        if looked is None or looked - loss["t"] < LATE_TO_LOOK_S:
            continue
        if any(c["peer"] == loss["pod"] for c in found):
            continue
        found.append(
            {
                "kind": "late_to_look",
                "peer": loss["pod"],
                "lost_leader_s": loss["t"] - t_fault,
                "looking_s": looked - t_fault,
                "text": (
                    f"{loss['pod']} lost its leader {loss['t'] - t_fault:.2f} s after the fault "
                    f"but started looking for a new one only {looked - loss['t']:.1f} s later "
                    "(its log is silent in between); until then it answered the other peers' "
                    "votes as a follower, and no quorum could form without it"
                ),
            }
        )
    return found


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
    runtime_events: list[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    dials = [e for e in truth_events if e.get("kind") == "dial"]
    born: dict[str, list[float]] = {}
    for e in runtime_events:
        if e["kind"] == "pod_started" and e.get("pod"):
            born.setdefault(e["pod"], []).append(e["t"])
    causes = []
    if truth is not None:
        stale = stale_addresses(dials, truth, t_fault, until, spec, born)
        causes += stale + dead_peer_timeouts(dials, truth, t_fault, until, spec, stale, born)
    causes += leader_timeouts(dials, t_fault, until, spec)
    causes += late_to_look(truth_events, t_fault, until)
    causes += waited_for_victim(elected, victims, replicas, re_elected)
    return causes
