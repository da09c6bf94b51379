"""Ground truth from the servers' own logs: state transitions and election durations.

ZooKeeper logs every peer state change ("Peer state changed: leading - broadcast") and,
after each election, "LEADING|FOLLOWING - LEADER ELECTION TOOK - N MS". With
millisecond timestamps (the runtime configures them) these are the reference every
probe-measured figure is compared with.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

# Thread names hold brackets of their own ("[QuorumPeer[myid=1](plain=...)]").
LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}) \[.*?\] (?:TRACE|DEBUG|INFO|WARN|ERROR) "
    r"\S+ - (.*)$"
)
STATE = re.compile(r"^Peer state changed: (looking|following|leading|observing)(?: - (.*))?$")
TOOK = re.compile(r"^(LEADING|FOLLOWING|OBSERVING) - LEADER ELECTION TOOK - (\d+) MS")
RESTART = re.compile(r"^# peerchaos: starting at")


def parse_time(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def parse_log(pod: str, text: str) -> list[dict[str, Any]]:
    """Ground-truth events of one peer's log, in order."""
    events: list[dict[str, Any]] = []
    for line in text.splitlines():
        if RESTART.match(line):
            events.append({"pod": pod, "kind": "process_start", "t": None})
            continue
        match = LINE.match(line)
        if not match:
            continue
        t, message = parse_time(match.group(1)), match.group(2)
        if state := STATE.match(message):
            phase = state.group(2)
            events.append(
                {"t": t, "pod": pod, "kind": "peer_state", "state": state.group(1), "phase": phase}
            )
        elif took := TOOK.match(message):
            events.append(
                {
                    "t": t,
                    "pod": pod,
                    "kind": "election_took",
                    "role": took.group(1).lower(),
                    "took_ms": int(took.group(2)),
                }
            )
    # A restart marker has no timestamp of its own: it precedes the next stamped line.
    for i, event in enumerate(events):
        if event["t"] is None:
            following = [e["t"] for e in events[i + 1 :] if e["t"] is not None]
            event["t"] = following[0] if following else None
    return [e for e in events if e["t"] is not None]


def parse_logs(folder: Path) -> list[dict[str, Any]]:
    """All peers' ground-truth events, ordered by time."""
    events = []
    for log in sorted(folder.glob("*.log")):
        events += parse_log(log.stem, log.read_text(errors="replace"))
    return sorted(events, key=lambda e: e["t"])


def serving_as_leader(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """When each leader started serving: its `leading - broadcast` transition."""
    return [
        e
        for e in events
        if e["kind"] == "peer_state" and e["state"] == "leading" and e["phase"] == "broadcast"
    ]
