"""Observers against real ZooKeeper: load worker, role probe, DNS probe, Ray actors, a run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from peerchaos import ensemble as ens
from peerchaos.dnsprobe import DnsProbe
from peerchaos.events import JsonlAppender, read_jsonl
from peerchaos.history import read_jsonl as read_history
from peerchaos.load import LoadProfile
from peerchaos.observe import ObserverConfig, Observers, collect, summarize
from peerchaos.probes import Poller, RoleProbe
from peerchaos.rundir import RunDir
from peerchaos.runtime.local.dns import ClusterDNSServer, DnsRecords
from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.systems.zookeeper.client import ZooKeeperWorker as LoadWorker

from conftest import REPO, needs_zookeeper, wait_until


class _RecordPolicy(Poller):
    """A poller that notes the scheduling class its own thread runs in."""

    def __init__(self, realtime: bool) -> None:
        super().__init__(0.01, realtime)
        self.policies: list[int] = []

    def tick(self) -> None:
        self.policies.append(os.sched_getscheduler(0))


@pytest.mark.parametrize("realtime", [True, False])
def test_a_realtime_poller_runs_its_own_thread_in_sched_fifo(realtime: bool) -> None:
    if realtime and os.geteuid() != 0:
        pytest.skip("real-time scheduling needs root")
    poller = _RecordPolicy(realtime)
    poller.start()
    time.sleep(0.1)
    poller.stop()
    expected = os.SCHED_FIFO if realtime else os.SCHED_OTHER
    assert poller.policies and set(poller.policies) == {expected}
    # The thread that started it keeps normal scheduling.
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_dns_probe_raw_view_follows_at_once_cached_view_after_ttl(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    server = ClusterDNSServer("127.0.0.1", 0, default_ttl=1)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    name = "zk-hs.default.svc.cluster.local"
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
        records = DnsRecords(a={name: ("10.0.0.1",)}, ttl={name: 1})
        loop.call_soon_threadsafe(server.update, records)
        events = JsonlAppender(tmp_path / "events.jsonl")
        probe = DnsProbe("p0", ("127.0.0.1", server.port), [name], events, period_s=0.02)
        probe.start()
        time.sleep(0.3)
        changed_at = time.time()
        loop.call_soon_threadsafe(server.update, DnsRecords(a={name: ("10.0.0.2",)}, ttl={name: 1}))
        time.sleep(1.6)
        loop.call_soon_threadsafe(server.update, DnsRecords())  # nothing published: NXDOMAIN
        time.sleep(1.5)
        probe.stop()
        events.close()
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    seen = read_jsonl(tmp_path / "events.jsonl")
    # Besides the answers, the probe writes its health once a second.
    assert any(e["kind"] == "probe_heartbeat" and e["probe"] == "dns-p0" for e in seen)
    seen = [e for e in seen if e["kind"] == "dns"]
    raw = [e for e in seen if e["view"] == "raw"]
    cached = [e for e in seen if e["view"] == "cached"]
    assert [e["addresses"] for e in raw] == [["10.0.0.1"], ["10.0.0.2"], []]
    assert raw[-1]["rcode"] == "NXDOMAIN"
    raw_switch = raw[1]["t"] - changed_at
    cached_switch = next(e for e in cached if e["addresses"] == ["10.0.0.2"])["t"] - changed_at
    assert raw_switch < 0.2  # every answer, as it comes
    assert cached_switch > raw_switch  # the old answer is kept until its TTL runs out
    assert cached[-1]["rcode"] == "NXDOMAIN"
    intervals = sorted(probe.intervals)
    assert abs(intervals[len(intervals) // 2] - 0.02) < 0.005


@needs_zookeeper
def test_load_worker_records_every_op_and_info_for_unknown_outcomes(
    healthy: LocalRuntime, tmp_path: Path
) -> None:
    host, port = healthy.client_service_address()
    profile = LoadProfile(keys=3, op_timeout_s=1.0, prefix="worker-test")
    worker = LoadWorker("w0", f"{host}:{port}", str(tmp_path / "history.jsonl"), profile)
    worker.connect()
    runner = threading.Thread(target=worker.run)
    runner.start()
    try:
        time.sleep(1.0)
        victim = ens.pick_target(healthy, "leader")
        healthy.kill(victim)
        ens.wait_for_leader(healthy, 20, exclude=victim)
        time.sleep(1.5)
    finally:
        worker.stop()
        runner.join(10)
    assert worker.final_reads() == 3
    worker.close()
    history = read_history(tmp_path / "history.jsonl")
    invokes = [op for op in history if op.type == "invoke"]
    completions = [op for op in history if op.type != "invoke"]
    assert len(invokes) == len(completions) > 50
    assert {op.f for op in completions} == {"read", "write", "cas"}
    assert all(op.error for op in completions if op.type == "info")
    written = [op.value for op in history if op.f == "write" and op.type == "invoke"]
    assert len(written) == len(set(written))  # every written value is unique
    assert sum(op.final for op in completions) == 3


@needs_zookeeper
def test_role_probe_sees_the_new_leader_of_a_new_epoch(
    healthy: LocalRuntime, tmp_path: Path
) -> None:
    from peerchaos.actors import pod_addresses_of

    events = JsonlAppender(tmp_path / "events.jsonl", flush_every=1)
    probe = RoleProbe(pod_addresses_of(healthy.locator()), events, period_s=0.01)
    probe.start()
    try:
        wait_until(lambda: len(probe.last) == 3, 5, "a first observation of every peer")
        leader = ens.pick_target(healthy, "leader")
        epoch = probe.last[leader][1]
        t_fault = healthy.kill(leader)
        wait_until(
            lambda: any(
                s[0] == "leader" and (s[1] or 0) > epoch
                for p, s in probe.last.items()
                if p != leader
            ),
            20,
            "the probe to see a new leader",
        )
    finally:
        probe.stop()
        events.close()
    seen = read_jsonl(tmp_path / "events.jsonl")
    new = next(e for e in seen if e["mode"] == "leader" and e["t"] > t_fault and e["pod"] != leader)
    assert new["epoch"] > epoch and new["t_sent"] <= new["t"]
    assert any(e["pod"] == leader and e["mode"] == "unreachable" for e in seen)


@needs_zookeeper
def test_a_run_under_a_leader_kill_measures_and_passes_the_default_checks(
    healthy: LocalRuntime, ray_session: None, tmp_path: Path
) -> None:
    run = RunDir.create("observe-test", tmp_path / "results")
    config = ObserverConfig(load_workers=2, dns_probes=1, load=LoadProfile(keys=4))
    observers = Observers(healthy, run, config)
    since = time.time()
    observers.start()
    try:
        time.sleep(1.0)
        # Recorded as it happens: the files grow while the run is still going.
        wait_until(lambda: len(read_jsonl(run.history)) > 20, 10, "history written during the run")
        victim = ens.pick_target(healthy, "leader")
        healthy.kill(victim)
        ens.wait_for_leader(healthy, 20, exclude=victim)
        time.sleep(2.0)
    finally:
        stats = observers.stop()
        collect(healthy, run, since)
    assert sum(s["ok"] for s in stats["load"]) > 50
    assert stats["final_reads"] == [4, 4]
    summary = summarize(run)
    (trial,) = [t for t in summary["trials"] if t["observed"]]
    assert trial["fault"]["pod"] == victim
    assert trial["new_leader"] not in (None, victim)
    assert 0 < trial["election_time_s"] < 10
    assert trial["ground_truth"]["leader_serving_s"] is not None
    assert abs(trial["ground_truth"]["election_time_error_s"]) < 0.5
    assert trial["write_recovery_s"] is not None
    headless = "zk-hs.default.svc.cluster.local"
    assert trial["dns_convergence_s"][headless] is not None
    assert summary["checks"]["valid"] is True, json.dumps(summary["checks"])[:2000]
    for key in ("experiment", "run_id", "runtime", "status", "metrics", "checks"):
        assert key in summary
    assert (run.peers / "zk-0.log").exists()

    # The CLI recomputes the same summary from the files alone, and checks them.
    measured = subprocess.run(
        [sys.executable, "-m", "peerchaos.cli", "measure", str(run.path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert measured.returncode == 0, measured.stderr
    again = json.loads(run.summary.read_text())
    assert again["trials"][0]["election_time_s"] == trial["election_time_s"]
    checked = subprocess.run(
        [sys.executable, "-m", "peerchaos.cli", "check", str(run.path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert checked.returncode == 0 and "overall: True" in checked.stdout


def test_check_exits_nonzero_on_a_lost_write(tmp_path: Path) -> None:
    run = tmp_path / "results" / "crafted" / "run-1"
    run.mkdir(parents=True)
    ops = [
        {
            "type": "invoke",
            "f": "write",
            "key": "k",
            "value": "a",
            "process": "w0",
            "time": 1,
            "mono": 1,
        },
        {
            "type": "ok",
            "f": "write",
            "key": "k",
            "value": "a",
            "process": "w0",
            "time": 2,
            "mono": 2,
        },
        {
            "type": "invoke",
            "f": "write",
            "key": "k",
            "value": "b",
            "process": "w0",
            "time": 3,
            "mono": 3,
        },
        {
            "type": "ok",
            "f": "write",
            "key": "k",
            "value": "b",
            "process": "w0",
            "time": 4,
            "mono": 4,
        },
        {
            "type": "invoke",
            "f": "read",
            "key": "k",
            "value": None,
            "process": "w1",
            "time": 5,
            "mono": 5,
            "final": True,
        },
        {
            "type": "ok",
            "f": "read",
            "key": "k",
            "value": "a",
            "process": "w1",
            "time": 6,
            "mono": 6,
            "final": True,
        },
    ]
    (run / "history.jsonl").write_text("".join(json.dumps(op) + "\n" for op in ops))
    result = subprocess.run(
        [sys.executable, "-m", "peerchaos.cli", "check", str(run)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 1
    assert "durability: False" in result.stdout


def test_measure_of_a_missing_run_dir_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "peerchaos.cli", "measure", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"peerchaos: run dir {tmp_path / 'nope'}: no such directory"


@pytest.mark.parametrize("duration", ["0", "-3"])
def test_observe_rejects_a_bad_duration(duration: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "peerchaos.cli",
            "observe",
            "--duration",
            duration,
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "peerchaos: observe: --duration: must be greater than 0 and at most 86400 "
        f"(got '{duration}')"
    ]


def test_ray_listens_on_loopback_only_and_leaves_no_token_file(ray_session: None) -> None:
    import psutil
    import ray

    assert ray.is_initialized()
    driver = psutil.Process()
    # The driver's other children (ensembles' control planes) serve the pod network.
    ray_pids = {
        p.pid for p in driver.children(recursive=True) if "ray" in " ".join(p.cmdline()).lower()
    }
    listening = [
        c
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.pid in ray_pids
    ]
    assert listening, "Ray's processes should listen somewhere"
    # IPv4-mapped loopback (::ffff:127.0.0.1) is loopback too.
    assert all(c.laddr.ip.removeprefix("::ffff:").startswith("127.") for c in listening), [
        c.laddr for c in listening if not c.laddr.ip.removeprefix("::ffff:").startswith("127.")
    ]
    assert not (Path.home() / ".ray" / "auth_token").exists()
