"""etcd on the local runtime, for real: Debian's etcd 3.4 members in their own network
namespaces, found by their stable DNS names; the role probe, the load's ops, faults and
the members' own logs; and `chaos run experiments/etcd-leader-kill.yaml` end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peerchaos import ensemble as ens
from peerchaos.history import read_jsonl
from peerchaos.load import LoadProfile
from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.runtime.local.scoped import local_ensemble
from peerchaos.spec import parse_spec
from peerchaos.systems import get_system

from conftest import IS_ROOT, REPO, wait_until

pytestmark = [
    pytest.mark.skipif(not shutil.which("etcd"), reason="apt-get install etcd-server"),
    pytest.mark.skipif(not IS_ROOT, reason="etcd needs the netns mode (root)"),
]
ETCD = get_system("etcd")
SPEC = {
    "system": "etcd",
    "pod_management_policy": "Parallel",
    "readiness_probe": {"period_s": 0.2, "timeout_s": 0.5, "failure_threshold": 2},
    "local": {"pod_cidr": "10.244.12.0/24", "service_cidr": "10.96.12.0/24"},
}


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    spec = parse_spec(SPEC, "test spec")
    state = tmp_path_factory.mktemp("etcd") / "state"
    # A killed pod back sooner than the others' election timeout (1-2 s) often wins its
    # own election again; Kubernetes takes seconds to bring a deleted pod back.
    with local_ensemble(spec, state, restart_delay_s=3.0) as runtime:
        yield runtime


def _healthy(runtime: LocalRuntime) -> str:
    for pod in runtime.pods():
        if pod.paused:
            runtime.resume(pod.name)
        if pod.unready_marker:
            runtime.make_ready(pod.name)
    wait_until(lambda: all(p.ready for p in runtime.pods()), 60, "every member ready")
    return ens.wait_for_leader(runtime, 30)


def test_members_find_each_other_by_name_and_one_leads(etcd: LocalRuntime) -> None:
    leader = _healthy(etcd)
    roles = ens.roles(etcd)
    assert sorted(r.mode for r in roles.values()) == ["follower", "follower", "leader"]
    assert len({r.epoch for r in roles.values()}) == 1 and roles[leader].epoch >= 2
    assert roles[leader].detail["member_id"] == roles[leader].detail["leader_id"]
    host, port = etcd.client_service_address()
    assert port == 2379
    answered = {ETCD.answering_ordinal(host, port, 1.0) for _ in range(12)}
    assert answered <= {0, 1, 2} and answered  # the client Service spreads connections
    ETCD.canary_write(host, port, 5.0)
    # The member's command line carries its stable names, not addresses.
    pods = {p.name: p for p in etcd.pods()}
    flags = Path(f"/proc/{pods['etcd-0'].pid}/cmdline").read_bytes().split(b"\0")
    assert (
        b"--initial-advertise-peer-urls=http://etcd-0.etcd-hs.default.svc.cluster.local:2380"
        in flags
    )


def test_the_load_records_reads_writes_and_both_cas_outcomes(
    etcd: LocalRuntime, tmp_path: Path
) -> None:
    _healthy(etcd)
    host, port = etcd.client_service_address()
    history = tmp_path / "history.jsonl"
    worker = ETCD.load_worker_class()("w0", f"{host}:{port}", str(history), LoadProfile(keys=1))
    worker.connect()
    key = worker.profile.key_paths()[0]
    assert worker.read(key)  # absent: reads None
    worker.cas(key)  # from absent (mod_revision 0): creates the key
    worker.write(key)
    worker.read(key)
    worker.known[key] = (worker.known[key][0], 1)  # a revision long gone: the cas loses
    worker.cas(key)
    worker.close_session()
    worker.history.flush()
    done = [op for op in read_jsonl(history) if op.type != "invoke"]
    assert [(op.f, op.type) for op in done] == [
        ("read", "ok"),
        ("cas", "ok"),
        ("write", "ok"),
        ("read", "ok"),
        ("cas", "fail"),
    ]
    assert done[0].value is None and done[3].value == done[2].value
    assert done[1].version < done[2].version == done[3].version  # mod revisions grow


def test_a_killed_leader_is_replaced_by_a_leader_of_a_newer_term(etcd: LocalRuntime) -> None:
    leader = _healthy(etcd)
    term = ens.roles(etcd)[leader].epoch
    t_kill = etcd.kill(leader)
    new = ens.wait_for_leader(etcd, 20, exclude=leader)
    assert ens.roles(etcd)[new].epoch > term
    _healthy(etcd)
    # The members' own logs: the new leader said so, after the kill, at the newer term.
    logs = Path(etcd.state.logs_dir)
    events = ETCD.parse_logs(logs)
    became = [e for e in ETCD.leader_serving(events) if e["t"] > t_kill]
    assert became and became[0]["pod"] == new and became[0]["term"] > term
    assert 0.1 < became[0]["t"] - t_kill < 10
    campaigns = [e for e in events if e["kind"] == "campaign" and e["t"] > t_kill]
    assert campaigns and campaigns[0]["pod"] != leader


def test_pause_and_unready_reach_the_member(etcd: LocalRuntime) -> None:
    leader = _healthy(etcd)
    etcd.pause(leader)
    try:
        new = ens.wait_for_leader(etcd, 20, exclude=leader)
    finally:
        etcd.resume(leader)
    assert new != leader
    wait_until(lambda: ens.roles(etcd)[leader].mode == "follower", 20, "the old leader follows")
    follower = next(name for name, r in ens.roles(etcd).items() if r.mode == "follower")
    etcd.make_unready(follower)
    wait_until(lambda: not {p.name: p for p in etcd.pods()}[follower].ready, 10, "unready")
    headless, client = etcd.endpoints()
    address = {p.name: p.ip for p in etcd.pods()}[follower]
    assert address in headless.not_ready and address not in client.ready
    etcd.make_ready(follower)
    _healthy(etcd)


def test_chaos_run_etcd_leader_kill_measures_five_elections_beside_the_logs(
    tmp_path: Path,
) -> None:
    chaos = str(Path(sys.executable).parent / "chaos")
    args = [chaos, "--no-log-file", "run", "experiments/etcd-leader-kill.yaml"]
    args += ["--journal-path", str(tmp_path / "j.json"), "--var", f"results_dir={tmp_path}"]
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run,) = list((tmp_path / "etcd-leader-kill").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    measured = [t for t in summary["trials"] if t["election_time_s"] is not None]
    assert len(measured) >= 5, [t["election_time_s"] for t in summary["trials"]]
    p50 = summary["metrics"]["election_time_s"]["p50"]
    assert 0.1 <= p50 <= 5.0
    beside = [t for t in measured if t["ground_truth"]["leader_serving_s"] is not None]
    assert len(beside) >= 4
    for trial in beside:  # the probe's figure and etcd's own log agree within 100 ms
        assert abs(trial["election_time_s"] - trial["ground_truth"]["leader_serving_s"]) < 0.1
    assert summary["checks"]["valid"] is True
    assert json.loads((run / "meta.json").read_text())["spec"]["system"] == "etcd"
    assert (run / "report.html").exists() and time.monotonic() - started < 300


def test_bootstrap_without_publish_not_ready_addresses_deadlocks(tmp_path: Path) -> None:
    chaos = str(Path(sys.executable).parent / "chaos")
    args = [chaos, "--no-log-file", "run", "experiments/etcd-bootstrap-not-ready.yaml"]
    args += ["--journal-path", str(tmp_path / "j.json"), "--var", f"results_dir={tmp_path}"]
    args += ["--var", "publish_not_ready_addresses:bool=false"]
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "the steady state was not met before the method" in output
    (run,) = list((tmp_path / "etcd-bootstrap-not-ready").iterdir())
    logs = "".join(p.read_text() for p in (run / "peers").glob("*.log"))
    # Why, in etcd's own words: the peers' names do not resolve while none is ready.
    assert "lookup etcd-1.etcd-hs.default.svc.cluster.local" in logs and "no such host" in logs
