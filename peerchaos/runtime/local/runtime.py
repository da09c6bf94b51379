"""`LocalRuntime`: the runtime seam implemented by talking to the local control plane.

`apply` starts the control plane detached and returns once it serves; every other call
is one request over the Unix socket in the state dir. `teardown` asks the control plane
to stop and then sweeps whatever `state.json` still lists. A state dir that peerchaos
did not create (no marker, another owner, writable by others) is refused by all of
them in one line, before anything in it is read or touched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from peerchaos.atomicfile import write_atomic
from peerchaos.errors import PeerchaosError, RuntimeNotRunning, UnsupportedFault, UsageError
from peerchaos.runtime.base import Capabilities, EndpointsInfo, PodInfo
from peerchaos.runtime.local import network as net
from peerchaos.runtime.local import ownership
from peerchaos.runtime.local.objects import system_of
from peerchaos.runtime.local.state import StateDir
from peerchaos.runtime.local.teardown import sweep
from peerchaos.spec import LocalNetwork
from peerchaos.systems import DEFAULT_SYSTEM, get_system

START_TIMEOUT_S = 30.0


class LocalRuntime:
    """Real servers on this machine with Kubernetes Service/DNS semantics."""

    name = "local"

    def __init__(
        self,
        state_dir: str | Path | None = None,
        network: LocalNetwork | None = None,
        restart_delay_s: float = 0.5,
        owner_pid: int | None = None,
    ) -> None:
        self.state = StateDir(state_dir)
        self.network = network or LocalNetwork()
        self.restart_delay_s = restart_delay_s
        # A control plane with an owner tears itself down when the owner dies.
        self.owner_pid = owner_pid
        self._verified = False
        self._system: str | None = None

    # -- ownership ----------------------------------------------------------------------

    def claim(self) -> None:
        """Make the state dir (with its marker), or check an existing one is ours."""
        self.state.claim()
        self._verified = True

    def _verify(self) -> None:
        # Once per runtime object: the probes ask many times a second.
        if not self._verified:
            self.state.verify()
            self._verified = True

    # -- control-plane requests -------------------------------------------------------

    def request(self, op: str, timeout_s: float = 30.0, **fields: Any) -> Any:
        if not self.state.present():
            raise RuntimeNotRunning(
                f"no local ensemble in {self.state.root} (run `peerchaos up` first)"
            )
        self._verify()
        if not self.state.control_socket.exists():
            raise RuntimeNotRunning(
                f"no local ensemble in {self.state.root} (run `peerchaos up` first)"
            )
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            try:
                sock.connect(str(self.state.control_socket))
                sock.sendall((json.dumps({"op": op, **fields}) + "\n").encode())
                data = b""
                while not data.endswith(b"\n"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError as error:
                raise RuntimeNotRunning(
                    f"local control plane in {self.state.root} does not answer ({error})"
                ) from None
        if not data:
            raise RuntimeNotRunning(f"local control plane in {self.state.root} closed the socket")
        reply = json.loads(data)
        if not reply["ok"]:
            error_type = UsageError if reply.get("exit_code") == 2 else PeerchaosError
            raise error_type(reply["error"])
        return reply["result"]

    def status(self) -> dict[str, Any]:
        return self.request("status")

    def is_up(self) -> bool:
        try:
            self.status()
        except PeerchaosError:
            return False
        return True

    def system(self) -> str:
        """The system the applied objects name (read once: the probes ask often)."""
        if self._system is None:
            try:
                text = self.state.objects_file.read_text()
                self._system = system_of(list(yaml.safe_load_all(text)))
            except (OSError, yaml.YAMLError):
                return DEFAULT_SYSTEM  # nothing applied (yet)
        return self._system

    # -- the seam -----------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        if self.is_up():
            caps = self.status()["capabilities"]
            return Capabilities(frozenset(caps["faults"]), caps["reasons"])
        mode = net.resolve_mode(self.network.mode)
        if mode == "netns":
            return Capabilities(frozenset({"kill", "unready", "pause", "partition", "endpoints"}))
        reason = "partitions need root (network namespaces and iptables)"
        return Capabilities(
            frozenset({"kill", "unready", "pause", "endpoints"}), {"partition": reason}
        )

    def require(self, fault: str) -> None:
        caps = self.capabilities()
        if not caps.supports(fault):
            raise UnsupportedFault(
                f"{fault}: {caps.reasons.get(fault, 'not supported')} (local runtime)"
            )

    def apply(self, objects: list[dict[str, Any]]) -> None:
        """Start the control plane for these objects; returns once it serves requests."""
        mode = net.resolve_mode(self.network.mode)
        system = get_system(system_of(objects))
        if mode not in system.local_network_modes:
            raise UsageError(
                f"local.mode {mode}: {system.title} runs only in "
                f"{' or '.join(system.local_network_modes)} mode here (netns needs root and ip)"
            )
        self.claim()
        if self.is_up():
            raise UsageError(
                f"an ensemble is already up in {self.state.root} (run `peerchaos down`)"
            )
        if self.state.state_file.exists():
            sweep(self.state, keep_root=True)  # leftovers of an ensemble whose driver died
        self.preflight()
        write_atomic(self.state.objects_file, yaml.safe_dump_all(objects, sort_keys=False))
        self._system = system_of(objects)
        options = {
            **self.network.model_dump(),
            "mode": mode,
            "restart_delay_s": self.restart_delay_s,
            "owner": self._owner(),
        }
        write_atomic(self.state.options_file, json.dumps(options))
        with self.state.daemon_log.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "peerchaos.runtime.local.daemon", str(self.state.root)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PeerchaosError(
                    f"local control plane failed to start: {self._last_log_line()}"
                )
            if self.state.read().get("status") == "running" and self.is_up():
                return
            time.sleep(0.02)
        raise PeerchaosError(f"local control plane did not start within {START_TIMEOUT_S:.0f} s")

    def _owner(self) -> dict[str, float] | None:
        if self.owner_pid is None:
            return None
        from peerchaos.runtime.local.pod import process_identity

        return {"pid": self.owner_pid, "created": process_identity(self.owner_pid) or 0.0}

    def _last_log_line(self) -> str:
        try:
            lines = self.state.daemon_log.read_text().strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no log"

    def pods(self) -> list[PodInfo]:
        return [PodInfo(**pod) for pod in self.status()["pods"]]

    def endpoints(self) -> list[EndpointsInfo]:
        return [
            EndpointsInfo(e["service"], tuple(e["ready"]), tuple(e["not_ready"]), e["exists"])
            for e in self.status()["endpoints"]
        ]

    def kill(self, pod: str) -> float:
        return float(self.request("kill", pod=pod))

    def make_unready(self, pod: str) -> float:
        return float(self.request("unready", pod=pod))

    def make_ready(self, pod: str) -> float:
        return float(self.request("ready", pod=pod))

    def pause(self, pod: str) -> float:
        return float(self.request("pause", pod=pod))

    def resume(self, pod: str) -> float:
        return float(self.request("resume", pod=pod))

    def partition(self, groups: list[list[str]]) -> float:
        self.require("partition")
        return float(self.request("partition", groups=groups))

    def heal(self) -> float:
        return float(self.request("heal"))

    def delete_endpoints(self, service: str) -> float:
        return float(self.request("delete_endpoints", service=service))

    def restore_endpoints(self, service: str) -> float:
        return float(self.request("restore_endpoints", service=service))

    def logs(self, pod: str) -> str:
        path = self.state.log_file(pod)
        if not path.exists():
            raise UsageError(f"pod {pod!r}: no log in {self.state.logs_dir}")
        return path.read_text(errors="replace")

    def dns_server(self) -> tuple[str, int]:
        host, port = self.status()["dns"]
        return host, int(port)

    def client_service_address(self, service: str | None = None) -> tuple[str, int]:
        status = self.status()
        ips = status["cluster_ips"]
        name = service or next(iter(ips))
        return ips[name], int(status["client_port"])

    def pod_addresses(self) -> dict[str, tuple[str, int] | None]:
        """Every pod's (ip, client port) now — None for a pod without an address — in one
        request, for probes that ask many times a second."""
        status = self.status()
        port = int(status["client_port"])
        return {p["name"]: ((p["ip"], port) if p["ip"] else None) for p in status["pods"]}

    def pod_address(self, pod: str) -> tuple[str, int]:
        address = self.pod_addresses().get(pod)
        if address is None:
            raise UsageError(f"pod {pod!r}: has no address now (not running)")
        return address

    def runtime_events(self, since: float) -> list[dict[str, Any]]:
        from peerchaos.events import read_jsonl

        return [e for e in read_jsonl(self.state.events_file) if e["t"] >= since]

    def copy_logs(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.state.logs_dir.glob("*.log")):
            shutil.copy2(path, dest / path.name)

    def preflight(self) -> None:
        """The state dir is ours or not there yet (then `apply` makes it), nothing else; in
        netns mode the pod and service CIDRs must be free on this host."""
        if self.state.present():
            self._verify()
        else:
            ownership.refuse_protected(self.state.root)
        if net.resolve_mode(self.network.mode) == "netns":
            cidrs = {"pod_cidr": self.network.pod_cidr, "service_cidr": self.network.service_cidr}
            net.check_host_overlap(cidrs)

    def helper_watch(self) -> tuple[Path, int | None] | None:
        # The control plane watches its owner and ends the processes listed here.
        plane = (self.state.read().get("control_plane") or {}).get("pid")
        return self.state.helper_pids_file, plane

    def locator(self) -> dict[str, Any]:
        return {"runtime": "local", "state_dir": str(self.state.root)}

    def teardown(self) -> list[str]:
        """Stop the control plane and remove everything; harmless when nothing is up.

        Refused in one line, touching nothing, when the state dir is not peerchaos's."""
        if not self.state.present():
            return []
        self._verify()
        if self.state.control_socket.exists():
            try:
                self.request("shutdown", timeout_s=10)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and self.state.control_socket.exists():
                    time.sleep(0.02)
            except PeerchaosError:
                pass  # a dead control plane: the sweep below does its work
        return sweep(self.state)
