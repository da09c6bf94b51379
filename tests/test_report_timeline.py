"""The report's figures checked through the data they are drawn from, not through pixels.

Real run directories (trimmed copies under tests/data/report/) and small synthetic event
lists: one fault band per fault, one lane per peer, one lane per DNS probe and name,
throughput bins that add up to the completed ops.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from peerchaos.report import clientops, distributions
from peerchaos.report.build import zoom_windows
from peerchaos.report.dnslanes import answer_segments, dead_ip_changes
from peerchaos.report.evidence import load
from peerchaos.report.plots import TimelineFigure
from peerchaos.report.segments import Segment
from peerchaos.report.timeline import build_timeline
from peerchaos.rundir import RunDir

DATA = Path(__file__).parent / "data" / "report"
KILL = DATA / "zk-leader-kill" / "20261126T215121Z-e0cb"
PAUSE = DATA / "zk-leader-pause" / "20261126T215413Z-15fa"


def states(segments: list[Segment]) -> list[str]:
    return [s.state for s in segments]


def covering(segments: list[Segment], t: float) -> str | None:
    return next((s.state for s in segments if s.start <= t < s.end), None)


@pytest.fixture(scope="module")
def kill_run() -> Any:
    evidence = load(RunDir(KILL))
    return evidence, build_timeline(evidence.events, evidence.truth, evidence.trials)


def test_leader_kill_has_one_band_per_fault_and_one_lane_per_peer(kill_run: Any) -> None:
    evidence, timeline = kill_run
    faults = [e for e in evidence.events if e["kind"] == "fault"]
    assert len(faults) == 5
    assert len(timeline.bands) == len(faults)
    assert [b.target for b in timeline.bands] == [f["pod"] for f in faults]
    # A killed peer has no heal: its band ends when the StatefulSet's new pod is ready.
    assert {b.ended_by for b in timeline.bands} == {"ready"}
    assert all(b.end > b.start for b in timeline.bands)
    assert [lane.pod for lane in timeline.peers] == ["zk-0", "zk-1", "zk-2"]


def test_dns_lanes_are_one_per_probe_and_name(kill_run: Any) -> None:
    evidence, timeline = kill_run
    pairs = {(e["probe"], e["name"]) for e in evidence.events if e["kind"] == "dns"}
    assert len(pairs) == 2 * 5  # two probes, five names
    assert {(lane.probe, lane.name) for lane in timeline.dns} == pairs
    assert len(timeline.dns) == len(pairs)
    assert all(lane.raw and lane.cached for lane in timeline.dns)


def test_a_killed_leader_restarts_and_cached_answers_go_stale(kill_run: Any) -> None:
    _, timeline = kill_run
    first = timeline.bands[0]
    victim = next(lane for lane in timeline.peers if lane.pod == first.target)
    assert covering(victim.segments, first.start - 0.05) == "leader"
    assert covering(victim.segments, first.start + 0.3) == "restarting"
    headless = next(
        lane for lane in timeline.dns if lane.name.startswith("zk-hs.") and lane.probe == "p0"
    )
    # The cache keeps the dead leader's address for the TTL (5 s) after the kill.
    assert covering(headless.cached, first.start + 1.0) == "stale"
    assert covering(headless.raw, first.start + 1.0) == "current"
    pod_name = next(
        lane
        for lane in timeline.dns
        if lane.name.startswith(first.target + ".") and lane.probe == "p0"
    )
    assert "nxdomain" in states(pod_name.raw)


def test_election_marks_follow_the_summary(kill_run: Any) -> None:
    evidence, timeline = kill_run
    elections = [m for m in timeline.marks if m.kind == "election"]
    expected = [t for t in evidence.trials if t["election_time_s"] is not None]
    assert len(elections) == len(expected)
    assert elections[0].t == pytest.approx(expected[0]["t_fault"] + expected[0]["election_time_s"])
    assert elections[0].label == f"leader {expected[0]['new_leader']}"


def test_pause_bands_end_at_their_heal_and_show_paused_and_unready() -> None:
    evidence = load(RunDir(PAUSE))
    timeline = build_timeline(evidence.events, evidence.truth, evidence.trials)
    assert timeline is not None
    faults = [e for e in evidence.events if e["kind"] == "fault"]
    assert len(timeline.bands) == len(faults) == 2
    assert [b.ended_by for b in timeline.bands] == ["heal", "heal"]
    for band in timeline.bands:
        lane = next(lane for lane in timeline.peers if lane.pod == band.target)
        assert covering(lane.segments, (band.start + band.end) / 2) == "paused"
        assert lane.unready, f"{band.target} was taken out of the endpoints while paused"


def test_one_zoom_panel_per_trial_from_just_before_its_fault_to_the_next(kill_run: Any) -> None:
    evidence, timeline = kill_run
    windows = zoom_windows(timeline, evidence.trials)
    assert [i for i, _, _ in windows] == [1, 2, 3, 4, 5]
    for (_, start, end), trial, band in zip(windows, evidence.trials, timeline.bands, strict=True):
        assert start == pytest.approx(max(band.start - 1.0, timeline.start))
        assert end == pytest.approx(trial["until"])
    # The zoom panels re-frame the overview: each names only the fault it starts with.
    figure = TimelineFigure(
        timeline, clientops.completed_ops(evidence.history), timeline.start, "overview"
    )
    assert sum(label.get_visible() for _, label in figure.band_labels) == 5
    for i, start, end in windows:
        figure.zoom(start, end, f"trial {i}")
        shown = [label.get_text() for _, label in figure.band_labels if label.get_visible()]
        assert shown == [f"kill {timeline.bands[i - 1].target}"]
        assert figure.axes[0].get_xlim() == pytest.approx(
            (start - timeline.start, end - timeline.start)
        )


def synthetic_events() -> list[dict[str, Any]]:
    hs = "zk-hs.default.svc.cluster.local"
    ips = ["10.0.0.10", "10.0.0.11", "10.0.0.12"]

    def dns(t: float, view: str, rcode: str, addresses: list[str]) -> dict[str, Any]:
        return {
            "t": t,
            "source": "dns-probe-p0",
            "kind": "dns",
            "probe": "p0",
            "view": view,
            "name": hs,
            "rcode": rcode,
            "addresses": addresses,
        }

    return [
        {"t": 0.0, "source": "observers", "kind": "observe_start"},
        dns(1.0, "raw", "NOERROR", ips),
        dns(1.0, "cached", "NOERROR", ips),
        {
            "t": 10.0,
            "source": "runtime",
            "kind": "fault",
            "fault": "kill",
            "pod": "zk-0",
            "ip": ips[0],
            "t_fault": 10.0,
        },
        {"t": 10.2, "source": "runtime", "kind": "pod_exited", "pod": "zk-0", "ip": ips[0]},
        dns(10.3, "raw", "NOERROR", ips[1:]),
        dns(10.6, "raw", "SERVFAIL", []),
        dns(10.8, "raw", "NXDOMAIN", []),
        {"t": 11.0, "source": "runtime", "kind": "pod_started", "pod": "zk-0", "ip": "10.0.0.13"},
        dns(11.5, "raw", "NOERROR", [*ips[1:], "10.0.0.13"]),
        dns(15.0, "cached", "NOERROR", [*ips[1:], "10.0.0.13"]),
        {"t": 20.0, "source": "observers", "kind": "observe_stop"},
    ]


def test_answers_turn_stale_when_their_pod_dies_without_a_new_answer() -> None:
    events = synthetic_events()
    deaths = dead_ip_changes(events)
    cached = [e for e in events if e["kind"] == "dns" and e["view"] == "cached"]
    raw = [e for e in events if e["kind"] == "dns" and e["view"] == "raw"]
    assert answer_segments(cached, deaths, 20.0) == [
        Segment(1.0, 10.0, "current"),
        Segment(10.0, 15.0, "stale"),
        Segment(15.0, 20.0, "current"),
    ]
    assert states(answer_segments(raw, deaths, 20.0)) == [
        "current",
        "stale",
        "current",
        "error",
        "nxdomain",
        "current",
    ]


def test_synthetic_timeline_has_no_peer_lanes_without_peers_but_one_band() -> None:
    timeline = build_timeline(synthetic_events(), [], [])
    assert timeline is not None
    assert len(timeline.bands) == 1 and timeline.bands[0].ended_by == "end"
    assert [lane.pod for lane in timeline.peers] == ["zk-0"]
    assert len(timeline.dns) == 1
    assert (timeline.start, timeline.end) == (0.0, 20.0)
    assert build_timeline([], [], []) is None


def test_throughput_bins_add_up_to_the_completed_ops() -> None:
    history = []
    for i in range(50):
        start = 100.0 + i * 0.05
        outcome = "ok" if i % 10 else ("info" if i % 20 else "fail")
        history.append(
            {"type": "invoke", "f": "write", "process": "w0", "time": start, "mono": start}
        )
        history.append(
            {
                "type": outcome,
                "f": "write",
                "process": "w0",
                "time": start + 0.01,
                "mono": start + 0.01,
            }
        )
    history.append({"type": "invoke", "f": "read", "process": "w1", "time": 101.0, "mono": 101.0})
    ops = clientops.completed_ops(history)
    assert len(ops) == 50 and ops.unfinished == 1
    assert clientops.counts(ops) == {"ok": 45, "fail": 3, "info": 2, "unfinished": 1}
    rate = clientops.throughput(ops, 100.0, 102.5)
    assert rate.bins == math.ceil(2.5 / 0.1) == 25
    assert len(rate.edges()) == 26
    assert sum(int(c.sum()) for c in rate.counts.values()) == 50
    assert int(rate.counts["ok"][:10].sum()) == 20 - 2  # ops 0 and 10 of the first second fail
    assert ops.latency_s == pytest.approx([0.01] * 50)


def test_client_ops_of_the_fixture_pair_invokes_and_completions(kill_run: Any) -> None:
    evidence, timeline = kill_run
    ops = clientops.completed_ops(evidence.history)
    completions = [op for op in evidence.history if op["type"] != "invoke"]
    # Every completion has its invoke in the trimmed fixture (pairs were kept whole).
    assert len(ops) == len(completions)
    rate = clientops.throughput(ops, timeline.start, timeline.end)
    inside = ((ops.t >= timeline.start) & (ops.t <= timeline.end)).sum()
    assert sum(int(c.sum()) for c in rate.counts.values()) == inside


def test_distributions_hold_every_observed_trial_and_the_summary_percentiles(
    kill_run: Any,
) -> None:
    evidence, _ = kill_run
    strips = {s.label: s for s in distributions.strips(evidence.trials)}
    election = strips["election (probes)"]
    assert election.n == len(evidence.trials) == 5
    assert election.p50 is not None and election.p95 is not None
    assert election.p50.s == pytest.approx(evidence.summary["metrics"]["election_time_s"]["p50"])
    assert election.p95.s == pytest.approx(evidence.summary["metrics"]["election_time_s"]["p95"])
    dns = strips["DNS convergence (cached)"]
    assert dns.n == evidence.summary["metrics"]["dns_convergence_cached_s"]["n"]
    assert strips["leader serving (peer logs)"].truth
    assert not distributions.drawable(distributions.strips([]))


STALE = DATA / "zk-leader-kill-stale" / "20261201T093939Z-d5f3"


@pytest.fixture(scope="module")
def stale_run() -> Any:
    evidence = load(RunDir(STALE))
    timeline = build_timeline(evidence.events, evidence.truth, evidence.trials, evidence.replicas)
    return evidence, timeline


@pytest.mark.parametrize("run", [KILL, PAUSE, STALE], ids=lambda p: p.parent.name)
def test_zero_tolerance_spans_add_up_to_each_trials_figure(run: Path) -> None:
    evidence = load(RunDir(run))
    timeline = build_timeline(evidence.events, evidence.truth, evidence.trials, evidence.replicas)
    assert timeline is not None and timeline.bare_majority == 2  # 3 replicas
    for trial in evidence.trials:
        start, until = trial["t_fault"], trial["until"]
        inside = sum(
            min(s.end, until) - max(s.start, start)
            for s in timeline.zero_tolerance
            if s.end > start and s.start < until
        )
        assert inside == pytest.approx(trial["zero_tolerance_s"], abs=1e-6)
    assert all(s.state == "zero-tolerance" for s in timeline.zero_tolerance)


def test_full_redundancy_is_marked_where_every_peer_served_again(stale_run: Any) -> None:
    evidence, timeline = stale_run
    marks = [m for m in timeline.marks if m.kind == "redundancy"]
    assert [m.t for m in marks] == pytest.approx(
        [t["t_fault"] + t["full_redundancy_s"] for t in evidence.trials]
    )
    second = evidence.trials[1]
    # The stall of trial 2: zero tolerance from the fault until full redundancy.
    span = next(s for s in timeline.zero_tolerance if s.start <= second["t_fault"] + 1 < s.end)
    assert span.end == pytest.approx(second["t_fault"] + second["full_redundancy_s"])


def test_the_own_log_lane_shows_a_peer_that_is_not_yet_following_as_syncing(
    stale_run: Any,
) -> None:
    evidence, timeline = stale_run
    lanes = {lane.pod: lane for lane in timeline.peers}
    second = evidence.trials[1]
    t_fault = second["t_fault"]
    # zk-0 dialled the dead address in `following - discovery` for most of the trial.
    discovery = [
        e["t"]
        for e in evidence.truth
        if e["pod"] == "zk-0"
        and e["kind"] == "peer_state"
        and e["state"] == "following"
        and e.get("phase") == "discovery"
        and t_fault < e["t"] < t_fault + second["full_redundancy_s"]
    ]
    assert discovery
    for t in discovery:
        assert covering(lanes["zk-0"].log, t + 0.001) == "syncing"
        assert covering(lanes["zk-0"].segments, t + 0.001) != "follower"
    # The killed victim: down from its process exit, starting from the runtime's start.
    victim = second["fault"]["pod"]
    exited = next(
        e["t"]
        for e in evidence.events
        if e["kind"] == "pod_exited" and e.get("pod") == victim and e["t"] >= t_fault
    )
    started = next(
        e["t"]
        for e in evidence.events
        if e["kind"] == "pod_started" and e.get("pod") == victim and e["t"] > exited
    )
    assert covering(lanes[victim].log, exited + 0.001) == "down"
    assert covering(lanes[victim].log, started + 0.001) == "starting"


def test_probe_gaps_are_kept_for_the_lanes(stale_run: Any) -> None:
    evidence, timeline = stale_run
    recorded = [e for e in evidence.events if e["kind"] == "probe_gap"]
    assert recorded and len(timeline.gaps) == len(recorded)
    assert [(g.probe, g.pod, g.start) for g in timeline.gaps] == [
        (e["probe"].removeprefix("dns-"), e.get("pod"), e["start"]) for e in recorded
    ]


def test_distributions_draw_censored_values_as_bounds_and_the_truth_beside(
    stale_run: Any,
) -> None:
    evidence, _ = stale_run
    metrics = evidence.summary["metrics"]
    strips = {s.label: s for s in distributions.strips(evidence.trials)}
    assert not any("ELECTION TOOK" in label for label in strips)  # a peer's vote, no strip
    cached = strips["DNS convergence (cached)"]
    assert cached.n == metrics["dns_convergence_cached_s"]["n"]
    assert len(cached.censored) == metrics["dns_convergence_cached_s"]["n_censored"] > 0
    assert cached.p95 is not None and cached.p95.censored
    assert cached.p95.at_least == pytest.approx(metrics["dns_convergence_cached_s"]["p95_at_least"])
    for label, key in (
        ("full redundancy (probes)", "full_redundancy_s"),
        ("zero tolerance", "zero_tolerance_s"),
        ("client unavailability", "client_unavailability_s"),
        ("every peer serving (peer logs)", "ground_truth_full_redundancy_s"),
        ("leader serving (peer logs)", "ground_truth_leader_serving_s"),
    ):
        strip = strips[label]
        assert strip.n == metrics[key]["n"], label
        assert strip.p95 is not None and strip.p95.s == pytest.approx(metrics[key]["p95"])
    truth = strips["name's truth changed (runtime)"]
    assert truth.truth and sorted(truth.reached) == pytest.approx(
        sorted(v for t in evidence.trials for v in t["ground_truth"]["dns_truth_s"].values())
    )
    assert strips["DNS convergence (raw)"].censored == []
