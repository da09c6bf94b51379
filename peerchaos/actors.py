"""Ray actors: thin wrappers that run the plain observers (load, role probe, DNS probe).

Ray is started on loopback with its own temp dir unless a cluster address (a KubeRay
cluster) is given. Actors ask for no CPU (`num_cpus=0`): they wait on the network,
and a 2-core machine must still run the peers.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Ray reads these when imported, so they are set first (a user's own values win):
# - without the first, Ray listens on the host's external address; with it, on loopback;
# - token auth with a per-process token in the environment, which Ray's processes
#   inherit; otherwise Ray writes one to ~/.ray/auth_token and leaves it behind.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))

import ray

from peerchaos.client import LoadProfile, LoadWorker
from peerchaos.dnsprobe import DnsProbe
from peerchaos.events import JsonlAppender
from peerchaos.probes import RoleProbe

_ray_temp_dir: str | None = None


def start_ray(ray_address: str | None = None, temp_root: str | None = None) -> None:
    """Join `ray_address`, or start a local Ray on loopback in a temp dir of its own.

    `temp_root` puts that dir inside another (a run's state dir), so whoever removes the
    state dir — `down`, or the control plane when its owner died — removes Ray's too.
    """
    global _ray_temp_dir
    if ray.is_initialized():
        return
    if ray_address:
        ray.init(address=ray_address, log_to_driver=False, configure_logging=False)
        return
    _ray_temp_dir = tempfile.mkdtemp(prefix="pc-ray-", dir=temp_root)
    # Ray's core worker installs its own SIGTERM handler, which dumps a stack and kills
    # the process; the caller's handler (Chaos Toolkit's: heal, then exit) must win.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ray.init(
            address="local",
            num_cpus=os.cpu_count() or 2,
            include_dashboard=False,
            _temp_dir=_ray_temp_dir,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
        )
    except BaseException:
        # A Ray that did not start leaves nothing behind either.
        ray.shutdown()
        shutil.rmtree(_ray_temp_dir, ignore_errors=True)
        _ray_temp_dir = None
        raise
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


def stop_ray() -> None:
    """Shut Ray down and remove the temp dir it was given."""
    global _ray_temp_dir
    if ray.is_initialized():
        ray.shutdown()
    if _ray_temp_dir:
        shutil.rmtree(_ray_temp_dir, ignore_errors=True)
        _ray_temp_dir = None


def ray_processes(exclude: set[int] = frozenset()) -> list[dict[str, float]]:
    """Ray's processes under this driver, with start times, so they can be ended by PID.

    `exclude` names other children (the local control plane) whose whole subtree —
    the ZooKeeper pods among it — is not Ray's.
    """
    import psutil

    skipped = set(exclude)
    for pid in exclude:
        try:
            skipped |= {p.pid for p in psutil.Process(pid).children(recursive=True)}
        except psutil.Error:
            continue
    found = []
    for child in psutil.Process().children(recursive=True):
        if child.pid in skipped:
            continue
        try:
            found.append({"pid": child.pid, "created": child.create_time()})
        except psutil.Error:
            continue
    return found


def _normal_priority() -> None:
    """Ray starts its workers at nice 15; a probe is a clock and must not wait behind the
    servers it watches. Back to nice 0 where allowed (root), else leave it."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 0)


def record_ray_processes(
    path: Path, exclude_pid: int | None, settle_s: float = 0.5, max_wait_s: float = 5.0
) -> None:
    """Write Ray's processes to `path` once the set has stopped growing for `settle_s`.

    The raylet starts its agents a moment after `ray.init` returns; a record taken too
    early would miss them, and they outlive a SIGKILLed driver.
    """
    exclude = {exclude_pid} if exclude_pid else set()
    deadline = time.monotonic() + max_wait_s
    seen = ray_processes(exclude)
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = ray_processes(exclude)
        if {p["pid"] for p in now} != {p["pid"] for p in seen}:
            seen, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= settle_s:
            break
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(seen))
    tmp.replace(path)


def pod_addresses_of(locator: dict[str, Any]) -> Any:
    """A callable giving each pod's (ip, client port), from the runtime `locator` names."""
    from peerchaos.runtime import open_runtime

    return open_runtime(locator).pod_addresses


@ray.remote(num_cpus=0)
class LoadWorkerActor:
    """`concurrency` client processes on one kazoo session, each with one op in flight."""

    def __init__(
        self, worker_id: str, hosts: str, history_path: str, profile: dict[str, Any], seed: int
    ) -> None:
        load = LoadProfile(**profile)
        ids = (
            [worker_id]
            if load.concurrency == 1
            else [f"{worker_id}.{i}" for i in range(load.concurrency)]
        )
        first = LoadWorker(ids[0], hosts, history_path, load, seed)
        self.workers = [first] + [
            LoadWorker(pid, hosts, history_path, load, seed * 1000 + i, share=first)
            for i, pid in enumerate(ids[1:], start=1)
        ]
        self.threads: list[threading.Thread] = []

    def connect(self) -> bool:
        self.workers[0].connect()
        return True

    def start(self) -> bool:
        self.threads = [threading.Thread(target=w.run, daemon=True) for w in self.workers]
        for thread in self.threads:
            thread.start()
        return True

    def stop(self) -> dict[str, Any]:
        for worker in self.workers:
            worker.stop()
        for thread in self.threads:
            thread.join(timeout=30)
        self.workers[0].history.flush()
        total: dict[str, Any] = {"ok": 0, "fail": 0, "info": 0, "by_f": {}}
        for worker in self.workers:
            for key in ("ok", "fail", "info"):
                total[key] += getattr(worker.stats, key)
            for key, count in worker.stats.by_f.items():
                total["by_f"][key] = total["by_f"].get(key, 0) + count
        return total

    def final_reads(self, timeout_s: float = 30.0) -> int:
        return self.workers[0].final_reads(timeout_s)

    def close(self) -> bool:
        self.workers[0].close()
        return True


class _ProbeHost:
    """What the probe actors share: nice 0, an events file, start and stop."""

    probe: RoleProbe | DnsProbe

    def __init__(self, events_path: str) -> None:
        _normal_priority()
        self.events = JsonlAppender(events_path, flush_every=32, flush_s=0.05)

    def start(self) -> bool:
        self.probe.start()
        return True

    def stop(self) -> list[float]:
        """Stop polling; returns the poll intervals (for jitter)."""
        self.probe.stop()
        self.events.close()
        return self.probe.intervals


@ray.remote(num_cpus=0)
class RoleProbeActor(_ProbeHost):
    def __init__(self, locator: dict[str, Any], events_path: str, period_s: float) -> None:
        super().__init__(events_path)
        self.probe = RoleProbe(
            pod_addresses_of(locator), self.events, period_s=period_s, realtime=True
        )


@ray.remote(num_cpus=0)
class DnsProbeActor(_ProbeHost):
    def __init__(
        self,
        probe_id: str,
        server: tuple[str, int],
        names: list[str],
        events_path: str,
        period_s: float,
    ) -> None:
        super().__init__(events_path)
        self.probe = DnsProbe(
            probe_id, tuple(server), names, self.events, period_s=period_s, realtime=True
        )
