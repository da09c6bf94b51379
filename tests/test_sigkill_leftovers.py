"""A `chaos run` SIGKILLed at any moment leaves nothing behind within 5 s.

The real `chaos` command runs `zk-leader-kill.yaml`; the test watches its process tree
every 20 ms (recording every descendant with its start time), SIGKILLs the driver at
one moment of the run — Ray's first process up, Ray's agents just spawned, the control
plane deploying, the observers starting, mid-trial, while the report is written — and
then checks that every process it saw is gone, that no process carries the run's id
in its environment, and that no namespace, link, host iptables rule or state dir of
the run is left.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from peerchaos.runtime.local.ownership import state_base
from peerchaos.runtime.local.watchdog import RUN_ID_ENV

from conftest import REPO, needs_root, needs_zookeeper

pytestmark = [needs_zookeeper, needs_root]
CHAOS = str(Path(sys.executable).parent / "chaos")
LEFTOVER_S = 5.0


@dataclass
class Watched:
    """What the test saw of one run: its processes, log, run id and state dir."""

    proc: subprocess.Popen[bytes]
    log: Path
    results: Path
    seen: dict[int, tuple[float, str]] = field(default_factory=dict)
    run_id: str | None = None
    state_dir: Path | None = None

    def look(self) -> None:
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return
        for child in children:
            with contextlib.suppress(psutil.Error):
                cmdline = child.cmdline()
                # The start time seen first; the command line seen last (a fork shows
                # its parent's until it execs).
                created = self.seen.get(child.pid, (child.create_time(), ""))[0]
                self.seen[child.pid] = (created, " ".join(cmdline))
                if "peerchaos.runtime.local.watchdog" in cmdline and self.run_id is None:
                    # argv: -m module ROOT OWNER_PID OWNER_CREATED RUN_ID
                    self.state_dir, self.run_id = Path(cmdline[-4]), cmdline[-1]

    def has(self, needle: str) -> bool:
        return any(needle in cmd for _, cmd in self.seen.values())

    def logged(self, needle: str) -> bool:
        return needle in self.log.read_text(errors="replace")

    def wrote(self, name: str) -> bool:
        return any(self.results.glob(f"zk-leader-kill/*/{name}"))

    def alive(self) -> list[str]:
        left = []
        for pid, (created, cmd) in self.seen.items():
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                if (
                    abs(process.create_time() - created) < 0.05
                    and process.status() != psutil.STATUS_ZOMBIE
                ):
                    left.append(f"{pid} {cmd[:80]}")
        return left

    def carrying_run_id(self) -> list[int]:
        if self.run_id is None:
            return []
        needle = f"{RUN_ID_ENV}={self.run_id}".encode()
        found = []
        for pid in psutil.pids():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/environ", "rb") as handle:
                if needle in handle.read().split(b"\0"):
                    found.append(pid)
        return found


def ip_names(*args: str) -> set[str]:
    out = subprocess.run(["ip", *args], capture_output=True, text=True).stdout
    if args[-1] == "list":
        return {line.split()[0] for line in out.splitlines() if line.strip()}
    return {line.split(":", 2)[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def host_rules() -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return [line.split(" [")[0] for line in out.splitlines() if not line.startswith("#")]


def base_entries() -> set[str]:
    base = state_base()
    return {p.name for p in base.iterdir()} if base.exists() else set()


MOMENTS: dict[str, tuple[Callable[[Watched], bool], float]] = {
    # (condition on what the test sees, extra delay before the SIGKILL)
    "ray-starting": (lambda w: w.has("gcs_server"), 0.0),
    # The raylet's agents, the processes that used to outlive the driver by ~60 s.
    "ray-agents-spawned": (lambda w: w.has("dashboard/agent.py") or w.has("Agent"), 0.0),
    "deploying": (lambda w: w.has("peerchaos.runtime.local.daemon"), 0.4),
    "observers-starting": (lambda w: w.logged("Playing your experiment's method now"), 0.3),
    "mid-trial": (lambda w: w.logged("Action: kill-the-leader"), 1.0),
    "reporting": (lambda w: w.wrote("journal.json"), 0.0),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkilled_driver_leaves_nothing(moment: str, tmp_path: Path) -> None:
    condition, delay_s = MOMENTS[moment]
    namespaces, links, rules = ip_names("netns", "list"), ip_names("-o", "link"), host_rules()
    entries = base_entries()
    args = [CHAOS, "--no-log-file", "run", str(REPO / "experiments/zk-leader-kill.yaml")]
    args += ["--journal-path", str(tmp_path / "j.json"), "--var", f"results_dir={tmp_path}"]
    args += ["--var", "trials:int=1"]
    log = tmp_path / "out.log"
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    watched = Watched(proc, log, tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not condition(watched) and proc.poll() is None and time.monotonic() < deadline:
            watched.look()
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before {moment}: {log.read_text()[-2000:]}"
        assert condition(watched), f"never reached {moment}"
        kill_at = time.monotonic() + delay_s
        while time.monotonic() < kill_at:
            watched.look()
            time.sleep(0.02)
        watched.look()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        killed = time.monotonic()
        assert watched.run_id is not None, "no watchdog was started"

        def leftovers() -> list[str]:
            found = [f"process {p}" for p in watched.alive()]
            found += [f"process {pid} with the run id" for pid in watched.carrying_run_id()]
            found += [f"netns {n}" for n in ip_names("netns", "list") - namespaces]
            found += [f"link {n}" for n in ip_names("-o", "link") - links]
            found += [f"iptables {r}" for r in host_rules() if r not in rules]
            found += [f"state dir {e}" for e in base_entries() - entries]
            if watched.state_dir is not None and watched.state_dir.exists():
                found.append(f"state dir {watched.state_dir}")
            return found

        left = leftovers()
        while left and time.monotonic() - killed < LEFTOVER_S:
            time.sleep(0.1)
            left = leftovers()
        took = time.monotonic() - killed
        assert left == [], f"{took:.1f} s after SIGKILL at {moment}"
        print(f"{moment}: nothing left {took:.2f} s after the SIGKILL")
    finally:
        _end(watched)


def _end(watched: Watched) -> None:
    """Whatever the outcome, nothing this test started outlives it."""
    if watched.proc.poll() is None:
        watched.proc.kill()
        watched.proc.wait()
    for pid, (created, _) in watched.seen.items():
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if abs(process.create_time() - created) < 0.05:
                process.kill()
    if watched.state_dir is not None and watched.state_dir.exists():
        peerchaos = Path(CHAOS).with_name("peerchaos")
        subprocess.run([str(peerchaos), "down", "--state-dir", str(watched.state_dir)], check=False)
