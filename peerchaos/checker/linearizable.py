"""Linearizability of a register, per key: the Wing-Gong-Lowe search with memoisation.

Keys are checked independently (P-compositionality). The model is a register that starts
absent (None): write(v) sets v; cas((e, n)) succeeds iff the register holds e, then sets
n; read returns the current value. A failed op did not happen and is dropped. An `info`
op (or one left pending) may take effect at any time after its invoke, or never: its
return is at +inf and the search may leave it out.

`check_writes` (the default) keeps writes and cas only — ZooKeeper promises linearizable
writes. `check_full` keeps reads too; ZooKeeper lets a follower serve a stale read, so a
violation there is a finding about ZooKeeper, not a bug in the framework.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from peerchaos.checker.result import MAX_REPORTED, CheckResult, worst
from peerchaos.history import Call, Op, calls, iter_keys

_CALL, _RETURN = 0, 1


def check_writes(history: Iterable[Op], time_budget_s: float = 10.0) -> CheckResult:
    """Linearizability of the writes and cas ops (reads dropped)."""
    return _check(history, time_budget_s, with_reads=False, name="linearizable-writes")


def check_full(history: Iterable[Op], time_budget_s: float = 10.0) -> CheckResult:
    """Linearizability including reads — stricter than ZooKeeper promises."""
    return _check(history, time_budget_s, with_reads=True, name="linearizable-full")


def _check(history: Iterable[Op], budget_s: float, with_reads: bool, name: str) -> CheckResult:
    deadline = time.monotonic() + budget_s
    verdicts: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    unknown: dict[str, str] = {}
    for key, cs in iter_keys(calls(history)):
        ops = _relevant(cs, with_reads)
        verdict, why = _linearize(ops, deadline)
        verdicts[key] = verdict
        if verdict is False:
            failures.append({"key": key, **why})
        elif verdict == "unknown":
            unknown[key] = why["reason"]
    details: dict[str, Any] = {
        "keys": len(verdicts),
        "failures": failures[:MAX_REPORTED],
        "unknown_keys": dict(list(unknown.items())[:MAX_REPORTED]),
        "time_budget_s": budget_s,
    }
    return CheckResult(name, worst(verdicts.values()), details)


def _relevant(cs: list[Call], with_reads: bool) -> list[Call]:
    """The calls the model must explain, minus optional writes nobody could have observed.

    An info write whose value no read returned and no cas expected has no visible effect:
    leaving it out explains at least as much as putting it anywhere (values are unique), so
    dropping it up front spares the search from trying it at every point.
    """
    kept = []
    for c in cs:
        if c.outcome == "fail":
            continue
        if c.f == "read" and (not with_reads or c.outcome != "ok"):
            continue  # a read with no answer constrains nothing
        kept.append(c)
    observed = {c.invoke.value[0] for c in kept if c.f == "cas"}
    observed |= {c.read for c in kept if c.f == "read"}
    return [c for c in kept if c.outcome == "ok" or c.written in observed]


def _step(state: Any, c: Call) -> tuple[bool, Any]:
    if c.f == "write":
        return True, c.invoke.value
    if c.f == "cas":
        expected, new = c.invoke.value
        return state == expected, new
    return state == c.read, state


def _linearize(ops: list[Call], deadline: float) -> tuple[bool | str, dict[str, Any]]:
    """WGL: walk a time-ordered list of call/return entries, lifting linearized ops out.

    The entries form a doubly linked list (index arrays, dancing-links style) so lifting
    an op and putting it back on backtrack are O(1). The cache holds every (set of
    linearized ops, register value) already explored: reaching one again cannot succeed.
    """
    n = len(ops)
    if n == 0:
        return True, {}
    # Calls sort before returns at the same instant: equal timestamps are concurrent.
    events = sorted(
        [(c.start, _CALL, i) for i, c in enumerate(ops)]
        + [(c.end, _RETURN, i) for i, c in enumerate(ops)]
    )
    head = 0
    kind = [0] * (2 * n + 1)
    op_of = [0] * (2 * n + 1)
    ret_node = [0] * n
    nxt = list(range(1, 2 * n + 2))
    nxt[2 * n] = -1
    prv = list(range(-1, 2 * n))
    for node, (_, k, i) in enumerate(events, start=1):
        kind[node], op_of[node] = k, i
        if k == _RETURN:
            ret_node[i] = node
    optional = [c.outcome != "ok" for c in ops]

    def unlink(x: int) -> None:
        nxt[prv[x]] = nxt[x]
        if nxt[x] != -1:
            prv[nxt[x]] = prv[x]

    def relink(x: int) -> None:
        nxt[prv[x]] = x
        if nxt[x] != -1:
            prv[nxt[x]] = x

    state: Any = None
    linearized = 0
    stack: list[tuple[int, Any]] = []
    cache: set[tuple[int, Any]] = set()
    best_depth = -1
    best: dict[str, Any] = {}
    entry = nxt[head]
    steps = 0
    while entry != -1:
        steps += 1
        if steps & 255 == 0 and time.monotonic() > deadline:
            return "unknown", {"reason": f"time budget ran out after {steps} search steps"}
        i = op_of[entry]
        if kind[entry] == _CALL:
            ok, new_state = _step(state, ops[i])
            if ok:
                marked = linearized | (1 << i)
                if (marked, new_state) not in cache:
                    cache.add((marked, new_state))
                    stack.append((entry, state))
                    linearized, state = marked, new_state
                    unlink(entry)
                    unlink(ret_node[i])
                    entry = nxt[head]
                    continue
            entry = nxt[entry]
            continue
        # A return entry: op i was not linearized before its response — or, if it is
        # optional, every required op already is (their returns all sort before +inf).
        if optional[i]:
            return True, {}
        if len(stack) > best_depth:
            best_depth = len(stack)
            best = _stuck_report(ops, stack, op_of, nxt, head, entry, state)
        if not stack:
            break
        entry, state = stack.pop()
        j = op_of[entry]
        linearized &= ~(1 << j)
        relink(ret_node[j])
        relink(entry)
        entry = nxt[entry]
    if nxt[head] == -1:
        return True, {}
    return False, best


def _stuck_report(
    ops: list[Call],
    stack: list[tuple[int, Any]],
    op_of: list[int],
    nxt: list[int],
    head: int,
    stuck: int,
    state: Any,
) -> dict[str, Any]:
    """The deepest dead end: the op that could not be placed, what the register held,
    the ops concurrent with it that were tried first, and the last ops linearized."""
    tried = []
    node = nxt[head]
    while node != stuck and len(tried) < 10:
        tried.append(ops[op_of[node]].describe())
        node = nxt[node]
    return {
        "stuck_op": ops[op_of[stuck]].describe(),
        "register_value": state,
        "candidates_not_linearizable": tried,
        "linearized_before": [ops[op_of[e]].describe() for e, _ in stack[-5:]],
        "linearized_count": len(stack),
    }
