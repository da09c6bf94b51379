"""Measurements from crafted timelines: each figure follows its definition.

Changed with the measurement rebuild (issue 12), where the old assertions were wrong:
- a name the fault did not touch is `affected: false` and out of the distributions
  (it used to add a 0.0 that pulled the DNS median to zero);
- the median is nearest-rank (the lower middle value for even n), and a trial that never
  reached a figure counts as censored instead of being dropped from n.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure import measure
from peerchaos.measure.clients import first_ack_after, unavailability
from peerchaos.measure.roles import election
from peerchaos.measure.stats import Value, distribution, statistic

T = 1000.0
PODS = {"zk-0", "zk-1", "zk-2"}


def role(t: float, pod: str, mode: str, epoch: int | None = None) -> dict:
    return {"t": T + t, "kind": "role", "pod": pod, "mode": mode, "epoch": epoch,
            "source": "role-probe"}  # fmt: skip


def rt(t: float, kind: str, **fields: Any) -> dict:
    return {"t": T + t, "kind": kind, "source": "runtime", **fields}


def kill(t: float, pod: str, ip: str) -> dict:
    return rt(t, "fault", fault="kill", pod=pod, ip=ip, t_fault=T + t)


START = {"t": T - 2, "kind": "observe_start", "source": "observers"}
STEADY = [role(-1, "zk-0", "follower", 1), role(-1, "zk-1", "follower", 1),
          role(-1, "zk-2", "leader", 1)]  # fmt: skip


def test_election_waits_for_a_new_epoch_and_a_serving_majority() -> None:
    roles = [
        role(-1, "zk-0", "follower", 1),
        role(-1, "zk-1", "leader", 1),
        role(-1, "zk-2", "follower", 1),
        role(0.1, "zk-1", "unreachable"),
        role(0.2, "zk-0", "not-serving"),
        role(0.25, "zk-2", "not-serving"),
        role(0.5, "zk-2", "leader", 2),  # no majority serving yet
        role(0.6, "zk-0", "follower", 1),  # a follower's zxid keeps the old epoch
    ]
    result = election(roles, T, T + 10, {"zk-1"}, PODS)
    assert result["leader"] == "zk-2" and result["epoch"] == 2
    assert abs(result["s"] - 0.6) < 1e-9
    assert result["quorum"] == ["zk-0", "zk-2"]


def test_old_leader_coming_back_is_not_a_new_leader() -> None:
    roles = [role(-1, "zk-0", "leader", 3), role(-1, "zk-1", "follower", 3),
             role(-1, "zk-2", "follower", 3), role(0.3, "zk-0", "leader", 3)]  # fmt: skip
    assert election(roles, T, T + 5, set(), PODS)["s"] is None


def test_a_victim_winning_the_new_epoch_itself_is_marked_not_timed() -> None:
    events = [START, *STEADY, kill(0, "zk-2", "10.0.0.3"),
              role(0.05, "zk-2", "unreachable"), role(0.9, "zk-2", "leader", 2),
              role(0.95, "zk-0", "follower", 1)]  # fmt: skip
    (trial,) = measure(events, [], [])["trials"]
    assert trial["election_time_s"] is None and trial["victim_re_elected"] is True
    assert trial["election_time_censored"] is False
    # Without the victim's comeback nobody leads: a trial that never recovered, censored.
    never = [e for e in events if not (e.get("pod") == "zk-2" and e.get("epoch") == 2)]
    (stuck,) = measure(never, [], [])["trials"]
    assert stuck["election_time_s"] is None and stuck["victim_re_elected"] is False
    assert stuck["election_time_censored"] is True
    assert abs(stuck["censored_at_s"]["election_time_s"] - 0.95) < 1e-9


def test_a_leader_after_the_next_fault_belongs_to_the_next_trial() -> None:
    """Seen in a real run: the killed leader won again, and the next trial's election
    (13 s later) was counted as this trial's."""
    events = [START, role(-1, "zk-0", "follower", 2), role(-1, "zk-1", "leader", 2),
              role(-1, "zk-2", "follower", 2), kill(0, "zk-1", "a"),
              role(1.8, "zk-1", "leader", 3), role(1.9, "zk-0", "follower", 3),
              kill(13.4, "zk-1", "b"), role(14.0, "zk-2", "leader", 4),
              role(14.1, "zk-0", "follower", 4)]  # fmt: skip
    first, second = measure(events, [], [])["trials"]
    assert first["election_time_s"] is None and first["victim_re_elected"] is True
    assert second["new_leader"] == "zk-2" and abs(second["election_time_s"] - 0.6) < 1e-6


def stalled_trial() -> list[dict]:
    """A leader kill where one survivor stays out of service for 12.3 s (the case users
    hit: it dials the restarted peer's old IP)."""
    return [
        START, *STEADY, kill(0, "zk-2", "10.0.0.3"),
        role(0.01, "zk-2", "unreachable"), role(0.02, "zk-0", "not-serving"),
        role(0.02, "zk-1", "not-serving"), role(1.0, "zk-2", "not-serving"),
        role(1.1, "zk-1", "leader", 2), role(1.15, "zk-2", "follower", 1),
        role(12.3, "zk-0", "follower", 2),
        {"t": T + 20, "kind": "observe_stop", "source": "observers"},
    ]  # fmt: skip


def test_full_redundancy_zero_tolerance_and_outages() -> None:
    (trial,) = measure(stalled_trial(), [], [], {"spec": {"replicas": 3}})["trials"]
    assert abs(trial["election_time_s"] - 1.15) < 1e-9  # zk-1 leads once zk-2 follows
    assert abs(trial["full_redundancy_s"] - 12.3) < 1e-9
    assert trial["full_redundancy_censored"] is False
    assert trial["full_redundancy_s"] > trial["election_time_s"]
    # 3 peers: at most 2 serving from the fault until zk-0 is back.
    assert abs(trial["zero_tolerance_s"] - 12.3) < 1e-9
    outages = trial["peer_outage_s"]
    assert abs(outages["zk-0"] - 12.28) < 1e-9 and abs(outages["zk-2"] - 1.15) < 1e-9
    assert abs(outages["zk-1"] - 1.08) < 1e-9


def test_a_window_that_ends_first_censors_redundancy_not_drops_it() -> None:
    events = [e for e in stalled_trial() if not (e.get("pod") == "zk-0" and e["t"] > T + 12)]
    events = [*events[:-1], {"t": T + 8, "kind": "observe_stop", "source": "observers"}]
    result = measure(events, [], [], {"spec": {"replicas": 3}})
    (trial,) = result["trials"]
    assert trial["full_redundancy_s"] is None and trial["full_redundancy_censored"] is True
    assert abs(trial["censored_at_s"]["full_redundancy_s"] - 8.0) < 1e-9
    assert trial["zero_tolerance_censored"] is True
    assert trial["peer_outage_censored"] == {"zk-0": True}
    dist = result["metrics"]["full_redundancy_s"]
    assert dist["n"] == 1 and dist["n_censored"] == 1
    assert dist["max"] is None and dist["max_censored"] is True and dist["max_at_least"] == 8.0


def test_an_unready_peer_keeps_redundancy() -> None:
    events = [START, *STEADY, rt(0, "fault", fault="unready", pod="zk-2", t_fault=T),
              {"t": T + 5, "kind": "observe_stop", "source": "observers"}]  # fmt: skip
    (trial,) = measure(events, [], [], {"spec": {"replicas": 3}})["trials"]
    assert trial["full_redundancy_s"] == 0.0 and trial["zero_tolerance_s"] == 0.0
    assert trial["election_expected"] is False and trial["election_time_censored"] is False


def op(kind: str, f: str, t: float, process: str = "w0") -> dict:
    return {"type": kind, "f": f, "key": "k", "process": process, "time": T + t, "mono": t}


def test_write_recovery_counts_only_writes_invoked_after_the_fault() -> None:
    history = [op("invoke", "write", -0.5), op("ok", "write", 0.8),
               op("invoke", "read", 0.1, "w1"), op("info", "read", 2.1, "w1"),
               op("invoke", "cas", 0.9), op("ok", "cas", 1.2)]  # fmt: skip
    assert abs(first_ack_after(history, T, ("write", "cas")) - 1.2) < 1e-9
    assert first_ack_after(history, T, ("read",)) is None


def test_client_unavailability_is_the_longest_silence_spanning_the_fault() -> None:
    acks = [T - 0.3, T - 0.1, T + 1.4, T + 1.5, T + 3.0]
    value = unavailability(acks, T, T + 10, had_ops=True)
    assert abs(value.s - 1.5) < 1e-9  # from the last ack before the fault to the first after
    never = unavailability([T - 0.2], T, T + 4, had_ops=True)
    assert never.censored and abs(never.at_least - 4.2) < 1e-9
    assert unavailability([], T, T + 4, had_ops=False) is None


def test_client_shares_count_unfinished_invokes_as_unknown() -> None:
    events = [START, *STEADY, kill(0, "zk-2", "a"), role(0.5, "zk-1", "leader", 2),
              role(0.6, "zk-0", "follower", 2), role(1.0, "zk-2", "follower", 2)]  # fmt: skip
    history = [op("invoke", "write", 0.1), op("fail", "write", 0.2),
               op("invoke", "write", 0.3), op("ok", "write", 0.7),
               op("invoke", "read", 0.4, "w1")]  # fmt: skip
    (trial,) = measure(events, history, [])["trials"]
    ops = trial["client_ops"]
    assert (ops["ok"], ops["fail"], ops["info"]) == (1, 1, 1)
    assert abs(ops["failed_share"] - 1 / 3) < 1e-9


def test_one_fault_on_several_pods_is_one_trial() -> None:
    pods5 = [role(-1, f"zk-{i}", "follower", 1) for i in range(4)] + [role(-1, "zk-4", "leader", 1)]
    marker = {"t": T + 0.002, "kind": "trial", "source": "nemesis", "fault": "kill",
              "pods": ["zk-4", "zk-3"], "t_fault": T}  # fmt: skip
    events = [START, *pods5, marker, kill(0, "zk-4", "a"), kill(0.001, "zk-3", "b"),
              role(0.5, "zk-2", "leader", 2), role(0.6, "zk-1", "follower", 2)]  # fmt: skip
    (trial,) = measure(events, [], [], {"spec": {"replicas": 5}})["trials"]
    assert trial["fault"]["pods"] == ["zk-4", "zk-3"] and trial["fault"]["ips"] == ["a", "b"]
    # Without the marker, fault events close together are grouped all the same.
    (unmarked,) = measure([e for e in events if e["kind"] != "trial"], [], [])["trials"]
    assert unmarked["fault"]["pods"] == ["zk-4", "zk-3"]


def test_statistics_count_censored_trials_and_use_nearest_rank() -> None:
    values = [Value(0.3), Value.cut_short(9.0), Value(0.1), Value(0.2), Value(0.4)]
    dist = distribution(values)
    assert dist["n"] == 5 and dist["n_censored"] == 1
    assert dist["p50"] == 0.3  # rank 3 of [0.1, 0.2, 0.3, 0.4, >9]
    assert dist["p95"] is None and dist["p95_censored"] and dist["p95_at_least"] == 9.0
    even = distribution([Value(1.0), Value(2.0), Value(3.0), Value(4.0)])
    assert even["p50"] == 2.0  # the lower middle value, as the probes answer
    assert statistic([], "p50") is None
    assert distribution([])["n"] == 0


def dns(t: float, probe: str, view: str, name: str, addresses: list[str], rcode="NOERROR"):
    return {"t": T + t, "kind": "dns", "source": f"dns-probe-{probe}", "probe": probe,
            "view": view, "name": name, "rcode": rcode, "addresses": addresses}  # fmt: skip


HS = "zk-hs.default.svc.cluster.local"
POD2 = f"zk-2.{HS}"
CS = "zk-cs.default.svc.cluster.local"


def cluster_start(ips: dict[str, str]) -> dict:
    return {**START, "cluster": {
        "namespace": "default", "headless_service": "zk-hs", "cluster_ips": {"zk-cs": "10.96.0.9"},
        "pods": [{"name": p, "ip": ip, "phase": "Running", "ready": True} for p, ip in ips.items()],
        "endpoints": [{"service": "zk-hs", "ready": sorted(ips.values()), "not_ready": []}],
    }}  # fmt: skip


def endpoints(t: float, ready: list[str], not_ready: list[str] = ()) -> dict:
    return rt(t, "endpoints", service="zk-hs", ready=ready, not_ready=list(not_ready))


def dns_run(cached_until: float) -> list[dict]:
    """zk-2 killed at 0 (.3), back at 0.5 as .4; a raw view tracks it, a cached view
    keeps .3 until `cached_until`; a second kill at 5 ends the first trial."""
    ips = {"zk-0": "10.0.0.1", "zk-1": "10.0.0.2", "zk-2": "10.0.0.3"}
    return [
        cluster_start(ips), *STEADY,
        dns(-1, "p0", "raw", POD2, ["10.0.0.3"]), dns(-1, "p0", "cached", POD2, ["10.0.0.3"]),
        dns(-1, "p0", "raw", CS, ["10.96.0.9"]),
        kill(0, "zk-2", "10.0.0.3"), rt(0.01, "pod_exited", pod="zk-2", ip="10.0.0.3"),
        endpoints(0.01, ["10.0.0.1", "10.0.0.2"]),
        dns(0.02, "p0", "raw", POD2, [], "NXDOMAIN"),
        rt(0.5, "pod_started", pod="zk-2", ip="10.0.0.4"),
        endpoints(0.5, ["10.0.0.1", "10.0.0.2"], ["10.0.0.4"]),
        dns(0.51, "p0", "raw", POD2, ["10.0.0.4"]),
        dns(cached_until, "p0", "cached", POD2, ["10.0.0.4"]),
        kill(5, "zk-1", "10.0.0.2"),
        {"t": T + 9, "kind": "observe_stop", "source": "observers"},
    ]  # fmt: skip


def test_dns_convergence_against_the_truth() -> None:
    first = measure(dns_run(cached_until=3.0), [], [])["trials"][0]
    raw = first["dns"][f"raw:{POD2}"]["p0"]
    assert raw["affected"] and raw["converged"] and abs(raw["convergence_s"] - 0.51) < 1e-9
    assert abs(raw["nxdomain_s"] - 0.49) < 1e-9
    assert abs(raw["truth_s"] - 0.5) < 1e-9  # the truth changed to its final value at +0.5
    assert abs(raw["lag_s"] - 0.01) < 1e-9
    cached = first["dns"][f"cached:{POD2}"]["p0"]
    assert abs(cached["convergence_s"] - 3.0) < 1e-9
    # It held .3 from the moment the runtime saw that pod exit (+0.01) to +3.
    assert abs(cached["stale_window_s"] - 2.99) < 1e-9
    # A name the fault never touched is kept but out of the figures and distributions.
    assert first["dns"][f"raw:{CS}"]["p0"]["affected"] is False
    assert CS not in first["dns_convergence_s"]


def test_a_cached_view_stale_past_the_next_fault_never_converged() -> None:
    trials = measure(dns_run(cached_until=6.0), [], [])["trials"]
    cached = trials[0]["dns"][f"cached:{POD2}"]["p0"]
    assert cached["converged"] is False and cached["convergence_s"] is None
    assert abs(cached["censored_at_s"] - 5.0) < 1e-9
    assert trials[0]["dns_convergence_cached_s"][POD2] is None
    assert trials[0]["dns_convergence_cached_censored"] == {POD2: True}
    # In the next trial the cached view still holds .3, dead since the first trial: stale.
    second = trials[1]["dns"][f"cached:{POD2}"]["p0"]
    assert abs(second["stale_window_s"] - 1.0) < 1e-9


def test_probe_gaps_flag_the_figures_they_overlap() -> None:
    beats = [{"t": T + t, "kind": "probe_heartbeat", "source": "role-probe", "probe": "role",
              "pod": "zk-0", "period_s": 0.01} for t in (-1, 0, *range(4, 21))]  # fmt: skip
    (trial,) = measure(stalled_trial() + beats, [], [])["trials"]
    (gap,) = trial["probe_gaps"]
    assert gap["probe"] == "role" and abs(gap["s"] - 4.0) < 1e-9 and gap.get("silent")
    assert "full_redundancy_s" in trial["figures_with_gaps"]
    assert "dns_convergence_s" not in trial["figures_with_gaps"]
    # A probe that stops beating altogether (its actor died) leaves a gap to the end.
    (trial,) = measure(stalled_trial() + beats[:3], [], [])["trials"]
    assert [round(g["s"], 3) for g in trial["probe_gaps"]] == [4.0, 16.0]


def test_after_effects_name_a_fresh_ip_change_inside_the_jvm_cache() -> None:
    events = dns_run(cached_until=3.0)
    second = measure(events, [], [], {"spec": {"jvm_dns_cache_s": 1}})["trials"][1]
    effects = second["after_effects"]
    assert effects["ip_change_pod"] == "zk-2" and abs(effects["since_ip_change_s"] - 4.5) < 1e-9
    # Answers are cached 1 s, but failed lookups follow jvm_dns_cache_s too: independent.
    assert effects["within_jvm_dns_cache"] is False
    default = measure(events, [], [], {"spec": {}})["trials"][1]["after_effects"]
    assert default["within_jvm_dns_cache"] is True and default["independent"] is False
    assert "within the peers' JVM DNS cache" in default["notes"][0]


def test_a_partitions_victims_are_the_side_cut_off() -> None:
    """The runtime names every group of a partition; the trial's victims are the pods
    the nemesis isolated (its marker), or without one the smallest group — not everyone,
    which left no peer to be the new leader and read as "the victim re-elected"."""
    groups = [["zk-2"], ["zk-0", "zk-1"]]
    events = [START, *STEADY,
              rt(0, "fault", fault="partition", groups=groups, t_fault=T),
              role(0.9, "zk-0", "not-serving"), role(1.2, "zk-1", "leader", 2),
              role(1.3, "zk-0", "follower", 2)]  # fmt: skip
    marker = {"t": T, "kind": "trial", "source": "nemesis", "fault": "partition",
              "pods": ["zk-2"], "t_fault": T}  # fmt: skip
    for run in (events, [*events, marker]):
        (trial,) = measure(run, [], [])["trials"]
        assert trial["fault"]["pods"] == ["zk-2"] and trial["new_leader"] == "zk-1"
        assert abs(trial["election_time_s"] - 1.3) < 1e-9 and not trial["victim_re_elected"]
