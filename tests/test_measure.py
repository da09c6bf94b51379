"""Measurements from crafted timelines: each figure follows its definition."""

from __future__ import annotations

from peerchaos.measure import (
    distribution,
    dns_convergence,
    election_time,
    first_ack_after,
    measure,
)
from peerchaos.zookeeper.logs import parse_log

T = 1000.0


def role(t: float, pod: str, mode: str, epoch: int | None = None) -> dict:
    return {"t": T + t, "kind": "role", "pod": pod, "mode": mode, "epoch": epoch}


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
    result = election_time(roles, T, victim="zk-1")
    assert result["leader"] == "zk-2" and result["epoch"] == 2
    assert abs(result["s"] - 0.6) < 1e-9


def test_old_leader_coming_back_is_not_a_new_leader() -> None:
    roles = [
        role(-1, "zk-0", "leader", 3),
        role(-1, "zk-1", "follower", 3),
        role(-1, "zk-2", "follower", 3),
        role(0.3, "zk-0", "leader", 3),  # same epoch: nothing happened
    ]
    assert election_time(roles, T, victim=None)["s"] is None


def test_a_victim_winning_the_new_epoch_itself_is_marked_not_timed() -> None:
    events = [
        {"t": T - 2, "kind": "observe_start", "source": "observers"},
        role(-1, "zk-0", "follower", 1),
        role(-1, "zk-1", "follower", 1),
        role(-1, "zk-2", "leader", 1),
        role(0.05, "zk-2", "unreachable"),
        role(0.9, "zk-2", "leader", 2),  # back, and elected again
        role(0.95, "zk-0", "follower", 1),
        {"t": T, "t_fault": T, "kind": "fault", "fault": "kill", "pod": "zk-2"},
    ]
    (trial,) = measure(events, [], [])["trials"]
    assert trial["election_time_s"] is None and trial["victim_re_elected"] is True
    # Without the victim's comeback nobody leads: that is a trial that never recovered.
    never = [e for e in events if not (e.get("pod") == "zk-2" and e.get("epoch") == 2)]
    (stuck,) = measure(never, [], [])["trials"]
    assert stuck["election_time_s"] is None and stuck["victim_re_elected"] is False


def test_a_leader_after_the_next_fault_belongs_to_the_next_trial() -> None:
    """Seen in a real run: the killed leader won again, and the next trial's election
    (13 s later) was counted as this trial's."""
    kill = {"kind": "fault", "fault": "kill", "source": "runtime"}
    events = [
        {"t": T - 2, "kind": "observe_start", "source": "observers"},
        role(-1, "zk-0", "follower", 2),
        role(-1, "zk-1", "leader", 2),
        role(-1, "zk-2", "follower", 2),
        {**kill, "t": T, "t_fault": T, "pod": "zk-1"},
        role(1.8, "zk-1", "leader", 3),  # the victim, back and elected again
        role(1.9, "zk-0", "follower", 3),
        {**kill, "t": T + 13.4, "t_fault": T + 13.4, "pod": "zk-1"},
        role(14.0, "zk-2", "leader", 4),
        role(14.1, "zk-0", "follower", 4),
    ]
    first, second = measure(events, [], [])["trials"]
    assert first["election_time_s"] is None and first["victim_re_elected"] is True
    assert second["new_leader"] == "zk-2" and abs(second["election_time_s"] - 0.6) < 1e-6


def op(kind: str, f: str, t: float, process: str = "w0") -> dict:
    return {"type": kind, "f": f, "key": "k", "process": process, "time": T + t, "mono": t}


def test_write_recovery_counts_only_writes_invoked_after_the_fault() -> None:
    history = [
        op("invoke", "write", -0.5),
        op("ok", "write", 0.8),  # invoked before the fault: does not count
        op("invoke", "read", 0.1, "w1"),
        op("info", "read", 2.1, "w1"),
        op("invoke", "cas", 0.9),
        op("ok", "cas", 1.2),
    ]
    assert abs(first_ack_after(history, T, ("write", "cas")) - 1.2) < 1e-9
    assert first_ack_after(history, T, ("read",)) is None


def answer(t: float, addresses: list[str], rcode: str = "NOERROR") -> dict:
    return {"t": T + t, "rcode": rcode, "addresses": addresses}


def test_dns_convergence_stale_window_and_nxdomain() -> None:
    answers = [
        answer(-5, ["10.0.0.1", "10.0.0.2"]),
        answer(0.05, ["10.0.0.2"]),  # the dead pod's endpoint went
        answer(0.6, [], "NXDOMAIN"),
        answer(0.9, ["10.0.0.2", "10.0.0.3"]),  # back with a new IP
    ]
    result = dns_convergence(answers, T, T + 10, dead_ips={"10.0.0.1"})
    assert abs(result["convergence_s"] - 0.9) < 1e-9
    assert abs(result["stale_window_s"] - 0.05) < 1e-9
    assert abs(result["nxdomain_s"] - 0.3) < 1e-9
    assert result["final"]["addresses"] == ["10.0.0.2", "10.0.0.3"]


def test_a_name_the_fault_never_touched_converges_at_once() -> None:
    result = dns_convergence([answer(-3, ["10.96.0.20"])], T, T + 5, dead_ips={"10.0.0.1"})
    assert result["convergence_s"] == 0.0 and result["stale_window_s"] == 0.0


def test_flapping_answer_converges_at_its_last_change() -> None:
    answers = [answer(-1, ["a"]), answer(0.1, ["b"]), answer(0.2, ["a"]), answer(0.4, ["b"])]
    assert abs(dns_convergence(answers, T, T + 5, set())["convergence_s"] - 0.4) < 1e-9


def test_distribution_nearest_rank() -> None:
    dist = distribution([0.3, None, 0.1, 0.2, 0.4])
    assert dist == {"n": 4, "p50": 0.25, "p95": 0.4, "max": 0.4}
    assert distribution([None])["n"] == 0


LOG = """\
# peerchaos: starting at 2026-11-26T21:38:44Z in pcx-zk-2
2026-11-26T21:38:47.684+0000 [QuorumPeer[myid=3](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper.server.quorum.QuorumPeer - Peer state changed: leading
2026-11-26T21:38:47.695+0000 [QuorumPeer[myid=3](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper.server.quorum.Leader - LEADING - LEADER ELECTION TOOK - 234 MS
2026-11-26T21:38:47.829+0000 [QuorumPeer[myid=3](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper.server.quorum.QuorumPeer - Peer state changed: leading - broadcast
"""  # noqa: E501


def test_ground_truth_from_a_server_log() -> None:
    events = parse_log("zk-2", LOG)
    kinds = [(e["kind"], e.get("state"), e.get("phase")) for e in events]
    assert kinds == [
        ("process_start", None, None),
        ("peer_state", "leading", None),
        ("election_took", None, None),
        ("peer_state", "leading", "broadcast"),
    ]
    assert events[2]["took_ms"] == 234
    assert abs(events[3]["t"] - 1795729127.829) < 1e-3


def test_measure_reports_each_trial_beside_ground_truth() -> None:
    events = [
        {"t": T - 2, "kind": "observe_start", "source": "observers"},
        *[
            {**r, "source": "role-probe"}
            for r in [
                role(-1, "zk-0", "leader", 1),
                role(-1, "zk-1", "follower", 1),
                role(-1, "zk-2", "follower", 1),
                role(0.05, "zk-0", "unreachable"),
                role(0.41, "zk-1", "leader", 2),
            ]
        ],
        {
            "t": T,
            "t_fault": T,
            "kind": "fault",
            "fault": "kill",
            "pod": "zk-0",
            "source": "runtime",
        },
        {
            "t": T + 0.001,
            "kind": "pod_exited",
            "pod": "zk-0",
            "ip": "10.0.0.1",
            "source": "runtime",
        },
    ]
    truth = [
        {
            "t": T + 0.4,
            "pod": "zk-1",
            "kind": "peer_state",
            "state": "leading",
            "phase": "broadcast",
        }
    ]
    history = [op("invoke", "write", 0.2), op("ok", "write", 0.5)]
    result = measure(events, history, truth)
    (trial,) = result["trials"]
    assert trial["observed"] and trial["new_leader"] == "zk-1"
    assert abs(trial["election_time_s"] - 0.41) < 1e-9
    assert abs(trial["ground_truth"]["leader_serving_s"] - 0.4) < 1e-9
    assert abs(trial["ground_truth"]["election_time_error_s"] - 0.01) < 1e-9
    assert abs(trial["write_recovery_s"] - 0.5) < 1e-9
    assert result["metrics"]["election_time_s"]["n"] == 1
