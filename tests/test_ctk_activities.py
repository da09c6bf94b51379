"""The Chaos Toolkit extension: discovery, signatures, pre-flight checks, each activity live."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from chaoslib.exceptions import ActivityFailed

from peerchaos import discover
from peerchaos.ctk import actions, probes
from peerchaos.ctk import session as sessions
from peerchaos.ctk.validate import validate_activities
from peerchaos.errors import PeerchaosError

from conftest import FAST, REPO, deployed_session, needs_root, needs_zookeeper, wait_until

EXPERIMENTS = sorted((REPO / "experiments").glob("*.yaml"))


def test_discover_lists_every_exported_activity() -> None:
    found = {(a["type"], a["name"]) for a in discover()["activities"]}
    expected = {("action", name) for name in actions.__all__}
    expected |= {("probe", name) for name in probes.__all__}
    assert found == expected


def test_chaos_discover_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "chaos"),
            "--no-log-file",
            "discover",
            "--no-install",
            "peerchaos",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "discovery.json").read_text())
    names = {a["name"] for a in data["activities"]}
    assert {"kill_peer", "election_time", "no_lost_writes"} <= names


def _activities(experiment: dict) -> list[dict]:
    hypothesis = experiment.get("steady-state-hypothesis", {}).get("probes", [])
    return [*hypothesis, *experiment.get("method", []), *experiment.get("rollbacks", [])]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_activity_binds_the_arguments_the_experiment_passes(path: Path) -> None:
    experiment = yaml.safe_load(path.read_text())
    modules = {"peerchaos.ctk.actions": actions, "peerchaos.ctk.probes": probes}
    checked = 0
    for activity in _activities(experiment):
        provider = activity["provider"]
        if provider.get("module") not in modules:
            continue
        func = getattr(modules[provider["module"]], provider["func"])
        inspect.signature(func).bind(
            **provider.get("arguments", {}), configuration=None, secrets=None
        )
        checked += 1
    assert checked >= 3
    assert experiment["controls"][0]["provider"]["module"] == "peerchaos.ctk.control"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_chaos_validate_accepts_every_experiment(path: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "chaos"), "--no-log-file", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _session(tmp_path: Path, **configuration: object) -> sessions.Session:
    sessions.close_session()
    config = {"spec": {**FAST}, "state_dir": str(tmp_path / "state"), **configuration}
    return sessions.open_session(config)


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ({"func": "kill_peer", "arguments": {"target": "the-boss"}}, "target must be leader"),
        ({"func": "kill_peer", "arguments": {"trials": 0}}, "trials: must be between 1 and 1000"),
        (
            {"func": "pause_peer", "arguments": {"duration_s": "long"}},
            "duration_s: must be a number",
        ),
        ({"func": "partition_peer", "arguments": {"target": "minority"}}, None),
        ({"func": "delete_endpoints", "arguments": {}}, "needs selectorless.enabled"),
        ({"func": "election_time", "arguments": {"stat": "p99"}}, "stat must be last"),
    ],
)
def test_preflight_rejects_bad_activities_in_one_line(
    tmp_path: Path, method: dict, message: str | None
) -> None:
    session = _session(tmp_path)
    module = (
        "peerchaos.ctk.probes" if method["func"] == "election_time" else "peerchaos.ctk.actions"
    )
    experiment = {
        "method": [
            {
                "type": "action",
                "name": "x",
                "provider": {"type": "python", "module": module, **method},
            }
        ]
    }
    try:
        if message is None:
            validate_activities(experiment, session)  # a minority of 3 is one peer: allowed
            return
        with pytest.raises(PeerchaosError) as caught:
            validate_activities(experiment, session)
        text = str(caught.value)
        assert message in text and "\n" not in text and text.startswith("method 'x'")
        assert not session.runtime.is_up()  # nothing was started
    finally:
        sessions.close_session()


def test_quorum_guard_refuses_a_majority_unless_allowed(tmp_path: Path) -> None:
    session = _session(tmp_path, spec={**FAST, "replicas": 1})
    experiment = {
        "method": [
            {
                "type": "action",
                "name": "k",
                "provider": {
                    "type": "python",
                    "module": "peerchaos.ctk.actions",
                    "func": "kill_peer",
                    "arguments": {"target": "leader"},
                },
            }
        ]
    }
    try:
        with pytest.raises(PeerchaosError, match=r"leaves no majority .*allow_quorum_loss: true"):
            validate_activities(experiment, session)
    finally:
        sessions.close_session()
    allowed = _session(tmp_path, spec={**FAST, "replicas": 1}, allow_quorum_loss=True)
    try:
        validate_activities(experiment, allowed)
    finally:
        sessions.close_session()


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    from peerchaos.ctk.config import read_config

    with pytest.raises(PeerchaosError, match=r"^configuration.colour: unknown key"):
        read_config({"colour": "blue"})
    with pytest.raises(PeerchaosError, match=r"^configuration.observers.load_workers: must be"):
        read_config({"observers": {"load_workers": "many"}})
    with pytest.raises(
        PeerchaosError, match=r"^configuration.spec_overrides: replicas: must be at most 9"
    ):
        read_config({"spec_overrides": {"replicas": 10}})
    with pytest.raises(PeerchaosError, match=r"^configuration.runtime: must be local or kube"):
        read_config({"runtime": "nomad"})
    with pytest.raises(PeerchaosError, match=r"^configuration.grace_period_s: must be between"):
        read_config({"runtime": "kubernetes", "grace_period_s": -1})
    cluster = read_config({"runtime": "kubernetes", "grace_period_s": "5", "delete_pvcs": "true"})
    assert (cluster.runtime, cluster.grace_period_s, cluster.delete_pvcs) == ("kubernetes", 5, True)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessions.Session]:
    """One session with a deployed ensemble for the activity tests."""
    state = tmp_path_factory.mktemp("ctk") / "state"
    configuration = {
        "spec": {
            **FAST,
            "jvm_dns_cache_s": 1,
            "local": {"pod_cidr": "10.244.40.0/24", "service_cidr": "10.96.40.0/24"},
        },
        "state_dir": str(state),
    }
    with deployed_session(configuration) as session:
        yield session


def healthy(session: sessions.Session) -> None:
    from peerchaos import nemesis

    nemesis.heal_everything(session.runtime)
    nemesis.wait_healthy(session.runtime, 60)


@needs_zookeeper
def test_live_probes(live: sessions.Session) -> None:
    healthy(live)
    assert probes.ensemble_has_quorum() is True
    assert probes.leader_elected().startswith("zk-")
    assert probes.ready_peers() == 3
    assert probes.connections_to_unready_peers(connections=6) == 0


@needs_zookeeper
def test_kill_peer_runs_trials_and_records_them(live: sessions.Session) -> None:
    healthy(live)
    before = probes.leader_elected()
    records = actions.kill_peer(target="leader", trials=2, settle_s=0.2)
    assert [r["index"] for r in records] == [0, 1]
    assert records[0]["pods"] == [before] and records[0]["fault"] == "kill"
    assert all(r["t_fault"] > 0 for r in records)
    assert probes.ensemble_has_quorum()


@needs_zookeeper
def test_unready_and_ready(live: sessions.Session) -> None:
    healthy(live)
    (record,) = actions.make_peer_unready(target="follower", duration_s=0)
    pod = record["pods"][0]
    wait_until(lambda: probes.ready_peers() == 2, 10, "one peer unready")
    assert probes.headless_dns_lists_unready_peers() is True  # publishNotReadyAddresses
    assert probes.connections_to_unready_peers(connections=9) == 0
    actions.make_peer_ready(target=pod)
    wait_until(lambda: probes.ready_peers() == 3, 10, "ready again")


@needs_zookeeper
def test_pause_with_duration_heals_itself(live: sessions.Session) -> None:
    healthy(live)
    (record,) = actions.pause_peer(target="leader", duration_s=2.0, trials=1, settle_s=0)
    assert record["t_heal"] - record["t_fault"] >= 2.0
    assert not any(pod.paused for pod in live.runtime.pods())
    with pytest.raises(ActivityFailed, match="expected leader, follower, successor, random"):
        actions.resume_peer(target="zk-7")


@needs_zookeeper
@needs_root
def test_partition_and_heal(live: sessions.Session) -> None:
    healthy(live)
    (record,) = actions.partition_peer(target="minority", duration_s=1.0, trials=1, settle_s=0)
    assert len(record["pods"]) == 1 and record["t_heal"] is not None
    assert live.runtime.status()["partition"] is None
    assert actions.heal_partition() > 0


@needs_zookeeper
def test_rolling_restart_restarts_every_peer(live: sessions.Session) -> None:
    healthy(live)
    restarts = {pod.name: pod.restarts for pod in live.runtime.pods()}
    records = actions.rolling_restart(settle_s=0.2)
    assert [r["pods"][0] for r in records] == ["zk-2", "zk-1", "zk-0"]
    assert all(pod.restarts == restarts[pod.name] + 1 for pod in live.runtime.pods())


@needs_zookeeper
def test_endpoints_of_a_selector_service_are_not_ours_to_delete(live: sessions.Session) -> None:
    with pytest.raises(ActivityFailed, match="has a selector"):
        actions.delete_endpoints()


@needs_zookeeper
def test_heal_all_undoes_every_fault(live: sessions.Session) -> None:
    healthy(live)
    actions.make_peer_unready(target="zk-0", duration_s=0)
    live.runtime.pause("zk-1")
    done = actions.heal_all()
    assert "resumed zk-1" in done and "made zk-0 ready" in done
    wait_until(lambda: probes.ready_peers() == 3, 15, "every peer ready")


def test_measured_probes_read_the_summary(tmp_path: Path) -> None:
    session = _session(tmp_path)
    try:
        with pytest.raises(ActivityFailed, match="add the peerchaos control"):
            probes.election_time()
        session.run = object()  # a run exists, the method has not finished
        # Nothing was measured yet: no figure, never 0 s met (it used to answer 0.0 / true).
        assert probes.election_time() == "no fault yet"
        assert probes.no_lost_writes() == "no fault yet"
        session.summary = {
            "trials": [
                {
                    "observed": True,
                    "election_time_s": 0.4,
                    "write_recovery_s": 0.5,
                    "new_leader": "zk-1",
                    "dns_convergence_s": {},
                    "dns_convergence_cached_s": {},
                },
                {
                    "observed": True,
                    "election_time_s": None,
                    "election_time_censored": True,  # no leader before the window ended
                    "censored_at_s": {"election_time_s": 5.0},
                    "write_recovery_s": 0.7,
                    "new_leader": None,
                    "dns_convergence_s": {},
                    "dns_convergence_cached_s": {},
                },
            ],
            "checks": {
                "valid": False,
                "details": {
                    "results": {
                        "durability": {"valid": False},
                        "linearizable-writes": {"valid": True},
                    }
                },
            },
        }
        # Never recovered within its window: counted, and a statistic on it fails saying so.
        with pytest.raises(ActivityFailed, match=r"election_time last: > 5\.000 s .*censored"):
            probes.election_time(stat="last")
        with pytest.raises(ActivityFailed, match=r"> 5\.000 s"):
            probes.election_time(stat="max")
        assert probes.election_time(stat="p50") == 0.4  # nearest rank: the lower of two
        # The same trial, but the restarted victim won the new epoch: not a figure at all.
        session.summary["trials"][-1]["victim_re_elected"] = True
        assert probes.election_time(stat="max") == probes.election_time(stat="p50") > 0
        assert probes.write_recovery(stat="p50") == 0.5
        # No trial holds the figure: "no data", never 0 s within any tolerance.
        with pytest.raises(ActivityFailed, match="full_redundancy max: no data"):
            probes.full_redundancy(stat="max")
        session.summary["trials"][0]["full_redundancy_s"] = 1.5
        assert probes.full_redundancy(stat="max") == 1.5
        with pytest.raises(ActivityFailed, match=r"dns_convergence .* no data"):
            probes.dns_convergence(name="headless")
        assert probes.leader_changes() == 1
        assert probes.no_lost_writes() is False and probes.history_linearizable() is True
        assert probes.checks_valid() is False
    finally:
        sessions.close_session()
