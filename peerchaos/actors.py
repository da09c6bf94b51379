"""Ray actors: thin wrappers that run the plain observers (load, role probe, DNS probe).

Ray is started on loopback with its own temp dir unless a cluster address (a KubeRay
cluster) is given. Actors ask for no CPU (`num_cpus=0`): they wait on the network,
and a 2-core machine must still run the peers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import threading
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

from peerchaos.atomicfile import write_atomic
from peerchaos.dnsprobe import DnsProbe
from peerchaos.events import JsonlAppender
from peerchaos.helper_pids import HelperRecorder
from peerchaos.helper_pids import ray_processes as ray_processes  # observe.py imports it here
from peerchaos.load import LoadProfile
from peerchaos.probes import RoleProbe
from peerchaos.runtime.local import ownership
from peerchaos.runtime.local.state import HELPER_PIDS, RAY_TEMP_LINK
from peerchaos.systems import DEFAULT_SYSTEM, get_system

_ray_temp_dir: str | None = None
_recorder: HelperRecorder | None = None
# Ray opens Unix sockets ~64 characters below its temp dir, and such a path is at most
# 107 bytes: a longer temp dir would make `ray.init` fail.
RAY_TEMP_MAX = 43


def start_ray(ray_address: str | None = None, temp_root: str | None = None) -> None:
    """Join `ray_address`, or start a local Ray on loopback in a temp dir of its own.

    `temp_root` is a run's state dir: Ray's temp dir goes inside it, and Ray's
    processes are written to its `helper-pids.json` as they appear (from before
    `ray.init` is called), so whoever removes the state dir — `down`, or the run's
    watchdog when the driver died — ends them and removes Ray's files too.
    """
    global _ray_temp_dir, _recorder
    if ray.is_initialized():
        return
    if ray_address:
        ray.init(address=ray_address, log_to_driver=False, configure_logging=False)
        return
    _ray_temp_dir = _make_ray_temp_dir(temp_root)
    if temp_root:
        _recorder = HelperRecorder(Path(temp_root) / HELPER_PIDS)
        _recorder.start()
    # Ray's core worker installs its own SIGTERM handler, which dumps a stack and kills
    # the process; the caller's handler (Chaos Toolkit's: heal, then exit) must win.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ray.init(
            address="local",
            num_cpus=os.cpu_count() or 2,
            include_dashboard=False,  # the API server only, without the dashboard's modules
            _temp_dir=_ray_temp_dir,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
        )
    except BaseException:
        # A Ray that did not start leaves nothing behind either.
        ray.shutdown()
        stop_ray()
        raise
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


def _make_ray_temp_dir(temp_root: str | None) -> str:
    if temp_root and len(os.path.join(temp_root, "ray")) <= RAY_TEMP_MAX:
        path = os.path.join(temp_root, "ray")
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path
    if not temp_root:
        return tempfile.mkdtemp(prefix="pc-ray-")
    # A state dir too deep for Ray's sockets: a short private dir with a marker, named in
    # the state dir so that its sweep removes this one too.
    short = Path(tempfile.gettempdir()) / f"pc-ray-{secrets.token_hex(4)}"
    ownership.create_owned_dir(short)
    write_atomic(Path(temp_root) / RAY_TEMP_LINK, str(short))
    return str(short)


def stop_ray() -> None:
    """Shut Ray down, stop recording its processes, remove the temp dir it was given."""
    global _ray_temp_dir, _recorder
    if ray.is_initialized():
        ray.shutdown()
    if _recorder is not None:
        _recorder.stop()
        _recorder = None
    if _ray_temp_dir:
        shutil.rmtree(_ray_temp_dir, ignore_errors=True)
        _ray_temp_dir = None


def _normal_priority() -> None:
    """Ray starts its workers at nice 15; a probe is a clock and must not wait behind the
    servers it watches. Back to nice 0 where allowed (root), else leave it."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 0)


def pod_addresses_of(locator: dict[str, Any]) -> Any:
    """A callable giving each pod's (ip, client port), from the runtime `locator` names."""
    from peerchaos.runtime import open_runtime

    return open_runtime(locator).pod_addresses


@ray.remote(num_cpus=0)
class LoadWorkerActor:
    """`concurrency` client processes of the system's client (`System.load_worker_class`)
    on one session, each with one op in flight."""

    def __init__(
        self,
        worker_id: str,
        hosts: str,
        history_path: str,
        profile: dict[str, Any],
        seed: int,
        system: str = DEFAULT_SYSTEM,
    ) -> None:
        worker_class = get_system(system).load_worker_class()
        load = LoadProfile(**profile)
        ids = (
            [worker_id]
            if load.concurrency == 1
            else [f"{worker_id}.{i}" for i in range(load.concurrency)]
        )
        first = worker_class(ids[0], hosts, history_path, load, seed)
        self.workers = [first] + [
            worker_class(pid, hosts, history_path, load, seed * 1000 + i, share=first)
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
    def __init__(
        self,
        locator: dict[str, Any],
        events_path: str,
        period_s: float,
        system: str = DEFAULT_SYSTEM,
    ) -> None:
        super().__init__(events_path)
        self.probe = RoleProbe(
            pod_addresses_of(locator),
            self.events,
            period_s=period_s,
            realtime=True,
            system=get_system(system),
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
