"""`peerchaos up / status / fault / down` as a person runs them, and what `down` leaves.

These run the real command in a subprocess. The last test SIGKILLs the control plane
with a partition in place and checks that `down` still removes every process,
namespace, rule and file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import yaml

from peerchaos.runtime.local.network import short_id

from conftest import FAST, REPO, needs_root, needs_zookeeper, wait_until

PEERCHAOS = [sys.executable, "-m", "peerchaos.cli"]


def run(
    *args: str, state_dir: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    extra = ["--state-dir", str(state_dir)] if state_dir else []
    return subprocess.run(
        [*PEERCHAOS, *args, *extra], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_bad_spec_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("replicas: 12\n")
    state = tmp_path / "state"
    result = run("up", "--spec", str(spec), state_dir=state)
    assert result.returncode == 2
    assert one_line(result) == f"peerchaos: {spec}: replicas: must be at most 9 (got 12)"
    assert not state.exists()


def test_manifests_prints_the_objects(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("replicas: 5\npublish_not_ready_addresses: false\n")
    result = run("manifests", str(spec))
    assert result.returncode == 0, result.stderr
    objects = list(yaml.safe_load_all(result.stdout))
    kinds = [obj["kind"] for obj in objects]
    assert kinds == ["StatefulSet", "Service", "Service", "PodDisruptionBudget"]
    assert objects[0]["spec"]["replicas"] == 5
    assert objects[1]["spec"]["publishNotReadyAddresses"] is False


def test_commands_without_an_ensemble_say_so(tmp_path: Path) -> None:
    result = run("status", state_dir=tmp_path / "none")
    assert result.returncode == 2
    assert "no local ensemble in" in one_line(result)
    result = run("fault", "kill", "leader", state_dir=tmp_path / "none")
    assert result.returncode == 2
    down = run("down", state_dir=tmp_path / "none")
    assert down.returncode == 0 and "nothing was up" in down.stdout


def test_unknown_fault_action_is_rejected(tmp_path: Path) -> None:
    result = run("fault", "explode", "zk-0", state_dir=tmp_path)
    assert result.returncode == 2
    assert "explode" in result.stderr and "Traceback" not in result.stderr


def test_doctor_reports_this_machine() -> None:
    result = run("doctor")
    assert "java" in result.stdout
    assert result.returncode in (0, 1)


def _namespaces(uid: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"pc{uid}-")]


def _links(uid: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if f"pcbr{uid}" in line or f"pv{uid}" in line]


@needs_zookeeper
@needs_root
def test_up_fault_status_and_down_after_sigkill_leave_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                **FAST,
                "pod_management_policy": "OrderedReady",
                "local": {"pod_cidr": "10.244.20.0/24", "service_cidr": "10.96.20.0/24"},
            }
        )
    )
    state = tmp_path / "state"
    uid = short_id(state)
    try:
        up = run("up", "--spec", str(spec), state_dir=state)
        assert up.returncode == 0, up.stderr
        assert "leader zk-" in up.stdout and "acknowledged after" in up.stdout

        # OrderedReady: zk-N is created only after zk-0..N-1 are ready.
        events = [json.loads(line) for line in (state / "runtime-events.jsonl").open()]
        started = {e["pod"]: e["t"] for e in events if e["kind"] == "pod_started"}
        ready = {e["pod"]: e["t"] for e in events if e["kind"] == "pod_ready"}
        assert ready["zk-0"] <= started["zk-1"] and ready["zk-1"] <= started["zk-2"]

        status = run("status", "--json", state_dir=state)
        data = json.loads(status.stdout)
        assert data["leader"] and len(data["pods"]) == 3
        answers = {a["name"]: a for a in data["dns_answers"]}
        assert answers["zk-cs.default.svc.cluster.local"]["addresses"] == ["10.96.20.20"]

        fault = run("fault", "partition", "leader", state_dir=state)
        assert fault.returncode == 0, fault.stderr
        recorded = json.loads((state / "state.json").read_text())
        pids = [p["pid"] for p in recorded["pods"].values() if p["pid"]]
        plane = recorded["control_plane"]["pid"]
        rules = [
            subprocess.run(
                ["ip", "netns", "exec", ns, "iptables", "-S", "INPUT"],
                capture_output=True,
                text=True,
            ).stdout
            for ns in _namespaces(uid)
        ]
        assert sum("DROP" in r for r in rules) == 3  # the isolated peer and both others

        # The driver dies hard: nothing gets a chance to clean up but `down`.
        os.kill(plane, signal.SIGKILL)
        wait_until(lambda: not psutil.pid_exists(plane) or _zombie(plane), 10, "control plane gone")
        down = run("down", state_dir=state)
        assert down.returncode == 0, down.stderr
        assert all(not psutil.pid_exists(pid) or _zombie(pid) for pid in pids)
        assert _namespaces(uid) == []
        assert _links(uid) == []
        assert not list(Path("/etc/netns").glob(f"pc{uid}-*"))
        assert not state.exists()
        again = run("down", state_dir=state)
        assert again.returncode == 0 and "nothing was up" in again.stdout
    finally:
        run("down", state_dir=state)


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


@needs_zookeeper
def test_loopback_mode_without_namespaces(tmp_path: Path) -> None:
    """The reduced mode non-root users get: own 127.x addresses, no partitions."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump({**FAST, "local": {"mode": "loopback", "loopback_cidr": "127.78.0.0/24"}})
    )
    state = tmp_path / "state"
    try:
        up = run("up", "--spec", str(spec), state_dir=state)
        assert up.returncode == 0, up.stderr
        data = json.loads(run("status", "--json", state_dir=state).stdout)
        assert data["mode"] == "loopback"
        assert all(p["ip"].startswith("127.78.0.") for p in data["pods"])
        assert data["leader"]
        refused = run("fault", "partition", "leader", state_dir=state)
        assert refused.returncode == 2
        assert one_line(refused) == (
            "peerchaos: partition: partitions need root (network namespaces and iptables) "
            "(local runtime)"
        )
        killed = run("fault", "kill", "leader", state_dir=state)
        assert killed.returncode == 0
        wait_until(
            lambda: json.loads(run("status", "--json", state_dir=state).stdout)["leader"],
            30,
            "a new leader in loopback mode",
        )
    finally:
        run("down", state_dir=state)
    assert not state.exists()
