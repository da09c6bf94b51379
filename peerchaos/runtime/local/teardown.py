"""Remove everything a local ensemble created, from its state dir alone.

Used after the control plane shut down cleanly (as a sweep), and when it cannot answer
because it was SIGKILLed: processes recorded in `state.json` (checked against their
start time, never by name), the pods' namespaces, the bridge, `/etc/netns` files, and
the state dir itself. Running it twice is harmless.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from pathlib import Path

import psutil

from peerchaos.runtime.local import network as net
from peerchaos.runtime.local.pod import kill_recorded
from peerchaos.runtime.local.state import StateDir


def _wait_gone(pids: list[int], timeout_s: float = 5.0) -> None:
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
    try:
        recorded = json.loads(state.helper_pids_file.read_text())
    except (OSError, ValueError):
        return []
    return [p["pid"] for p in recorded if kill_recorded(p["pid"], p.get("created"), group=False)]


def sweep(state: StateDir) -> list[str]:
    """Remove what `state.json` lists; returns a line per thing removed."""
    removed: list[str] = []
    recorded = state.read()
    uid = recorded.get("uid") or net.short_id(state.root)
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
    _wait_gone(killed + helpers)
    if net.is_root() and shutil.which("ip"):
        for ns in net.stale_namespaces(uid):
            net.run(["ip", "netns", "del", ns], check=False)
            removed.append(f"netns {ns}")
        # The kernel frees a deleted namespace's veths asynchronously; delete the host
        # ends now so nothing of ours is left when `down` returns.
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
    if state.root.exists():
        shutil.rmtree(state.root, ignore_errors=True)
        removed.append(f"state dir {state.root}")
    return removed


def _remove_empty(folder: Path) -> None:
    # /etc/netns is created on demand by `ip netns` users; leave it only if others use it.
    with contextlib.suppress(OSError):
        folder.rmdir()
