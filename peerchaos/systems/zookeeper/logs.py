"""Ground truth from the servers' own logs: state transitions, votes and peer dials.

What a ZooKeeper peer writes about itself is the reference the probes are compared with:
- `Peer state changed: leading - broadcast` (3.6+): a peer's state and phase. Only the
  `broadcast` phase serves; `discovery` / `synchronization` are not yet following;
- `LEADING|FOLLOWING - LEADER ELECTION TOOK - N MS`: how long *this peer's* vote took
  (the restarted victim rejoining logs one too) — not the election's ground truth;
- the addresses a peer dials: `connecting to zk-2.zk-hs…/10.244.0.12:2888` (leader),
  `Cannot open channel to 3 at election address …/10.244.0.12:3888`, `connectToLeader
  exceeded`, `Successfully connected to leader, using address: …` — which tell when a
  peer keeps dialling an address no pod holds any more;
- `Exception when following the leader`: when a follower lost its leader (it should look
  for a new one at once).

Log formats read (tested on real lines): the Debian package as the local runtime starts
it (slf4j-simple, ISO-8601 with zone), the official image's and Bitnami's logback text
pattern (`%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n`, no zone: UTC), the
Strimzi/Kafka pattern (`%d{ISO8601} %p %m (%c) [%t]`) and Bitnami's JSON (ECS) lines.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peerchaos.systems.files import log_heads, parse_folder

LEVELS = r"(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL)"
STAMP = r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d[.,]\d{3})(Z|[+-]\d\d:?\d\d)?"
# Debian package (slf4j-simple): thread names hold brackets of their own.
SIMPLE = re.compile(rf"^{STAMP} \[.*?\] {LEVELS} \S+ - (.*)$")
# Official image / Bitnami / ZooKeeper's own logback.xml: "[thread:Class@line] - message".
LOGBACK = re.compile(rf"^{STAMP} \[myid:\d*\] - {LEVELS}\s+\[.*?:\w+@\d+\] - (.*)$")
# Strimzi / Kafka's log4j pattern: "message (logger) [thread]".
STRIMZI = re.compile(rf"^{STAMP} {LEVELS}\s+(.*) \((?:org|com|io)\.[\w.$]+\) \[.*\]$")
RESTART = re.compile(r"^# peerchaos: starting at (\S+)")

STATE = re.compile(r"^Peer state changed: (looking|following|leading|observing)(?: - (.*))?$")
BARE_STATE = re.compile(r"^(LOOKING|FOLLOWING|LEADING|OBSERVING)$")
TOOK = re.compile(r"^(LEADING|FOLLOWING|OBSERVING) - LEADER ELECTION TOOK - (\d+) MS")
# An InetSocketAddress prints as host/ip:port (or host/<unresolved>:port).
ADDRESS = r"([\w.-]+)/([\d.]+|<unresolved>):(\d+)"
LEADER_TRY = re.compile(rf"^Unexpected exception, tries=\d+, .*connecting to {ADDRESS}")
LEADER_GAVE_UP = re.compile(
    rf"^Unexpected exception, (?:connectToLeader|initLimit|retries) exceeded\..*connecting to "
    rf"{ADDRESS}"
)
ELECTION_DIAL = re.compile(rf"^Cannot open channel to (\d+) at election address {ADDRESS}")
CONNECTED = re.compile(rf"^Successfully connected to leader, using address: {ADDRESS}")
LOST_LEADER = re.compile(r"^Exception when following the leader")


def parse_time(stamp: str, zone: str | None = None) -> float:
    """Seconds since the epoch; a stamp without a zone is UTC (the containers' default)."""
    text = stamp.replace(",", ".").replace(" ", "T")
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")
    if not zone or zone == "Z":
        return moment.replace(tzinfo=UTC).timestamp()
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return moment.replace(tzinfo=UTC).timestamp() - offset


def split_line(line: str) -> tuple[float, str] | None:
    """(time, message) of one log line in any format we read; None for other lines."""
    if line.startswith("{"):
        return _ecs_line(line)
    for pattern in (SIMPLE, LOGBACK, STRIMZI):
        match = pattern.match(line)
        if match:
            return parse_time(match.group(1), match.group(2)), match.group(3)
    return None


def _ecs_line(line: str) -> tuple[float, str] | None:
    try:
        record = json.loads(line)
        stamp, message = record["@timestamp"], record["message"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(stamp, str) or not isinstance(message, str):
        return None
    match = re.match(STAMP, stamp)
    return (parse_time(match.group(1), match.group(2)), message) if match else None


def _dial(t: float, pod: str, match: re.Match[str], channel: str, outcome: str) -> dict:
    offset = 1 if channel == "election" else 0  # the election line names the peer's id first
    host, ip, port = match.group(1 + offset), match.group(2 + offset), match.group(3 + offset)
    return {
        "t": t,
        "pod": pod,
        "kind": "dial",
        "channel": channel,
        "outcome": outcome,
        "name": host,
        "ip": None if ip == "<unresolved>" else ip,
        "port": int(port),
    }


def _message_event(t: float, pod: str, message: str) -> dict[str, Any] | None:
    if state := STATE.match(message):
        return {
            "t": t,
            "pod": pod,
            "kind": "peer_state",
            "state": state.group(1),
            "phase": state.group(2),
        }
    if took := TOOK.match(message):
        # One peer's vote, whatever the ensemble was doing.
        return {
            "t": t,
            "pod": pod,
            "kind": "election_took",
            "role": took.group(1).lower(),
            "took_ms": int(took.group(2)),
        }
    if match := LEADER_GAVE_UP.match(message):
        return _dial(t, pod, match, "leader", "timeout")
    if match := LEADER_TRY.match(message):
        return _dial(t, pod, match, "leader", "failed")
    if match := ELECTION_DIAL.match(message):
        return _dial(t, pod, match, "election", "failed")
    if match := CONNECTED.match(message):
        return _dial(t, pod, match, "leader", "connected")
    if LOST_LEADER.match(message):
        return {"t": t, "pod": pod, "kind": "lost_leader"}
    if bare := BARE_STATE.match(message):
        return {"t": t, "pod": pod, "kind": "bare_state", "state": bare.group(1).lower()}
    return None


def parse_log(pod: str, text: str) -> list[dict[str, Any]]:
    """Ground-truth events of one peer's log, in order."""
    events: list[dict[str, Any]] = []
    pending_start = False
    for line in text.splitlines():
        if restart := RESTART.match(line):
            events.append({"pod": pod, "kind": "process_start", "t": _marker_time(restart)})
            pending_start = events[-1]["t"] is None
            continue
        parsed = split_line(line)
        if parsed is None:
            continue
        t, message = parsed
        if pending_start:
            events[-1]["t"] = t  # a marker without a usable time precedes this line
            pending_start = False
        found = _message_event(t, pod, message)
        if found is not None:
            events.append(found)
    # ZooKeeper before 3.6 logs only the bare state names; 3.6+ logs both.
    if any(e["kind"] == "peer_state" for e in events):
        events = [e for e in events if e["kind"] != "bare_state"]
    else:
        for e in events:
            if e["kind"] == "bare_state":
                # When such a peer finished syncing is not logged: serving from here.
                e.update(kind="peer_state", phase="unlogged")
    return [e for e in events if e["t"] is not None]


def _marker_time(match: re.Match[str]) -> float | None:
    stamp = match.group(1)
    found = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$", stamp)
    if not found:
        return None
    fraction = (found.group(2) or "0")[:3].ljust(3, "0")
    return parse_time(f"{found.group(1)}.{fraction}", found.group(3) or "Z")


def parse_logs(folder: Path) -> list[dict[str, Any]]:
    """All peers' ground-truth events, ordered by time."""
    return parse_folder(folder, parse_log)


def serving_as_leader(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """When each leader started serving: its `leading - broadcast` transition."""
    return [
        e
        for e in events
        if e["kind"] == "peer_state" and e["state"] == "leading" and e["phase"] == "broadcast"
    ]


def log_state(event: dict[str, Any]) -> str:
    """A peer_state event as a lane state: serving only in the broadcast phase."""
    state, phase = event.get("state"), event.get("phase")
    if state == "looking":
        return "looking"
    if phase == "unlogged" or str(phase).startswith("broadcast"):
        return {"leading": "leader", "following": "follower", "observing": "follower"}.get(
            str(state), "looking"
        )
    return "syncing"  # entered, discovery or synchronization: not serving yet


ZK_VERSION = re.compile(r"zookeeper\.version=([0-9][0-9A-Za-z.]*)")


def version_from_logs(peers: Path) -> str | None:
    """The ZooKeeper version the first peer log that names one says."""
    for head in log_heads(peers):
        if match := ZK_VERSION.search(head):
            return match.group(1).rstrip(".-")
    return None
