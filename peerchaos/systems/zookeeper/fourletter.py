"""ZooKeeper's four-letter words (`ruok`, `srvr`, `mntr`) over a plain TCP socket.

`srvr` gives a peer's role and zxid; the zxid's high 32 bits are the epoch, which moves
on every election — how a probe tells a *new* leader from the old one.
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass

NOT_SERVING = "This ZooKeeper instance is not currently serving requests"


@dataclass(frozen=True)
class ServerRole:
    """What `srvr` said: mode is leader / follower / observer / standalone / not-serving."""

    mode: str
    zxid: int | None = None
    version: str | None = None

    @property
    def epoch(self) -> int | None:
        return None if self.zxid is None else self.zxid >> 32

    @property
    def serving(self) -> bool:
        return self.mode in ("leader", "follower", "observer", "standalone")


def parse_srvr(reply: str) -> ServerRole:
    """Parse a `srvr` reply; an instance outside a quorum says it is not serving."""
    if NOT_SERVING in reply:
        return ServerRole("not-serving")
    mode = re.search(r"^Mode:\s*(\S+)", reply, re.M)
    zxid = re.search(r"^Zxid:\s*(0x[0-9a-fA-F]+)", reply, re.M)
    version = re.search(r"^Zookeeper version:\s*([^,\s]+)", reply, re.M)
    return ServerRole(
        mode=mode.group(1) if mode else "unknown",
        zxid=int(zxid.group(1), 16) if zxid else None,
        version=version.group(1) if version else None,
    )


def ask(host: str, port: int, word: str, timeout_s: float = 1.0) -> str:
    """Send one four-letter word and read the reply until the server closes."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(word.encode())
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


async def ask_async(host: str, port: int, word: str, timeout_s: float = 1.0) -> str:
    """The asyncio form of `ask`, for the runtime's prober; raises TimeoutError/OSError."""

    async def exchange() -> str:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(word.encode())
            await writer.drain()
            return (await reader.read()).decode(errors="replace")
        finally:
            writer.close()

    return await asyncio.wait_for(exchange(), timeout_s)


def role(host: str, port: int, timeout_s: float = 1.0) -> ServerRole:
    """The peer's role; `unreachable` when it does not answer in time."""
    try:
        return parse_srvr(ask(host, port, "srvr", timeout_s))
    except OSError:
        return ServerRole("unreachable")


def answering_server_id(host: str, port: int, timeout_s: float = 2.0) -> int | None:
    """The myid of the server that answers `conf` on a fresh connection (a Service's
    virtual IP picks one); None when nothing answers or the answer names none."""
    try:
        reply = ask(host, port, "conf", timeout_s=timeout_s)
    except OSError:
        return None
    ids = [line.split("=", 1)[1] for line in reply.splitlines() if line.startswith("serverId=")]
    return int(ids[0]) if ids and ids[0].strip().isdigit() else None
