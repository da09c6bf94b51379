"""A run's watchdog: when the process that owns a run's state dir dies, end what it left.

`chaos run` starts it before anything else exists — before the state dir, the control
plane or Ray — in a session of its own, so a SIGKILL of the driver does not reach it.
It looks at its owner (PID and start time) ten times a second. When the owner is gone
and the state dir it guards is still there (same marker id), it

1. asks the control plane to stop (SIGTERM: it kills its pods, including one it was
   just creating, and removes the namespaces and the bridge it made);
2. ends the helpers recorded in `helper-pids.json` and every process that carries the
   run's id in its environment — everything the driver started inherited it, Ray's
   agents and workers included, so no other process can match — each after checking
   its start time against /proc;
3. sweeps the state dir (recorded processes, namespaces, links, /etc/netns, the dir).

When the state dir goes away while the owner lives (a normal teardown), it exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from peerchaos.errors import PeerchaosError
from peerchaos.runtime.local import ownership
from peerchaos.runtime.local.pod import kill_recorded, owner_alive, process_identity
from peerchaos.runtime.local.state import StateDir
from peerchaos.runtime.local.teardown import kill_helpers, sweep, wait_gone

RUN_ID_ENV = "PEERCHAOS_RUN_ID"
POLL_S = 0.1
PLANE_STOP_S = 3.0


def guarded_run_dir(owner_pid: int) -> Path:
    """A new private state dir under the default place, watched on behalf of `owner_pid`
    (this process): its id goes into the environment first, so every process started
    from here on carries it."""
    run_id = ownership.new_marker_id()
    os.environ[RUN_ID_ENV] = run_id
    base = ownership.state_base()
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = base / f"run-{run_id[:8]}"  # short: Ray's socket paths live below it
    start(root, owner_pid, run_id)
    ownership.create_owned_dir(root, run_id)
    return root


def start(root: Path, owner_pid: int, run_id: str) -> subprocess.Popen[bytes]:
    """Start the watchdog for `root` (which may not exist yet)."""
    created = process_identity(owner_pid)
    if created is None:
        raise PeerchaosError(f"watchdog: owner pid {owner_pid} is not running")
    command = [sys.executable, "-m", "peerchaos.runtime.local.watchdog"]
    return subprocess.Popen(
        [*command, str(root), str(owner_pid), repr(created), run_id],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # out of the driver's group: its SIGKILL or Ctrl-C misses us
        close_fds=True,
    )


def run_processes(run_id: str) -> list[dict[str, float]]:
    """Processes whose environment carries `run_id` (this one excluded), with start times."""
    needle = f"{RUN_ID_ENV}={run_id}".encode()
    found = []
    for pid in psutil.pids():
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        if needle in environ and (created := process_identity(pid)) is not None:
            found.append({"pid": pid, "created": created})
    return found


def end_run_processes(run_id: str) -> list[int]:
    killed = [
        p["pid"]
        for p in run_processes(run_id)
        if kill_recorded(p["pid"], p["created"], group=False)
    ]
    wait_gone(killed, 2.0)
    return killed


def stop_control_plane(state: StateDir) -> None:
    """SIGTERM the recorded control plane (same start time) and wait for it to finish."""
    plane = state.read().get("control_plane") or {}
    pid, created = plane.get("pid"), plane.get("created")
    if not pid or created is None or process_identity(pid) is None:
        return
    if abs((process_identity(pid) or 0.0) - created) > 0.05:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    wait_gone([pid], PLANE_STOP_S)  # the sweep below SIGKILLs it if it is still there


def clean_up(root: Path, run_id: str, guarded: bool) -> None:
    """What the dead owner's teardown would have done."""
    state = StateDir(root)
    if guarded:
        with contextlib.suppress(PeerchaosError, OSError):
            stop_control_plane(state)
        with contextlib.suppress(PeerchaosError, OSError):
            kill_helpers(state)
    end_run_processes(run_id)
    marker = ownership.read_marker(root)
    if guarded and marker is not None and marker["id"] == run_id:
        with contextlib.suppress(PeerchaosError, OSError):
            sweep(state)
    end_run_processes(run_id)  # anything a dying parent started in the meantime


def watch(root: Path, owner_pid: int, owner_created: float, run_id: str) -> None:
    seen = False
    while True:
        marker = ownership.read_marker(root)
        guarded = marker is not None and marker["id"] == run_id
        if guarded:
            seen = True
        elif seen:
            return  # removed by a normal teardown: nothing left to do
        if not owner_alive(owner_pid, owner_created):
            clean_up(root, run_id, guarded)
            return
        time.sleep(POLL_S)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(Path(argv[1]), int(argv[2]), float(argv[3]), argv[4])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
