"""Experiments through the real `chaos` command, on the local runtime, with real ZooKeeper."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

from peerchaos.runtime.local.ownership import state_base

from conftest import REPO, needs_zookeeper

pytestmark = needs_zookeeper
CHAOS = str(Path(sys.executable).parent / "chaos")


def chaos_run(experiment: Path, results: Path, *var: str, timeout: float = 240) -> tuple[int, str]:
    args = [
        CHAOS,
        "--no-log-file",
        "run",
        str(experiment),
        "--journal-path",
        str(results / "j.json"),
    ]
    args += ["--var", f"results_dir={results}"]
    for item in var:
        args += ["--var", item]
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def run_dir(results: Path, name: str) -> Path:
    (found,) = list((results / name).iterdir())
    return found


def signal_mid_action(
    experiment: str, results: Path, action: str, signum: int, delay_s: float, *var: str
) -> tuple[int, str, list[int]]:
    """Start `chaos run`, send `signum` `delay_s` after `action` began; the exit code, the
    output and the PIDs of everything it had started."""
    args = [CHAOS, "--no-log-file", "run", str(REPO / "experiments" / experiment)]
    args += ["--journal-path", str(results / "j.json"), "--var", f"results_dir={results}"]
    for item in var:
        args += ["--var", item]
    log = results / "out.log"
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while f"Action: {action}" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(delay_s)
        children = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signum)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, log.read_text(), children


def run_state_dirs() -> list[Path]:
    """The private state dirs `chaos run` makes for itself (one per run)."""
    return list(state_base().glob("run-*"))


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_leader_kill_through_chaos_run(tmp_path: Path) -> None:
    before = namespaces()
    code, output = chaos_run(REPO / "experiments/zk-leader-kill.yaml", tmp_path, "trials:int=2")
    run = run_dir(tmp_path, "zk-leader-kill")
    journal = json.loads((run / "journal.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    # The exit code follows the verdict: 0 only when the hypothesis held and checks passed.
    assert (code == 0) == (journal["status"] == "completed" and not journal["deviated"]), output
    assert [r["activity"]["name"] for r in journal["run"]] == ["kill-the-leader"]
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    trials = [t for t in summary["trials"] if t["observed"]]
    assert len(trials) == 2
    for trial in trials:
        assert trial["fault"]["fault"] == "kill"
        assert trial["election_time_s"] is not None and trial["new_leader"] != trial["fault"]["pod"]
        assert trial["ground_truth"]["leader_serving_s"] is not None
        assert trial["write_recovery_s"] is not None
    assert summary["metrics"]["election_time_s"]["n"] == 2
    # Issue 12's checks: every trial's redundancy figures (a number, or null censored), its
    # causes, a converged flag on every DNS entry; redundancy never before the election.
    for trial in trials:
        for key in ("full_redundancy_s", "zero_tolerance_s", "client_unavailability_s"):
            censored = trial[f"{key.removesuffix('_s')}_censored"]
            assert isinstance(trial[key], float) or (trial[key] is None and censored is True)
        assert isinstance(trial["causes"], list)
        assert trial["full_redundancy_s"] is None or (
            trial["full_redundancy_s"] >= trial["election_time_s"]
        )
        entries = [p for probes in trial["dns"].values() for p in probes.values()]
        assert entries and all(isinstance(p["converged"], bool) for p in entries)
    for key in ("full_redundancy_s", "zero_tolerance_s", "client_unavailability_s"):
        assert summary["metrics"][key]["n"] == 2
    assert "full redundancy" in (run / "report.html").read_text()
    before_probes = journal["steady_states"]["before"]["probes"]
    assert {p["output"] for p in before_probes if p["status"] == "skipped"} == {"no fault yet"}
    # Histories recorded from real ZooKeeper under leader kills pass the default checks.
    assert summary["checks"]["valid"] is True
    assert (run / "history.jsonl").stat().st_size > 0 and (run / "peers" / "zk-0.log").exists()
    assert f"results in {run}" in output
    assert namespaces() == before  # torn down


def test_leader_unready_through_chaos_run(tmp_path: Path) -> None:
    code, output = chaos_run(REPO / "experiments/zk-leader-unready.yaml", tmp_path)
    run = run_dir(tmp_path, "zk-leader-unready")
    journal = json.loads((run / "journal.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    assert code == 0, output
    outputs = {r["activity"]["name"]: r["output"] for r in journal["run"]}
    assert outputs["connections-while-unready"] == 0
    assert outputs["headless-dns-while-unready"] is True  # publishNotReadyAddresses: true
    after = {
        p["activity"]["name"]: p["output"] for p in journal["steady_states"]["after"]["probes"]
    }
    assert after["no-leader-change"] == 0
    (trial,) = [t for t in summary["trials"] if t["observed"]]
    assert trial["fault"]["fault"] == "unready" and trial["new_leader"] is None
    changes = trial["ground_truth"]["endpoint_changes"]
    assert any(trial["fault"]["ip"] in c["not_ready"] for c in changes)


def test_failed_steady_state_before_the_method_fails_the_run(tmp_path: Path) -> None:
    experiment = yaml.safe_load((REPO / "experiments/zk-leader-kill.yaml").read_text())
    for probe in experiment["steady-state-hypothesis"]["probes"]:
        if probe["name"] == "all-peers-ready":
            probe["tolerance"] = 4  # three peers can never be four
    path = tmp_path / "impossible.yaml"
    path.write_text(yaml.safe_dump(experiment))
    code, output = chaos_run(path, tmp_path)
    assert code == 1, output
    run = run_dir(tmp_path, "zk-leader-kill")
    journal = json.loads((run / "journal.json").read_text())
    assert journal["run"] == [] and journal["status"] == "failed"
    summary = json.loads((run / "summary.json").read_text())
    assert "the steady state was not met before the method" in summary["failure_reasons"][0]


def test_malformed_experiment_fails_in_one_line_before_any_fault(tmp_path: Path) -> None:
    experiment = yaml.safe_load((REPO / "experiments/zk-leader-kill.yaml").read_text())
    experiment["method"][0]["provider"]["arguments"]["target"] = "the-boss"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(experiment))
    before = namespaces()
    code, output = chaos_run(path, tmp_path, timeout=120)
    assert code == 1
    lines = [line for line in output.splitlines() if "target must be leader" in line]
    assert len(lines) == 1 and "Traceback" not in output
    assert "method 'kill-the-leader': target must be leader" in lines[0]
    assert not (tmp_path / "zk-leader-kill").exists()  # no run started
    assert namespaces() == before


def test_sigterm_mid_method_heals_and_keeps_results(tmp_path: Path) -> None:
    before = namespaces()
    # Inside the first pause (2 s after it began) the leader is frozen.
    code, output, children = signal_mid_action(
        "zk-leader-pause.yaml", tmp_path, "freeze-the-leader", signal.SIGTERM, 2.0, "trials:int=3"
    )
    assert code != 0, output
    run = run_dir(tmp_path, "zk-leader-pause")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] in ("interrupted", "failed"), summary["status"]
    assert (run / "history.jsonl").stat().st_size > 0  # what was measured is kept
    assert "Rollback: heal-everything" in output
    # Ray's own processes take a moment to go after ray.shutdown().
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(children):
        time.sleep(0.2)
    assert not _alive(children), [psutil.Process(p).cmdline()[:3] for p in _alive(children)]
    assert namespaces() == before
    assert not [p for p in run_state_dirs() if os.stat(p).st_mtime > time.time() - 600]


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid) and not _zombie(pid)]


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def test_sigkilled_run_leaves_nothing_behind(tmp_path: Path) -> None:
    """No one is left to heal after SIGKILL: the control plane notices its owner is gone."""
    before = namespaces()
    started = time.time()
    _, _, children = signal_mid_action(
        "zk-leader-kill.yaml", tmp_path, "kill-the-leader", signal.SIGKILL, 0.0
    )
    mine = [p for p in run_state_dirs() if p.stat().st_mtime >= started - 1]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (_alive(children) or any(p.exists() for p in mine)):
        time.sleep(0.5)
    assert not _alive(children), [psutil.Process(p).cmdline()[:3] for p in _alive(children)]
    assert not any(p.exists() for p in mine)
    assert namespaces() == before
    run = run_dir(tmp_path, "zk-leader-kill")
    assert (run / "history.jsonl").stat().st_size > 0  # recorded as it happened


def test_a_fault_another_tool_injects_is_measured(tmp_path: Path) -> None:
    """zk-external-kill: the method is a process action (`kill -9` of the leader's JVM),
    not a peerchaos activity; the run still measures it as a trial."""
    code, output = chaos_run(REPO / "experiments/zk-external-kill.yaml", tmp_path)
    assert code == 0, output[-3000:]
    run = run_dir(tmp_path, "zk-external-kill")
    journal = json.loads((run / "journal.json").read_text())
    assert journal["run"][0]["activity"]["provider"]["type"] == "process"
    (trial,) = json.loads((run / "summary.json").read_text())["trials"]
    assert trial["fault"]["source"] == "external" and trial["fault"]["fault"] == "kill"
    assert trial["fault"]["observed_by"] == "container exit"
    assert trial["full_redundancy_s"] is not None
