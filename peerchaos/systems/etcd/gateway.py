"""Questions to one etcd member over its HTTP/JSON gateway (the client port).

Each question opens a fresh connection, as the role probe must: through a client Service
a connection lands on one member, and the answer is about that member. The gateway's
numbers are JSON strings of decimal uint64s; a member id is shown in hex, as etcd's logs
name it.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import Any

from peerchaos.systems.base import Role

STATUS = "/v3/maintenance/status"
MEMBERS = "/v3/cluster/member/list"


def _post(connection: http.client.HTTPConnection, path: str) -> dict[str, Any]:
    connection.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise OSError(f"{path}: HTTP {response.status}")
    return json.loads(body)


def hex_id(value: Any) -> str | None:
    """A member id as etcd's logs write it (`2e1259d415f2a040`); None for 0 / absent."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return format(number, "x") if number else None


def role_from_status(status: dict[str, Any]) -> Role:
    """leader: the member leads; follower: it knows a leader; candidate: it knows none."""
    member = hex_id(status.get("header", {}).get("member_id"))
    leader = hex_id(status.get("leader"))
    term = status.get("raftTerm") or status.get("header", {}).get("raft_term")
    epoch = int(term) if term is not None else None
    if leader is None:
        mode = "candidate"
    elif leader == member:
        mode = "leader"
    else:
        mode = "follower"
    detail = {"member_id": member, "leader_id": leader, "raft_index": status.get("raftIndex")}
    return Role(mode, epoch, detail)


def role(host: str, port: int, timeout_s: float) -> Role:
    """One status question; `unreachable` when nothing answers in time."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        return role_from_status(_post(connection, STATUS))
    except (OSError, ValueError, http.client.HTTPException):
        return Role("unreachable")
    finally:
        connection.close()


def answering_ordinal(host: str, port: int, timeout_s: float) -> int | None:
    """The ordinal of the member that answered (its name is its pod's: `etcd-2` -> 2)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        listing = _post(connection, MEMBERS)
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    me = listing.get("header", {}).get("member_id")
    for member in listing.get("members", []):
        if member.get("ID") == me:
            suffix = str(member.get("name", "")).rpartition("-")[2]
            return int(suffix) if suffix.isdigit() else None
    return None


async def healthy(host: str, port: int, timeout_s: float) -> bool:
    """`/health` says true: the member has a leader and a quorum read succeeded."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return False
    try:
        request = f"GET /health HTTP/1.0\r\nHost: {host}\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        # HTTP/1.0: the member closes the connection after its answer.
        reply = await asyncio.wait_for(reader.read(-1), timeout_s)
        head, _, body = reply.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or status_line[1] != b"200":
            return False
        return json.loads(body or b"{}").get("health") == "true"
    except (OSError, TimeoutError, ValueError):
        return False
    finally:
        writer.close()
