"""etcd's figures from recorded real runs (tests/data/measure/etcd-*), asserted exactly.

Recorded on the local runtime with `chaos run` (Debian's etcd 3.4.23, heartbeat 100 ms,
election timeout 1000 ms, one client at 40 ops/s) and trimmed with
`tests/data/trim_run.py`; each figure was checked by hand against the members' logs:
- etcd-leader-kill: three leader kills, the killed pod back after 3 s; each new leader
  logs `became leader at term N` within 10 ms of the probe's election time;
- etcd-partition-rejoin: the leader cut off for 5 s, twice. Trial 1: etcd-1 leads after
  1.09 s; the isolated etcd-0 campaigns alone (pre-vote off), comes back at term 5 and
  deposes etcd-1 at 5.99 s, so full redundancy takes 7.8 s. Trial 2: etcd-0 campaigns
  first but its log is one entry behind etcd-2's (index 311 < 312): refused twice, the
  election waits for etcd-2's own timeout (3.72 s).
"""

from __future__ import annotations

from test_measure_golden import measured, near

from peerchaos.systems import get_system


def test_three_killed_etcd_leaders_each_replaced_at_a_newer_term() -> None:
    trials = measured("etcd-leader-kill")["trials"]
    assert [t["fault"]["pods"] for t in trials] == [["etcd-0"], ["etcd-1"], ["etcd-0"]]
    assert [t["new_leader"] for t in trials] == ["etcd-1", "etcd-0", "etcd-1"]
    assert [t["new_epoch"] for t in trials] == [3, 4, 5]
    assert near(trials[0]["election_time_s"], 1.360741)
    assert near(trials[0]["ground_truth"]["leader_serving_s"], 1.357352)
    assert near(trials[1]["full_redundancy_s"], 3.127349)
    assert near(trials[1]["ground_truth"]["full_redundancy_s"], 3.114544)
    assert near(trials[2]["client_unavailability_s"], 2.037134)
    for trial in trials:
        truth = trial["ground_truth"]
        assert 0 <= trial["election_time_s"] - truth["leader_serving_s"] < 0.02
        assert 0 <= trial["full_redundancy_s"] - truth["full_redundancy_s"] < 0.05
        (timeout,) = [c for c in trial["causes"] if c["kind"] == "election_timeout"]
        # The first campaign comes one randomised election timeout (1-2 s) after the kill.
        assert 1.0 <= timeout["at_s"] <= 2.0
        assert trial["dual_leader_s"] == 0.0


def test_a_partitioned_etcd_leader_rejoins_and_deposes_the_new_one() -> None:
    first, second = measured("etcd-partition-rejoin")["trials"]
    assert first["fault"]["groups"] == [["etcd-0"], ["etcd-1", "etcd-2"]]
    assert first["new_leader"] == "etcd-1" and near(first["election_time_s"], 1.103661)
    # Full redundancy waits for the rejoin's extra election, in the logs as in the probes.
    assert near(first["full_redundancy_s"], 7.803657)
    assert near(first["ground_truth"]["full_redundancy_s"], 7.793630)
    kinds = {c["kind"]: c for c in first["causes"]}
    rejoin = kinds["disruptive_rejoin"]
    assert (rejoin["peer"], rejoin["by"], rejoin["term"]) == ("etcd-1", "etcd-0", 5)
    assert near(rejoin["at_s"], 5.99, 0.01)
    assert "pre-vote is off" in rejoin["text"]
    assert kinds["lease_not_expired"]["peer"] == "etcd-2"
    # Trial 2: the first candidate's log is behind; refused twice, another one wins.
    assert second["new_leader"] == "etcd-2" and near(second["election_time_s"], 3.729138)
    assert near(second["ground_truth"]["leader_serving_s"], 3.723078)
    (behind,) = [c for c in second["causes"] if c["kind"] == "candidate_log_behind"]
    assert (behind["peer"], behind["candidate"], behind["terms"]) == ("etcd-2", "etcd-0", [8, 9])
    assert "index 311) was behind its own (term 7, index 312)" in behind["text"]
    assert not [c for c in second["causes"] if c["kind"] == "split_vote"]


def test_the_recorded_logs_are_etcds_own() -> None:
    from test_measure_golden import DATA

    (run,) = sorted((DATA / "etcd-leader-kill").iterdir())
    assert get_system("etcd").version_from_logs(run / "peers") == "3.4.23"


def test_an_etcd_run_checks_its_reads_too_and_a_zookeeper_run_does_not(tmp_path) -> None:
    import shutil

    from test_measure_golden import DATA

    from peerchaos.observe import summarize
    from peerchaos.rundir import RunDir

    checked = {}
    for case in ("etcd-leader-kill", "stale-default-cache"):
        (run,) = sorted((DATA / case).iterdir())
        copy = tmp_path / case / run.name
        shutil.copytree(run, copy)
        checks = summarize(RunDir.existing(copy))["checks"]
        checked[case] = sorted(checks["details"]["results"])
        assert checks["valid"] is True
    # etcd promises linearizable reads (ZooKeeper's followers may serve stale ones).
    assert "linearizable-full" in checked["etcd-leader-kill"]
    assert "linearizable-full" not in checked["stale-default-cache"]
