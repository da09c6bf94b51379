"""A run's helper processes (Ray's): found under the driver and recorded as they appear.

Ray starts its processes in the driver's session (the raylet starts its agents and
workers itself, moments or minutes later); they outlive a driver that is SIGKILLed.
`HelperRecorder` writes them to the run's `helper-pids.json` by PID and start time
from before `ray.init` on, so whoever removes the state dir can end exactly them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import psutil

from peerchaos.atomicfile import write_atomic

_active: HelperRecorder | None = None  # the recorder running in this process, if any


def ray_processes(exclude: set[int] = frozenset()) -> list[dict[str, float]]:
    """Ray's processes under this driver, with start times, so they can be ended by PID.

    Left out: the subtrees of `exclude` and of every child that leads a session of its
    own — the local control plane (the ZooKeeper pods are its children) and the run's
    watchdog; Ray starts its processes in the driver's session. Processes the recorder
    saw and that still run are included, so a snapshot written here never drops one.
    One pass over the process table: this runs every 50 ms while Ray starts.
    """
    children: dict[int, list[int]] = {}
    created: dict[int, float] = {}
    for process in psutil.process_iter(["ppid", "create_time"]):
        children.setdefault(process.info["ppid"], []).append(process.pid)
        created[process.pid] = process.info["create_time"]

    def subtree(pid: int) -> set[int]:
        found, stack = set(), [pid]
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    me = os.getpid()
    roots = set(exclude) | {pid for pid in children.get(me, []) if _leads_session(pid)}
    skipped = roots.union(*(subtree(pid) for pid in roots))
    found = {pid: created[pid] for pid in subtree(me) - skipped if created.get(pid)}
    if _active is not None:
        for pid, started in _active.seen().items():
            if pid not in skipped and _same_process(pid, started):
                found.setdefault(pid, started)
    return [{"pid": pid, "created": started} for pid, started in found.items()]


def _leads_session(pid: int) -> bool:
    try:
        return os.getsid(pid) == pid
    except OSError:
        return False


def _same_process(pid: int, created: float) -> bool:
    try:
        return abs(psutil.Process(pid).create_time() - created) <= 0.05
    except psutil.Error:
        return False


class HelperRecorder:
    """Writes Ray's processes to a file as they appear, by PID and start time.

    A thread polls the driver's process tree — every 50 ms while it keeps changing
    (Ray starting, actors spawning workers), every 500 ms once it has been still for
    5 s — and rewrites the file (atomically) whenever a new process shows up. Nothing
    waits for the set to settle: a driver SIGKILLed at any moment leaves a list that
    names every helper seen up to 50 ms before.
    """

    FAST_S, SLOW_S, QUIET_S = 0.05, 0.5, 5.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peerchaos-helpers", daemon=True)

    def start(self) -> None:
        global _active
        _active = self
        self._record()  # before Ray exists: an empty list, so `down` knows there is one
        self._thread.start()

    def stop(self) -> None:
        global _active
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if _active is self:
            _active = None

    def seen(self) -> dict[int, float]:
        with self._lock:
            return dict(self._seen)

    def _record(self) -> bool:
        current = {p["pid"]: p["created"] for p in ray_processes()}
        with self._lock:
            new = {pid: t for pid, t in current.items() if self._seen.get(pid) != t}
            self._seen.update(new)
            listed = [{"pid": pid, "created": t} for pid, t in self._seen.items()]
        if new or not self.path.exists():
            try:
                write_atomic(self.path, json.dumps(listed), mode=0o600, fsync=False)
            except FileNotFoundError:
                self._stop.set()  # the state dir went (teardown): nothing to record into
        return bool(new)

    def _run(self) -> None:
        changed = time.monotonic()
        while not self._stop.is_set():
            try:
                if self._record():
                    changed = time.monotonic()
            except Exception:  # a process vanishing mid-look must not end the recording
                pass
            quiet = time.monotonic() - changed > self.QUIET_S
            self._stop.wait(self.SLOW_S if quiet else self.FAST_S)
