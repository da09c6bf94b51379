"""The control plane's process: serves requests on a Unix socket in the state dir.

`peerchaos up` starts this detached (`python -m peerchaos.runtime.local.daemon DIR`), so
the ensemble outlives the command that made it, like a cluster outlives kubectl. A
request is one JSON line (`{"op": "kill", "pod": "zk-0"}`), the answer one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import traceback
from typing import Any

import yaml

from peerchaos.errors import PeerchaosError
from peerchaos.runtime.local import ownership
from peerchaos.runtime.local.controlplane import ControlPlane
from peerchaos.runtime.local.objects import ensemble_from_objects
from peerchaos.runtime.local.pod import owner_alive
from peerchaos.runtime.local.state import StateDir
from peerchaos.runtime.local.teardown import kill_helpers


async def dispatch(plane: ControlPlane, request: dict[str, Any], stop: asyncio.Event) -> Any:
    op = request.get("op")
    pod = str(request.get("pod", ""))
    if op == "status":
        return plane.status()
    if op == "kill":
        return plane.kill(pod)
    if op == "unready":
        return plane.make_unready(pod)
    if op == "ready":
        return plane.make_ready(pod)
    if op == "pause":
        return plane.pause(pod)
    if op == "resume":
        return plane.resume(pod)
    if op == "partition":
        return await plane.partition(request["groups"])
    if op == "heal":
        return await plane.heal()
    if op == "delete_endpoints":
        return plane.endpoints_change(str(request["service"]), delete=True)
    if op == "restore_endpoints":
        return plane.endpoints_change(str(request["service"]), delete=False)
    if op == "shutdown":
        stop.set()
        return True
    raise PeerchaosError(f"control plane: unknown request {op!r}")


async def serve(state: StateDir, plane: ControlPlane) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            try:
                result = await dispatch(plane, json.loads(line), stop)
                reply = {"ok": True, "result": result}
            except PeerchaosError as error:
                reply = {"ok": False, "error": str(error), "exit_code": error.exit_code}
            except Exception as error:  # a bug must not take the ensemble down with it
                traceback.print_exc()
                reply = {"ok": False, "error": f"control plane: {error!r}", "exit_code": 1}
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
        finally:
            writer.close()

    state.control_socket.unlink(missing_ok=True)
    server = await asyncio.start_unix_server(handle, path=str(state.control_socket))
    owner = plane.owner
    orphaned = asyncio.Event()
    # The task is kept in the plane's task set so it is not garbage-collected.
    if owner:
        plane.spawn_task(watch_owner(owner, stop, orphaned))
    try:
        await plane.start()
        await stop.wait()
    finally:
        server.close()
        await plane.stop()
        state.control_socket.unlink(missing_ok=True)
        plane.save_state("stopped")
    if orphaned.is_set():
        # Nobody is left to run `down`: end the run's Ray processes and remove the state
        # dir too (pods, namespaces and the bridge went with plane.stop()) — if it is ours.
        with contextlib.suppress(PeerchaosError, OSError):
            kill_helpers(state)
            ownership.remove_owned(state.root)


async def watch_owner(
    owner: dict[str, float], stop: asyncio.Event, orphaned: asyncio.Event
) -> None:
    """Stop when the process that owns this ensemble (a `chaos run`) is gone."""
    while not stop.is_set():
        if not owner_alive(int(owner["pid"]), float(owner["created"])):
            orphaned.set()
            stop.set()
            return
        await asyncio.sleep(1.0)


def main(argv: list[str]) -> int:
    state = StateDir(argv[1])
    objects = list(yaml.safe_load_all(state.objects_file.read_text()))
    options = json.loads(state.options_file.read_text())
    plane = ControlPlane(state, ensemble_from_objects(objects), options)
    try:
        asyncio.run(serve(state, plane))
    except Exception as error:
        traceback.print_exc()
        with contextlib.suppress(Exception):
            plane.save_state("failed")
        print(f"control plane failed: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
