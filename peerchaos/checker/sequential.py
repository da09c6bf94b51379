"""Sequential consistency of reads per client — ZooKeeper's "single system image".

Per client and key: (a) no read returns a value older than one the client already read
or wrote, across reconnects; (b) a client's acked write is visible to its later reads
unless superseded. "Older" is judged two ways:

- by znode `version`, where ops carry it: a client's versions never decrease (a write's
  version is the one it created);
- by value, always: the writes of a key happen in one total order (ZooKeeper's writes are
  linearizable), which must put (1) the absent initial value first, (2) a write that
  completed before another was invoked before it, (3) each cas's expected value before
  its new one, and (4) the values each client saw, in the order it saw them. Those are
  edges of a graph on values; a cycle means no write order explains what the clients
  saw — a violation, reported with the ops that forced each edge. An acyclic graph is an
  order that does, so the check passes without guessing between concurrent writes.

A key whose values cannot be placed — a read of a value no write produced, or two writes
of the same value — is "unknown" rather than a pass.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from peerchaos.checker.result import MAX_REPORTED, CheckResult, worst
from peerchaos.history import Call, Op, calls, iter_keys

NAME = "sequential"


def check(history: Iterable[Op]) -> CheckResult:
    """Monotonic reads and read-your-writes, per client, for every key."""
    verdicts: list[Any] = []
    violations: list[dict[str, Any]] = []
    unknown: dict[str, str] = {}
    for key, cs in iter_keys(calls(history)):
        found = _version_regressions(key, cs)
        verdict, info = _value_order(key, cs)
        if verdict is False:
            found.append(info)
        elif verdict == "unknown" and not found:
            unknown[key] = info["reason"]
        verdicts.append(False if found else verdict)
        violations.extend(found)
    details = {
        "keys": len(verdicts),
        "violation_count": len(violations),
        "violations": violations[:MAX_REPORTED],
        "unknown_keys": dict(list(unknown.items())[:MAX_REPORTED]),
    }
    return CheckResult(NAME, worst(verdicts), details)


def _observations(cs: list[Call]) -> dict[Any, list[tuple[Any, Call]]]:
    """Per client, in its own order: the (value, call) pairs it saw or wrote successfully."""
    seen: dict[Any, list[tuple[Any, Call]]] = {}
    for c in cs:
        if c.outcome != "ok":
            continue
        out = seen.setdefault(c.process, [])
        if c.f == "read":
            out.append((c.read, c))
        elif c.f == "cas":
            out.append((c.invoke.value[0], c))  # it saw the expected value, then wrote
            out.append((c.written, c))
        else:
            out.append((c.written, c))
    return seen


def _version_regressions(key: str, cs: list[Call]) -> list[dict[str, Any]]:
    """Ops whose znode version is below one the same client already saw on the key."""
    found = []
    for process, seen in _observations(cs).items():
        high, high_call = -1, None
        for value, c in seen:
            # An absent node has no stat; it precedes every version.
            version = -1 if c.f == "read" and value is None else c.version
            if version is None:
                continue
            if version < high and high_call is not None:
                found.append(
                    {
                        "key": key,
                        "process": process,
                        "kind": "version went back",
                        "ops": [high_call.describe(), c.describe()],
                    }
                )
            elif version >= high:
                high, high_call = version, c
    return found


def _value_order(key: str, cs: list[Call]) -> tuple[bool | str, dict[str, Any] | None]:
    """Build the write-order graph for one key and look for a cycle (see the docstring)."""
    writes = [c for c in cs if c.f in ("write", "cas") and c.outcome != "fail"]
    node_of: dict[Any, int] = {None: 0}
    for w in writes:
        if w.written in node_of:
            return "unknown", {"reason": f"two writes wrote {w.written!r}"}
        node_of[w.written] = len(node_of)
    edges: dict[int, dict[int, tuple[str, list[Call]]]] = {}

    def edge(a: int, b: int, why: str, ops: list[Call]) -> None:
        if a != b:
            edges.setdefault(a, {}).setdefault(b, (why, ops))

    # (1) The initial value comes first.
    for w in writes:
        edge(0, node_of[w.written], "the key starts absent", [w])
    # (2) Real-time order without n^2 edges: a chain of "time" nodes, one per completed
    # write sorted by completion; x -> T(x), T(k) -> T(k+1), T(last completed before
    # y's invoke) -> y. So x reaches y iff x completed before y was invoked.
    done = sorted((w for w in writes if w.outcome == "ok"), key=lambda w: w.end)
    ends = [w.end for w in done]
    t0 = len(node_of)
    for k, w in enumerate(done):
        edge(node_of[w.written], t0 + k, "completed", [w])
        if k + 1 < len(done):
            edge(t0 + k, t0 + k + 1, "time", [])
    for w in writes:
        k = bisect.bisect_left(ends, w.start) - 1
        if k >= 0:
            edge(t0 + k, node_of[w.written], "invoked after", [w])
    # (3) and (4): what each client saw, in its order (a cas sees e, then writes n).
    observations = _observations(cs)
    for seen in observations.values():
        for v, c in seen:
            if v not in node_of:
                return "unknown", {"reason": f"no write produced {v!r}", "op": c.describe()}
    for seen in observations.values():
        for (a, ca), (b, cb) in pairwise(seen):
            edge(node_of[a], node_of[b], "client saw in this order", [ca, cb])
    cycle = _find_cycle(edges)
    if cycle is None:
        return True, {}
    value_of = {n: v for v, n in node_of.items()}
    # Start at a value node so every pass through the time chain is entered in view.
    at = next(k for k, n in enumerate(cycle) if n in value_of)
    cycle = [*cycle[at:-1], *cycle[:at], cycle[at]]
    steps = []
    came_from: Call | None = None  # the write that entered the chain of time nodes
    for a, b in pairwise(cycle):
        why, ops = edges[a][b]
        if why == "completed":
            came_from = ops[0]
        elif why == "invoked after":
            first = came_from if came_from is not None else ops[0]
            steps.append(_step(value_of, first.written, ops[0].written, "real time", [first, *ops]))
        elif why != "time":
            steps.append(_step(value_of, a, b, why, ops, nodes=True))
    return False, {"key": key, "kind": "no write order explains the reads", "cycle": steps}


def _step(
    value_of: dict[int, Any], a: Any, b: Any, why: str, ops: list[Call], nodes: bool = False
) -> dict[str, Any]:
    if nodes:
        a, b = value_of[a], value_of[b]
    return {"from": a, "to": b, "because": why, "ops": [c.describe() for c in ops]}


def _find_cycle(edges: dict[int, dict[int, Any]]) -> list[int] | None:
    """A cycle as a node list (first == last), by iterative depth-first search."""
    colour: dict[int, int] = {}  # absent = unvisited, 1 = on the path, 2 = finished
    for root in list(edges):
        if root in colour:
            continue
        path = [root]
        iters = [iter(edges.get(root, {}))]
        colour[root] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                iters.pop()
            elif colour.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in colour:
                colour[nxt] = 1
                path.append(nxt)
                iters.append(iter(edges.get(nxt, {})))
    return None
