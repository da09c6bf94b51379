"""The figures of recorded real runs (tests/data/measure/, see its README), asserted exactly.

Each run dir was recorded on the local runtime with `chaos run` and trimmed with
`tests/data/trim_run.py`; the numbers below are what `measure` computes from its files,
checked by hand against the peers' own logs when recorded:
- stale-default-cache: two leader kills back to back with the JVM's default DNS caches;
  in trial 2 zk-0 keeps dialling zk-2's old address (its 30 s positive cache) while
  zk-2 leads with the restarted zk-1 — 1.26 s to a new leader, 24.4 s to full redundancy;
- cached-stale: three leader kills, JVM answers cached 1 s and failed lookups 10 s; the
  cached DNS view of trial 1 still holds the dead IP at the next fault; in trial 2 zk-0
  dials zk-2's old address for 12.3 s (a lookup failed while zk-2 had no record);
- multi-pod-kill: 5 peers, a minority (2 pods) killed at once, twice: one trial each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from peerchaos.events import read_jsonl
from peerchaos.measure import measure
from peerchaos.rundir import RunDir

DATA = Path(__file__).parent / "data" / "measure"


def measured(case: str) -> dict[str, Any]:
    (run,) = sorted((DATA / case).iterdir())
    truth = json.loads((run / "ground_truth.json").read_text())["log_events"]
    meta = json.loads((run / "meta.json").read_text())
    return measure(read_jsonl(run / "events.jsonl"), read_jsonl(run / "history.jsonl"), truth, meta)


def near(value: Any, expected: float, within: float = 1e-5) -> bool:
    return isinstance(value, float) and abs(value - expected) < within


def test_a_survivor_dialling_a_restarted_peers_old_address() -> None:
    first, second = measured("stale-default-cache")["trials"]
    assert second["fault"]["pods"] == ["zk-1"] and second["new_leader"] == "zk-2"
    assert near(second["election_time_s"], 1.258447)
    assert near(second["full_redundancy_s"], 24.361367)
    assert near(second["zero_tolerance_s"], 24.361367)
    assert near(second["peer_outage_s"]["zk-0"], 24.343183)
    assert near(second["client_unavailability_s"], 1.439169)
    # The peers' logs agree with the probes to within a few of their 10 ms periods.
    assert abs(second["ground_truth"]["full_redundancy_error_s"]) < 0.05
    assert abs(second["ground_truth"]["election_time_error_s"]) < 0.05
    stale = [c for c in second["causes"] if c["kind"] == "stale_peer_address"]
    assert [(c["peer"], c["target"], c["address"], c["current_address"]) for c in stale] == [
        ("zk-0", "zk-2", "10.244.0.12", "10.244.0.13")
    ]
    assert stale[0]["cache"] == "positive" and stale[0]["setting"] == "jvm_dns_cache_s"
    assert stale[0]["attempts"] == 7 and near(stale[0]["stalled_s"], 24.32, 0.01)
    assert "the JVM caches DNS answers for 30 s" in stale[0]["text"]
    kinds = [c["kind"] for c in second["causes"]]
    assert "waited_for_victim" in kinds and "connect_to_leader_timeout" in kinds
    # The restarted zk-2's new IP was 0.9 s old at the fault: not an independent trial.
    assert second["after_effects"]["within_jvm_dns_cache"] is True
    assert first["causes"] == [] and first["after_effects"]["independent"] is True


def test_a_cached_view_stale_past_the_next_fault_and_the_negative_cache() -> None:
    result = measured("cached-stale")
    first, second, third = result["trials"]
    name = "zk-2.zk-hs.default.svc.cluster.local"
    cached = first["dns"][f"cached:{name}"]["p0"]
    assert cached["affected"] and cached["converged"] is False
    assert cached["convergence_s"] is None and near(cached["censored_at_s"], 1.6372, 1e-4)
    assert near(cached["stale_window_s"], 1.6368, 1e-4)
    assert first["dns_convergence_cached_censored"] == {
        name: True,
        "zk-hs.default.svc.cluster.local": True,
    }
    assert first["dns"][f"raw:{name}"]["p0"]["converged"] is True
    # The client Service's name never changes: kept, unaffected, out of the figures.
    client = "zk-cs.default.svc.cluster.local"
    assert first["dns"][f"raw:{client}"]["p0"]["affected"] is False
    assert client not in first["dns_convergence_s"]
    (stale,) = [c for c in second["causes"] if c["kind"] == "stale_peer_address"]
    assert (stale["peer"], stale["address"], stale["cache"]) == ("zk-0", "10.244.0.12", "negative")
    assert near(second["full_redundancy_s"], 12.298529) and near(
        second["election_time_s"], 1.308255
    )
    assert third["causes"] == []
    cached_dist = result["metrics"]["dns_convergence_cached_s"]
    assert cached_dist["n"] == 6 and cached_dist["n_censored"] == 2
    assert cached_dist["max"] is None and cached_dist["max_censored"] is True


def test_one_fault_on_two_pods_is_one_trial() -> None:
    result = measured("multi-pod-kill")
    first, second = result["trials"]
    assert first["fault"]["pods"] == ["zk-3", "zk-0"] and second["fault"]["pods"] == [
        "zk-4",
        "zk-2",
    ]
    assert near(first["full_redundancy_s"], 7.84644)
    # 5 peers: a bare majority is 3; with 2 killed, tolerance is gone until one is back.
    assert near(first["zero_tolerance_s"], 1.708301)
    assert set(first["peer_outage_s"]) == {"zk-0", "zk-1", "zk-2", "zk-3", "zk-4"}
    waits = [c for c in first["causes"] if c["kind"] == "connect_timeout"]
    assert {(c["peer"], c["target"]) for c in waits} == {("zk-1", "zk-0"), ("zk-2", "zk-0"),
                                                         ("zk-4", "zk-0")}  # fmt: skip
    assert result["metrics"]["full_redundancy_s"]["n"] == 2


@pytest.mark.parametrize("case", ["stale-default-cache", "cached-stale", "multi-pod-kill"])
def test_every_trial_has_the_figures_the_summary_promises(case: str) -> None:
    for trial in measured(case)["trials"]:
        for key in ("full_redundancy_s", "zero_tolerance_s", "client_unavailability_s"):
            base = key.removesuffix("_s")
            assert isinstance(trial[key], float) or trial[f"{base}_censored"] is True
        assert trial["full_redundancy_s"] >= trial["election_time_s"]
        assert isinstance(trial["causes"], list)
        assert all("converged" in p for probes in trial["dns"].values() for p in probes.values())


def test_measure_recomputes_the_recorded_summary(tmp_path: Path) -> None:
    """`peerchaos measure RUN_DIR` gives the figures from the files alone."""
    from click.testing import CliRunner

    from peerchaos.cli import main

    (source,) = sorted((DATA / "cached-stale").iterdir())
    run = tmp_path / source.name
    import shutil

    shutil.copytree(source, run)
    (run / "summary.json").unlink()
    result = CliRunner().invoke(main, ["measure", str(run)])
    assert result.exit_code == 0, result.output
    summary = RunDir(run).read_json(RunDir(run).summary)
    assert near(summary["trials"][1]["full_redundancy_s"], 12.298529)
    assert summary["metrics"]["dns_convergence_cached_s"]["n_censored"] == 2
