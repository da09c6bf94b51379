"""The peers' own logs as ground truth, in every format we read, from real log lines.

Lines come from real logs: the Debian package as the local runtime starts it (recorded
here), and published logs of the official image / Bitnami (logback's
`%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n`, as in
bitnami/containers#5586 and 31z4/zookeeper-docker#14) and of Strimzi
(`%d{ISO8601} %p %m (%c) [%t]`, strimzi-kafka-operator#1859). Bitnami's JSON lines follow
its logback EcsEncoder (`@timestamp`, `log.level`, `message`, `process.thread.name`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from peerchaos.measure.groundtruth import log_lanes
from peerchaos.systems.zookeeper.logs import log_state, parse_log, split_line

DEBIAN = """\
# peerchaos: starting at 2026-12-01T09:18:22Z in pcdce8ef-zk-0
2026-12-01T09:18:24.053+0000 [QuorumPeer[myid=1](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper.server.quorum.QuorumPeer - Peer state changed: following
2026-12-01T09:18:24.078+0000 [QuorumPeer[myid=1](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper.server.quorum.Learner - FOLLOWING - LEADER ELECTION TOOK - 363 MS
2026-12-01T09:18:24.083+0000 [QuorumPeer[myid=1](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper.server.quorum.QuorumPeer - Peer state changed: following - discovery
2026-12-01T09:18:24.088+0000 [LeaderConnector-zk-2.zk-hs.default.svc.cluster.local/10.244.0.12:2888] WARN org.apache.zookeeper.server.quorum.Learner - Unexpected exception, tries=0, remaining init limit=4000, connecting to zk-2.zk-hs.default.svc.cluster.local/10.244.0.12:2888
2026-12-01T09:18:24.191+0000 [LeaderConnector-zk-2.zk-hs.default.svc.cluster.local/10.244.0.12:2888] INFO org.apache.zookeeper.server.quorum.Learner - Successfully connected to leader, using address: zk-2.zk-hs.default.svc.cluster.local/10.244.0.12:2888
2026-12-01T09:18:24.201+0000 [QuorumPeer[myid=1](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper.server.quorum.QuorumPeer - Peer state changed: following - synchronization
2026-12-01T09:18:24.300+0000 [QuorumPeer[myid=1](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper.server.quorum.QuorumPeer - Peer state changed: following - broadcast
2026-12-01T09:18:29.246+0000 [QuorumPeer[myid=1](plain=0.0.0.0:2181)(secure=disabled)] WARN org.apache.zookeeper.server.quorum.Learner - Exception when following the leader
2026-12-01T09:18:30.792+0000 [QuorumConnectionThread-[myid=1]-2] WARN org.apache.zookeeper.server.quorum.QuorumCnxManager - Cannot open channel to 2 at election address zk-1.zk-hs.default.svc.cluster.local/10.244.0.11:3888
2026-12-01T09:18:35.015+0000 [LeaderConnector-zk-2.zk-hs.default.svc.cluster.local/10.244.0.12:2888] ERROR org.apache.zookeeper.server.quorum.Learner - Unexpected exception, connectToLeader exceeded. tries=0, remaining init limit=-3, connecting to zk-2.zk-hs.default.svc.cluster.local/10.244.0.12:2888
\tat org.apache.zookeeper.server.quorum.Learner$LeaderConnector.connectToLeader(Learner.java:422)
"""  # noqa: E501


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_the_debian_package_log_gives_states_votes_and_dials() -> None:
    events = parse_log("zk-0", DEBIAN)
    kinds = [e["kind"] for e in events]
    assert kinds == ["process_start", "peer_state", "election_took", "peer_state", "dial",
                     "dial", "peer_state", "peer_state", "lost_leader", "dial", "dial"]  # fmt: skip
    assert events[0]["t"] == epoch("2026-12-01T09:18:22")
    assert events[1]["t"] == pytest.approx(epoch("2026-12-01T09:18:24.053"))
    assert events[2]["took_ms"] == 363 and events[2]["role"] == "following"
    first, connected, election, gave_up = (e for e in events if e["kind"] == "dial")
    assert (first["channel"], first["outcome"], first["ip"], first["port"]) == (
        "leader", "failed", "10.244.0.12", 2888)  # fmt: skip
    assert first["name"] == "zk-2.zk-hs.default.svc.cluster.local"
    assert connected["outcome"] == "connected"
    assert (election["channel"], election["ip"], election["port"]) == (
        "election",
        "10.244.0.11",
        3888,
    )
    assert gave_up["outcome"] == "timeout"


def test_discovery_and_synchronization_are_not_yet_following() -> None:
    states = [log_state(e) for e in parse_log("zk-0", DEBIAN) if e["kind"] == "peer_state"]
    assert states == ["syncing", "syncing", "syncing", "follower"]


@pytest.mark.parametrize(
    ("line", "stamp", "message"),
    [
        # The official image and Bitnami: logback's pattern, no zone (UTC in containers).
        (
            "2023-08-04 11:02:29,556 [myid:1] - INFO  [QuorumPeer[myid=1](plain=disabled)"
            "(secure=disabled):Follower@75] - FOLLOWING - LEADER ELECTION TOOK - 9825 MS",
            "2023-08-04T11:02:29.556",
            "FOLLOWING - LEADER ELECTION TOOK - 9825 MS",
        ),
        (
            "2020-03-25 15:47:53,688 [myid:2] - INFO  [QuorumPeer[myid=2](plain=[0:0:0:0:0:0:"
            "0:0]:2181)(secure=disabled):ZooKeeperServer@1255] - maxSessionTimeout set to 40000",
            "2020-03-25T15:47:53.688",
            "maxSessionTimeout set to 40000",
        ),
        (
            "2017-05-28 13:22:13,329 [myid:1] - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:"
            "Environment@100] - Server environment:java.vendor=Oracle Corporation",
            "2017-05-28T13:22:13.329",
            "Server environment:java.vendor=Oracle Corporation",
        ),
        # Strimzi: message, then (logger) [thread].
        (
            "2019-08-06 20:48:42,652 INFO New election. My id = 1, proposed zxid=0x0 "
            "(org.apache.zookeeper.server.quorum.FastLeaderElection) "
            "[QuorumPeer[myid=1]/0.0.0.0:21810]",
            "2019-08-06T20:48:42.652",
            "New election. My id = 1, proposed zxid=0x0",
        ),
        # Bitnami with ZOO_LOG_FORMAT=json (logback's EcsEncoder).
        (
            '{"@timestamp":"2024-05-02T10:11:12.345Z","log.level": "INFO","message":"Peer state '
            'changed: leading - broadcast","ecs.version": "1.2.0","service.name":"zookeeper",'
            '"process.thread.name":"QuorumPeer[myid=3](plain=disabled)(secure=disabled)",'
            '"log.logger":"org.apache.zookeeper.server.quorum.QuorumPeer"}',
            "2024-05-02T10:11:12.345",
            "Peer state changed: leading - broadcast",
        ),
    ],
)
def test_each_format_gives_the_time_and_the_message(line: str, stamp: str, message: str) -> None:
    parsed = split_line(line)
    assert parsed is not None
    assert parsed[0] == pytest.approx(epoch(stamp)) and parsed[1] == message


def test_a_logback_log_gives_the_same_ground_truth() -> None:
    text = "\n".join(
        [
            "2024-05-02 10:11:11,000 [myid:3] - INFO  [QuorumPeer[myid=3](plain=disabled)"
            "(secure=disabled):QuorumPeer@1480] - Peer state changed: leading",
            "2024-05-02 10:11:11,120 [myid:3] - INFO  [QuorumPeer[myid=3](plain=disabled)"
            "(secure=disabled):Leader@584] - LEADING - LEADER ELECTION TOOK - 120 MS",
            "2024-05-02 10:11:11,400 [myid:3] - INFO  [QuorumPeer[myid=3](plain=disabled)"
            "(secure=disabled):QuorumPeer@1480] - Peer state changed: leading - broadcast",
        ]
    )
    events = parse_log("zk-2", text)
    assert [(e["kind"], e.get("phase")) for e in events] == [
        ("peer_state", None), ("election_took", None), ("peer_state", "broadcast")]  # fmt: skip
    assert events[2]["t"] == pytest.approx(epoch("2024-05-02T10:11:11.400"))


def test_before_3_6_the_bare_state_lines_are_the_states() -> None:
    text = (
        "2014-05-06 13:35:32,214 [myid:1] - INFO  [QuorumPeer[myid=1]/0.0.0.0:2181:"
        "QuorumPeer@670] - LOOKING\n"
        "2014-05-06 13:35:33,001 [myid:1] - INFO  [QuorumPeer[myid=1]/0.0.0.0:2181:"
        "QuorumPeer@750] - FOLLOWING\n"
    )
    events = parse_log("zk-0", text)
    assert [e["state"] for e in events] == ["looking", "following"]
    assert log_state(events[1]) == "follower"  # when syncing ended is not logged


def test_log_lanes_end_a_state_at_the_kill_and_start_at_the_process_start() -> None:
    truth = [e for e in parse_log("zk-0", DEBIAN) if e["kind"] == "peer_state"]
    t_kill = epoch("2026-12-01T09:18:26")
    runtime = [
        {"t": t_kill, "kind": "pod_exited", "pod": "zk-0", "source": "runtime"},
        {"t": t_kill + 0.5, "kind": "pod_started", "pod": "zk-0", "source": "runtime"},
    ]
    lane = log_lanes(truth, runtime)["zk-0"]
    assert [state for _, state in lane] == ["syncing", "follower", "down", "starting"]
