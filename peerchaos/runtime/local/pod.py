"""One pod incarnation of the local runtime: the system's real server with its own address.

A pod owns its data dir across incarnations (the PVC), and its address and network
namespace for one incarnation only. Its process runs in its own process group, so a
pause (SIGSTOP) freezes everything the pod runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from peerchaos.runtime.local.objects import Ensemble
from peerchaos.runtime.local.state import StateDir
from peerchaos.systems import get_system
from peerchaos.systems.base import LocalPod


@dataclass
class Pod:
    """The controller's record of one ordinal; `process` is the current incarnation."""

    name: str
    ordinal: int
    ip: str | None = None
    netns: str | None = None
    process: asyncio.subprocess.Process | None = None
    started_at: float | None = None
    ready: bool = False
    paused: bool = False
    restarts: int = 0
    incarnation: int = 0
    prober: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running and self.process else None

    @property
    def phase(self) -> str:
        return "Running" if self.running else "Pending"


def hosts_file(own_ip: str, own_fqdn: str, pod: str, published: dict[str, tuple[str, ...]]) -> str:
    """The pod's /etc/hosts as the kubelet writes it: localhost and the pod's own name.

    `published` adds the DNS A records (loopback mode only, where a JVM cannot be
    pointed at a DNS server and reads this file instead).
    """
    lines = ["127.0.0.1\tlocalhost", f"{own_ip}\t{own_fqdn}\t{pod}"]
    for name, addresses in sorted(published.items()):
        if name != own_fqdn:
            lines += [f"{address}\t{name}" for address in addresses]
    return "\n".join(lines) + "\n"


def resolv_conf(dns_ip: str, namespace: str) -> str:
    """The pod's resolv.conf as the kubelet writes it for dnsPolicy ClusterFirst."""
    search = f"{namespace}.svc.cluster.local svc.cluster.local cluster.local"
    return f"nameserver {dns_ip}\nsearch {search}\noptions ndots:5\n"


def prepare_files(
    state: StateDir, ensemble: Ensemble, pod: Pod, bind_address: str | None, hosts: Path | None
) -> list[str]:
    """Have the ensemble's system write this incarnation's files; return its command."""
    local = LocalPod(
        name=pod.name,
        ordinal=pod.ordinal,
        env=dict(ensemble.env),
        client_port=ensemble.client_port,
        pod_dir=state.pod_dir(pod.name),
        tag=f"{state.root}/{pod.name}",
        bind_address=bind_address,
        hosts_file=hosts,
    )
    return get_system(ensemble.system).local_command(local)


async def spawn(
    command: list[str], log_path: Path, netns: str | None
) -> asyncio.subprocess.Process:
    """Start the pod's process in its namespace, in a new session (its own process group)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if netns:
        # `ip netns exec` execs the command (same PID) with /etc/netns/<ns>/ bound over /etc.
        command = ["ip", "netns", "exec", netns, *command]
    with log_path.open("ab") as log:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        log.write(f"# peerchaos: starting at {stamp}Z in {netns or 'host'}\n".encode())
        log.flush()
        return await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )


def signal_group(pid: int, signum: int) -> float:
    """Signal the pod's whole process group; returns the wall-clock time it was delivered."""
    os.killpg(pid, signum)
    return time.time()


def process_identity(pid: int) -> float | None:
    """The process's start time, so teardown never signals a recycled PID."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def owner_alive(pid: int, created: float) -> bool:
    """Whether the process recorded as (pid, start time) still runs (a zombie does not)."""
    try:
        process = psutil.Process(pid)
        same = abs(process.create_time() - created) <= 0.05
        return same and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_recorded(pid: int, created: float | None, group: bool = True) -> bool:
    """SIGKILL a recorded process (its group when it leads one) if it is still the same
    process: its start time must be recorded and match /proc. No start time: refused."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1 or pid == os.getpid():
        return False
    if created is None or isinstance(created, bool) or not isinstance(created, (int, float)):
        return False
    current = process_identity(pid)
    if current is None or abs(current - created) > 0.05:
        return False
    try:
        # Pods and the control plane lead their own group (a new session); anything
        # else is signalled alone, never the group it happens to be in.
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True
