"""Remove everything a local ensemble created, from its state dir alone.

Used after the control plane shut down cleanly (as a sweep), and when it cannot answer
because it was SIGKILLed: processes recorded in `state.json` (checked against their
start time, never by name), the pods' namespaces, the bridge, `/etc/netns` files, and
the state dir itself. The state dir must be ours (its marker) before anything in it is
trusted; the device id it names is checked against the dir's own. Running it twice is
harmless.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import psutil

from peerchaos.runtime.local import network as net
from peerchaos.runtime.local import ownership
from peerchaos.runtime.local.pod import kill_recorded
from peerchaos.runtime.local.state import RAY_TEMP_LINK, StateDir, expected_uid


def wait_gone(pids: list[int], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if psutil.pid_exists(pid) and _not_zombie(pid)]
        if not alive:
            return
        time.sleep(0.02)


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_helpers(state: StateDir) -> list[int]:
    """Kill the helper processes recorded in the state dir (a run's Ray), by PID."""
    return [
        p["pid"]
        for p in state.read_helpers()
        if kill_recorded(p["pid"], p.get("created"), group=False)
    ]


def sweep(state: StateDir, keep_root: bool = False) -> list[str]:
    """Remove what `state.json` lists; returns a line per thing removed.

    Nothing is touched unless the state dir is ours; `keep_root` empties it but keeps
    the dir and its marker (leftovers swept before a new ensemble moves in).
    """
    if not state.present():
        return []
    state.verify()
    recorded = state.read()  # checked: a wrong shape is one line, before any kill
    uid = expected_uid(state.root)
    removed: list[str] = []
    killed: list[int] = []
    plane = recorded.get("control_plane") or {}
    if plane.get("pid") and kill_recorded(plane["pid"], plane.get("created")):
        killed.append(plane["pid"])
        removed.append(f"control plane pid {plane['pid']}")
    for name, pod in (recorded.get("pods") or {}).items():
        if pod.get("pid") and kill_recorded(pod["pid"], pod.get("created")):
            killed.append(pod["pid"])
            removed.append(f"pod {name} pid {pod['pid']}")
    helpers = kill_helpers(state)
    removed += [f"helper pid {pid}" for pid in helpers]
    wait_gone(killed + helpers)
    removed += remove_network(uid)
    removed += _remove_ray_temp_dir(state)
    if keep_root:
        ownership.empty_owned(state.root)
    elif ownership.remove_owned(state.root):
        removed.append(f"state dir {state.root}")
    return removed


def _remove_ray_temp_dir(state: StateDir) -> list[str]:
    # Ray's temp dir lives outside the state dir only when this one is too deep for its
    # sockets; it carries a marker of its own.
    try:
        path = Path((state.root / RAY_TEMP_LINK).read_text().strip())
    except OSError:
        return []
    with contextlib.suppress(ownership.NotOurs):
        if path.is_absolute() and ownership.remove_owned(path):
            return [f"ray temp dir {path}"]
    return []


def remove_network(uid: str) -> list[str]:
    """The namespaces, veths, bridge and /etc/netns files named after device id `uid`."""
    if not net.is_root() or not shutil.which("ip"):
        return []
    net.check_uid(uid)
    removed = []
    for ns in net.stale_namespaces(uid):
        net.run(["ip", "netns", "del", ns], check=False)
        removed.append(f"netns {ns}")
    # The kernel frees a deleted namespace's veths asynchronously; delete the host ends
    # now so nothing of ours is left when `down` returns.
    links = net.run(["ip", "-o", "link", "show"], check=False).stdout
    for line in links.splitlines():
        name = line.split(":", 2)[1].strip().split("@", 1)[0] if ":" in line else ""
        if name.startswith(f"pv{uid}"):
            net.run(["ip", "link", "del", name], check=False)
            removed.append(f"veth {name}")
    bridge = f"pcbr{uid}"
    if net.run(["ip", "link", "show", bridge], check=False).returncode == 0:
        net.run(["ip", "link", "del", bridge], check=False)
        removed.append(f"bridge {bridge}")
    for folder in net.NETNS_ETC.glob(f"pc{uid}-*"):
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(f"{folder}")
    _remove_empty(net.NETNS_ETC)
    return removed


def _remove_empty(folder: Path) -> None:
    # /etc/netns is created on demand by `ip netns` users; leave it only if others use it.
    with contextlib.suppress(OSError):
        folder.rmdir()
