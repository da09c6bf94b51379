"""The client Service's virtual IP: accept TCP and spread connections over ready endpoints.

This plays kube-proxy: each *new* connection goes to the next ready endpoint (round
robin, as IPVS mode does by default); connections already open stay where they are when
an endpoint turns unready, as conntrack keeps them. With no ready endpoint the
connection is reset at once, as kube-proxy's REJECT rule does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import Counter


class ServiceForwarder:
    """Listens on (vip, port); `set_backends` is called by the endpoints controller."""

    def __init__(self, vip: str, port: int, connect_timeout_s: float = 3.0) -> None:
        self.vip = vip
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self._backends: list[tuple[str, int]] = []
        self._next = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Which backend each accepted connection went to: tests and status read this.
        self.forwarded: Counter[str] = Counter()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self.vip, self.port, reuse_address=True
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def set_backends(self, backends: list[tuple[str, int]]) -> None:
        self._backends = list(backends)

    @property
    def backends(self) -> list[tuple[str, int]]:
        return list(self._backends)

    def _pick(self) -> tuple[str, int] | None:
        if not self._backends:
            return None
        self._next = (self._next + 1) % len(self._backends)
        return self._backends[self._next]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            backend = self._pick()
            if backend is None:
                _reset(writer)
                return
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(*backend), self.connect_timeout_s
                )
            except (OSError, TimeoutError):
                _reset(writer)
                return
            self.forwarded[backend[0]] += 1
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            if task is not None:
                self._tasks.discard(task)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN, so the client sees a refusal, not an empty reply."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        # Half-close first so an in-flight reply still reaches the other side.
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
        with contextlib.suppress(Exception):
            writer.close()
