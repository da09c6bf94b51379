"""What held an etcd election up, named from the members' own logs.

- `election_timeout`: no member campaigned before its election timeout ran out — Raft
  waits for a missed heartbeat for a randomised 1x-2x `election_timeout_ms` before a
  follower starts an election; the first `is starting a new election` after the fault;
- `split_vote`: two or more members campaigned in the same term and none won it, so
  each waited out another randomised timeout;
- `candidate_log_behind`: a member refused a candidate's vote request because the
  candidate's log was behind its own (Raft elects only a candidate with the newest log),
  so the election waited for another candidate's timeout;
- `lease_not_expired`: a member ignored a candidate because it had heard from a leader
  within the election timeout (etcd's check-quorum lease);
- `disruptive_rejoin`: a leader stepped down to a higher term a rejoining member brought
  (a partitioned member's term grows while it campaigns alone; pre-vote, off in etcd
  3.4, prevents this);
- `waited_for_victim` (shared): the new quorum formed only once the killed member was
  back.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure.dnstruth import Truth
from peerchaos.systems.quorum import waited_for_victim


def _campaigns(events: list[dict[str, Any]], t_fault: float, until: float) -> list[dict]:
    return [e for e in events if e["kind"] == "campaign" and t_fault < e["t"] <= until]


def election_timeout(
    events: list[dict[str, Any]], t_fault: float, until: float, spec: dict[str, Any]
) -> list[dict[str, Any]]:
    campaigns = _campaigns(events, t_fault, until)
    if not campaigns:
        return []
    first = campaigns[0]
    timeout = spec.get("election_timeout_ms", 1000)
    heartbeat = spec.get("heartbeat_interval_ms", 100)
    waited = first["t"] - t_fault
    return [
        {
            "kind": "election_timeout",
            "peer": first["pod"],
            "term": first["term"],
            "at_s": waited,
            "election_timeout_ms": timeout,
            "text": (
                f"{first['pod']} was the first to campaign, {waited:.2f} s after the fault: "
                f"a follower waits out its election timeout ({timeout} ms, randomised up to "
                f"2x; heartbeat {heartbeat} ms) before it starts an election"
            ),
        }
    ]


def split_votes(
    events: list[dict[str, Any]], t_fault: float, until: float, spec: dict[str, Any]
) -> list[dict[str, Any]]:
    """Members campaigning for the same term within one election timeout of each other,
    and nobody winning that term (a lone member campaigning behind a partition, seconds
    apart from the others, is no split)."""
    won = {e["term"] for e in events if e["kind"] == "peer_state" and e["state"] == "leader"}
    within = spec.get("election_timeout_ms", 1000) / 1000.0
    by_term: dict[int, list[dict[str, Any]]] = {}
    for e in _campaigns(events, t_fault, until):
        by_term.setdefault(e["term"] + 1, []).append(e)  # at term N it runs for N+1
    found = []
    for term, campaigns in sorted(by_term.items()):
        if term in won:
            continue
        first = campaigns[0]
        together = [c["pod"] for c in campaigns if c["t"] - first["t"] <= within]
        pods = list(dict.fromkeys(together))
        if len(pods) < 2:
            continue
        found.append(
            {
                "kind": "split_vote",
                "term": term,
                "peers": pods,
                "at_s": first["t"] - t_fault,
                "text": (
                    f"the vote split at term {term}: {', '.join(pods)} campaigned at once "
                    f"({first['t'] - t_fault:.2f} s after the fault) and none won a "
                    "majority, so each waited out another randomised election timeout"
                ),
            }
        )
    return found


def _members(events: list[dict[str, Any]]) -> dict[str, str]:
    """Member id (hex) -> pod, from each log's `starting/restarting local member`."""
    return {e["member"]: e["pod"] for e in events if e["kind"] == "member_id" and e.get("member")}


def refused_votes(events: list[dict[str, Any]], t_fault: float, until: float) -> list[dict]:
    members = _members(events)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for e in events:
        if (
            e["kind"] == "vote_refused"
            and e["why"] in ("log", "lease")
            and t_fault < e["t"] <= until
        ):
            candidate = members.get(e["candidate"], e["candidate"])
            groups.setdefault((e["why"], e["pod"], candidate), []).append(e)
    found = []
    for (why, voter, candidate), refusals in sorted(groups.items(), key=lambda g: g[1][0]["t"]):
        terms = ", ".join(str(e["term"]) for e in refusals)
        first = refusals[0]
        at_s = first["t"] - t_fault
        if why == "log":
            (c_term, c_index), (v_term, v_index) = first["candidate_log"], first["log"]
            text = (
                f"{voter} refused {candidate}'s vote request (at term {terms}, first "
                f"{at_s:.2f} s after the fault): {candidate}'s log (term {c_term}, index "
                f"{c_index}) was behind its own (term {v_term}, index {v_index}); Raft elects "
                "only a candidate with the newest log, so the election waited for another "
                "candidate's timeout"
            )
            kind = "candidate_log_behind"
        else:
            text = (
                f"{voter} ignored {candidate}'s vote request (at term {terms}, {at_s:.2f} s "
                "after the fault): it had heard from a leader within the election timeout "
                "(check-quorum's lease)"
            )
            kind = "lease_not_expired"
        found.append(
            {
                "kind": kind,
                "peer": voter,
                "candidate": candidate,
                "terms": [e["term"] for e in refusals],
                "at_s": at_s,
                "text": text,
            }
        )
    return found


def disruptive_rejoins(
    events: list[dict[str, Any]], t_fault: float, until: float, victims: list[str]
) -> list[dict[str, Any]]:
    """A leader stepping down to a higher term that a victim brought back campaigning."""
    found = []
    leading: dict[str, int] = {}  # pod -> the term it leads
    for e in events:
        if e["kind"] != "peer_state" or e["t"] > until:
            continue
        pod = e["pod"]
        if e["state"] == "leader":
            leading[pod] = e["term"]
            continue
        led = leading.pop(pod, None)
        if led is None or e["t"] <= t_fault or e["term"] <= led:
            continue
        rejoined = [
            c
            for c in events
            if c["kind"] == "campaign"
            and c["pod"] in victims
            and c["pod"] != pod
            and c["term"] + 1 >= e["term"]
            and c["t"] <= e["t"]
        ]
        if not rejoined:
            continue
        who = rejoined[-1]["pod"]
        found.append(
            {
                "kind": "disruptive_rejoin",
                "peer": pod,
                "by": who,
                "term": e["term"],
                "at_s": e["t"] - t_fault,
                "text": (
                    f"the leader {pod} stepped down at term {e['term']}, "
                    f"{e['t'] - t_fault:.2f} s after the fault: {who} came back with the "
                    "higher term it reached campaigning alone (pre-vote is off)"
                ),
            }
        )
    return found


def trial_causes(
    truth_events: list[dict[str, Any]],
    truth: Truth | None,
    t_fault: float,
    until: float,
    spec: dict[str, Any],
    elected: dict[str, Any],
    victims: list[str],
    replicas: int,
    re_elected: bool,
    runtime_events: list[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    found = election_timeout(truth_events, t_fault, until, spec)
    found += split_votes(truth_events, t_fault, until, spec)
    found += refused_votes(truth_events, t_fault, until)
    if not spec.get("pre_vote"):
        found += disruptive_rejoins(truth_events, t_fault, until, victims)
    found += waited_for_victim(elected, victims, replicas, re_elected)
    return found
