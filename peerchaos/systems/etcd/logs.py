"""Ground truth from etcd's own log lines (3.4's zap logger: one JSON object a line).

What a member writes about itself (raft's lines carry its id in hex):
- `<id> became leader at term N`: it leads (and serves: a Raft leader serves as soon as
  it leads; its first entry commits within a heartbeat);
- `raft.node: <id> elected leader <lid> at term N` / `changed leader from <a> to <b> at
  term N`: it follows `<lid>`, which serves;
- `<id> became follower at term N` without a leader named, `became candidate` /
  `became pre-candidate`, `raft.node: <id> lost leader <lid> at term N`: it follows no
  leader (a candidate's lane is `looking`);
- `<id> is starting a new election at term N`: its election timeout fired;
- `<id> [logterm: a, index: b, vote: v] rejected MsgVote from <cid> [logterm: c, index:
  d] at term N`: a vote refused (Raft grants it only to a candidate whose log is at
  least as new); `... ignored MsgVote from <cid> ... lease is not expired`: refused
  because it heard from a leader within the election timeout (check-quorum);
- `starting local member` / `restarting local member` (`local-member-id`) and `starting
  an etcd server` (`etcd-version`): which member this log is, and its version.

The local runtime's `# peerchaos: starting at <time>` line marks each process start.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peerchaos.systems.files import log_heads, parse_folder

RESTART = re.compile(r"^# peerchaos: starting at (\S+)")
BECAME = re.compile(r"^([0-9a-f]+) became (leader|follower|candidate|pre-candidate) at term (\d+)$")
ELECTED = re.compile(r"^raft\.node: ([0-9a-f]+) elected leader ([0-9a-f]+) at term (\d+)$")
CHANGED = re.compile(
    r"^raft\.node: ([0-9a-f]+) changed leader from ([0-9a-f]+) to ([0-9a-f]+) at term (\d+)$"
)
LOST = re.compile(r"^raft\.node: ([0-9a-f]+) lost leader ([0-9a-f]+) at term (\d+)$")
CAMPAIGN = re.compile(r"^([0-9a-f]+) is starting a new election at term (\d+)$")
VOTE = r"\[logterm: (\d+), index: (\d+)(?:, vote: [0-9a-f]+)?\]"
REFUSED = re.compile(
    rf"^([0-9a-f]+) {VOTE} (rejected|ignored) Msg(?:Pre)?Vote from ([0-9a-f]+) {VOTE} "
    r"at term (\d+)(: lease is not expired)?"
)


def parse_time(stamp: str) -> float | None:
    """zap's ISO-8601 time (`2026-12-01T13:02:05.400Z`, or with an offset) in epoch s."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def split_line(line: str) -> tuple[float, str] | None:
    """(time, message) of one zap JSON line; None for any other line."""
    fields = _fields(line)
    if fields is None:
        return None
    return fields["t"], fields["msg"]


def _fields(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("msg"), str):
        return None
    t = parse_time(str(record.get("ts", "")))
    if t is None:
        return None
    return {**record, "t": t}


def _state(t: float, pod: str, state: str, term: str, **extra: Any) -> dict[str, Any]:
    return {"t": t, "pod": pod, "kind": "peer_state", "state": state, "term": int(term), **extra}


def _message_event(t: float, pod: str, record: dict[str, Any]) -> dict[str, Any] | None:
    message = record["msg"]
    if match := BECAME.match(message):
        member, state, term = match.groups()
        # A follower's leader is named by raft.node's next line; until then it has none.
        named = "leader" if state == "leader" else "no-leader" if state == "follower" else state
        return _state(t, pod, named, term, member=member)
    if match := ELECTED.match(message):
        member, leader, term = match.groups()
        if member == leader:
            return None  # `became leader` said it already
        return _state(t, pod, "follower", term, member=member, leader=leader)
    if match := CHANGED.match(message):
        member, _, leader, term = match.groups()
        if member == leader:
            return None
        return _state(t, pod, "follower", term, member=member, leader=leader)
    if match := LOST.match(message):
        member, leader, term = match.groups()
        return _state(t, pod, "no-leader", term, member=member, lost=leader)
    if match := CAMPAIGN.match(message):
        member, term = match.groups()
        return {"t": t, "pod": pod, "kind": "campaign", "member": member, "term": int(term)}
    if match := REFUSED.match(message):
        _, logterm, index, how, candidate, c_logterm, c_index, term, lease = match.groups()
        return {
            "t": t,
            "pod": pod,
            "kind": "vote_refused",
            "why": "lease" if lease else "log" if how == "rejected" else "other",
            "candidate": candidate,
            "term": int(term),
            "log": [int(logterm), int(index)],
            "candidate_log": [int(c_logterm), int(c_index)],
        }
    if message in ("starting local member", "restarting local member"):
        member = record.get("local-member-id")
        return {"t": t, "pod": pod, "kind": "member_id", "member": member}
    return None


def parse_log(pod: str, text: str) -> list[dict[str, Any]]:
    """Ground-truth events of one member's log, in order."""
    events: list[dict[str, Any]] = []
    pending_start: dict[str, Any] | None = None
    for line in text.splitlines():
        if restart := RESTART.match(line):
            pending_start = {"pod": pod, "kind": "process_start", "t": parse_time(restart.group(1))}
            events.append(pending_start)
            continue
        record = _fields(line)
        if record is None:
            continue
        if pending_start is not None and pending_start["t"] is None:
            pending_start["t"] = record["t"]  # a marker without a usable time
        pending_start = None
        found = _message_event(record["t"], pod, record)
        if found is not None:
            events.append(found)
    return [e for e in events if e["t"] is not None]


def parse_logs(folder: Path) -> list[dict[str, Any]]:
    """All members' ground-truth events, ordered by time."""
    return parse_folder(folder, parse_log)


def serving_as_leader(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """When each leader started serving: its `became leader at term N`."""
    return [e for e in events if e["kind"] == "peer_state" and e["state"] == "leader"]


def log_state(event: dict[str, Any]) -> str:
    """A peer_state event as a lane state: leader, follower (of a known leader), looking."""
    state = event.get("state")
    return state if state in ("leader", "follower") else "looking"


def version_from_logs(peers: Path) -> str | None:
    """The etcd version the first member log that names one says."""
    for head in log_heads(peers):
        for line in head.splitlines():
            record = _fields(line)
            if record and record.get("msg") == "starting an etcd server":
                version = record.get("etcd-version")
                if isinstance(version, str) and version:
                    return version
    return None
