"""Checkers against crafted histories: each anomaly is caught by the check meant for it."""

from __future__ import annotations

import importlib.util
import random
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerchaos.checker import (
    CheckResult,
    check_all,
    compose,
    durability,
    linearizable,
    sequential,
)
from peerchaos.history import Op

_spec = importlib.util.spec_from_file_location(
    "bench_checker", Path(__file__).parents[1] / "benchmarks" / "bench_checker.py"
)
assert _spec is not None and _spec.loader is not None
bench_checker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_checker)


class H:
    """A history builder: one call per line, times in seconds, sorted on `ops()`."""

    def __init__(self) -> None:
        self._records: list[tuple[float, int, Op]] = []

    def call(
        self,
        process: Any,
        f: str,
        value: Any,
        start: float,
        end: float | None,
        outcome: str = "ok",
        key: str = "k",
        version: int | None = None,
        final: bool = False,
    ) -> H:
        """`value`: what a write/cas sends, or what a read returned."""
        sent = None if f == "read" else value
        n = len(self._records)
        self._records.append((start, n, Op("invoke", f, key, sent, process, start, start)))
        if end is not None:
            done = Op(outcome, f, key, value, process, end, end, version=version, final=final)
            self._records.append((end, n + 1, done))
        return self

    def write(self, p: Any, v: Any, start: float, end: float | None, **kw: Any) -> H:
        return self.call(p, "write", v, start, end, **kw)

    def read(self, p: Any, v: Any, start: float, end: float | None, **kw: Any) -> H:
        return self.call(p, "read", v, start, end, **kw)

    def cas(self, p: Any, e: Any, n: Any, start: float, end: float | None, **kw: Any) -> H:
        return self.call(p, "cas", (e, n), start, end, **kw)

    def final(self, v: Any, at: float = 100.0, key: str = "k") -> H:
        return self.read("final", v, at, at + 1, final=True, key=key)

    def ops(self) -> list[Op]:
        return [op for _, _, op in sorted(self._records, key=lambda r: (r[0], r[1]))]


def verdicts(ops: list[Op], **kw: Any) -> dict[str, Any]:
    return {n: r["valid"] for n, r in check_all(ops, **kw).details["results"].items()}


ALL_OK = {"durability": True, "linearizable-writes": True, "sequential": True}

# --- compose -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("valids", "expected"),
    [
        ([True, True], True),
        ([True, "unknown"], "unknown"),
        (["unknown", False, True], False),
        ([False, "unknown"], False),
        ([], True),
    ],
)
def test_compose_false_beats_unknown_beats_true(valids: list[Any], expected: Any) -> None:
    result = compose([CheckResult(f"c{i}", v, {}) for i, v in enumerate(valids)])
    assert result.valid is expected if isinstance(expected, bool) else result.valid == expected
    assert set(result.to_dict()["details"]["results"]) == {f"c{i}" for i in range(len(valids))}


def test_check_result_refuses_other_verdicts() -> None:
    for bad in (1, 0, "yes", None):
        with pytest.raises(ValueError):
            CheckResult("x", bad, {})


# --- durability ----------------------------------------------------------------------------


def test_lost_write_is_caught_by_durability_only() -> None:
    ops = H().write(1, "a", 0, 1).write(1, "b", 2, 3).final("a").ops()
    assert verdicts(ops) == {**ALL_OK, "durability": False}
    lost = durability.check(ops).details["lost"]
    assert [x["write"]["invoke"]["value"] for x in lost] == ["b"]
    assert lost[0]["final_value_written_by"][0]["invoke"]["value"] == "a"


def test_final_read_of_absent_key_loses_every_acked_write() -> None:
    ops = H().write(1, "a", 0, 1).cas(2, "a", "b", 2, 3).final(None).ops()
    assert durability.check(ops).details["lost_count"] == 2


def test_a_concurrent_write_may_supersede_an_acked_one() -> None:
    ops = H().write(1, "a", 0, 2).write(2, "b", 1, 3).final("a").ops()
    assert verdicts(ops) == ALL_OK


def test_final_value_nobody_wrote_is_flagged() -> None:
    ops = H().write(1, "a", 0, 1).final("zzz").ops()
    assert durability.check(ops).valid is False


def test_no_final_reads_is_unknown() -> None:
    result = durability.check(H().write(1, "a", 0, 1).ops())
    assert result.valid == "unknown" and "final" in result.details["reason"]


# --- linearizable writes -------------------------------------------------------------------


def test_impossible_cas_is_caught_by_linearizable_writes() -> None:
    ops = H().write(1, "a", 0, 1).write(2, "b", 2, 3).cas(3, "a", "c", 4, 5).ops()
    result = linearizable.check_writes(ops)
    assert result.valid is False
    failure = result.details["failures"][0]
    assert failure["key"] == "k" and failure["register_value"] == "b"
    assert failure["stuck_op"]["invoke"]["value"] == ["a", "c"]
    assert verdicts(ops + H().final("c").ops())["linearizable-writes"] is False


def test_cas_on_a_value_never_written_is_caught() -> None:
    ops = H().write(1, "a", 0, 1).cas(2, "ghost", "c", 2, 3).ops()
    assert linearizable.check_writes(ops).valid is False


def test_concurrent_cas_chain_is_linearizable() -> None:
    # The cas is invoked before the write it depends on completes: still fine.
    ops = H().write(1, "a", 0, 3).cas(2, "a", "b", 1, 4).cas(3, "b", "c", 2, 5).ops()
    assert linearizable.check_writes(ops).valid is True


def test_failed_cas_does_not_take_effect() -> None:
    ops = H().write(1, "a", 0, 1).cas(2, "x", "b", 2, 3, outcome="fail").read(3, "b", 4, 5)
    assert linearizable.check_full(ops.ops()).valid is False
    ok = H().write(1, "a", 0, 1).cas(2, "x", "b", 2, 3, outcome="fail").read(3, "a", 4, 5)
    assert linearizable.check_full(ok.ops()).valid is True


def test_keys_are_checked_independently() -> None:
    ops = H().write(1, "a", 0, 1, key="x").write(1, "a", 2, 3, key="y")
    ops = ops.cas(2, "a", "b", 4, 5, key="x").cas(2, "a", "b", 6, 7, key="y").ops()
    assert linearizable.check_writes(ops).valid is True


# --- stale reads: fine by default, caught by full linearizability --------------------------


def test_stale_read_passes_default_checks_but_not_full() -> None:
    ops = H().write(1, "a", 0, 1).write(1, "b", 2, 3).read(2, "a", 4, 5).final("b").ops()
    assert verdicts(ops) == ALL_OK
    assert check_all(ops).valid is True
    full = check_all(ops, full=True)
    assert full.valid is False
    result = full.details["results"]["linearizable-full"]
    assert "stale read" in result["details"]["note"]
    assert result["details"]["failures"][0]["stuck_op"]["completion"]["value"] == "a"


# --- sequential ----------------------------------------------------------------------------


def test_reading_older_value_after_newer_without_versions() -> None:
    ops = H().write(1, "a", 0, 1).write(1, "b", 2, 3).read(2, "b", 4, 5).read(2, "a", 6, 7)
    ops = ops.final("b").ops()
    assert verdicts(ops) == {**ALL_OK, "sequential": False}
    cycle = sequential.check(ops).details["violations"][0]["cycle"]
    assert {(s["from"], s["to"]) for s in cycle} == {("a", "b"), ("b", "a")}


def test_concurrent_writes_may_be_seen_in_either_order_but_not_both() -> None:
    base = H().write(1, "a", 0, 3).write(2, "b", 1, 4).read(3, "b", 5, 6).read(3, "a", 7, 8)
    assert sequential.check(base.ops()).valid is True  # b then a is a possible write order
    both = base.read(4, "a", 5, 6).read(4, "b", 7, 8)
    assert sequential.check(both.ops()).valid is False  # no order fits both clients


def test_reading_older_version_after_newer_is_caught_by_versions() -> None:
    # The writes overlap, so only the versions tell which came first.
    ops = H().write(1, "a", 0, 3, version=2).write(2, "b", 1, 4, version=1)
    ops = ops.read(3, "a", 5, 6, version=2).read(3, "b", 7, 8, version=1).ops()
    result = sequential.check(ops)
    assert result.valid is False
    assert result.details["violations"][0]["kind"] == "version went back"
    fine = H().write(1, "a", 0, 3, version=2).write(2, "b", 1, 4, version=1)
    fine = fine.read(3, "b", 5, 6, version=1).read(3, "a", 7, 8, version=2).ops()
    assert sequential.check(fine).valid is True


def test_own_write_must_be_visible_to_own_later_reads() -> None:
    older = H().write(2, "a", 0, 1).write(1, "b", 2, 3).read(1, "a", 4, 5).ops()
    assert sequential.check(older).valid is False
    absent = H().write(1, "b", 2, 3).read(1, None, 4, 5).ops()
    assert sequential.check(absent).valid is False
    superseded = H().write(1, "b", 2, 5).write(2, "c", 3, 6).read(1, "c", 7, 8).ops()
    assert sequential.check(superseded).valid is True


def test_value_no_write_produced_is_unknown_not_a_pass() -> None:
    result = sequential.check(H().write(1, "a", 0, 1).read(2, "zzz", 2, 3).ops())
    assert result.valid == "unknown" and "k" in result.details["unknown_keys"]


# --- info ops ------------------------------------------------------------------------------


def test_timed_out_write_that_took_effect_is_fine() -> None:
    ops = H().write(1, "a", 0, 1, outcome="info").read(2, "a", 2, 3).final("a").ops()
    assert verdicts(ops, full=True) == {**ALL_OK, "linearizable-full": True}


def test_timed_out_write_may_land_after_its_timeout() -> None:
    h = H().write(1, "a", 0, 1, outcome="info").write(2, "b", 2, 3).read(3, "b", 4, 5)
    ops = h.read(3, "a", 6, 7).cas(2, "a", "c", 8, 9).final("c").ops()
    assert verdicts(ops, full=True) == {**ALL_OK, "linearizable-full": True}


def test_failed_write_seen_by_a_read_is_not_linearizable() -> None:
    ops = H().write(1, "a", 0, 1, outcome="fail").read(2, "a", 2, 3).ops()
    assert linearizable.check_full(ops).valid is False


def test_history_of_only_info_and_pending_ops_is_fine() -> None:
    h = H().write(1, "a", 0, 1, outcome="info").cas(2, "x", "y", 0.5, 2, outcome="info")
    ops = h.read(3, None, 1, 2, outcome="info").write(4, "b", 3, None).ops()
    result = check_all(ops, full=True)
    assert result.valid == "unknown"  # durability has no final read to judge by
    assert verdicts(ops, full=True) == {
        "durability": "unknown",
        "linearizable-writes": True,
        "sequential": True,
        "linearizable-full": True,
    }


# --- time budget ---------------------------------------------------------------------------


def test_time_budget_gives_unknown_never_a_pass() -> None:
    rng = random.Random(1)
    h = H()
    for p in range(50):  # 50 clients, 30 ops each, every op overlapping ~49 others
        t = rng.uniform(0, 1)
        for k in range(30):
            end = t + rng.uniform(0.5, 1.5)
            if k % 3:
                h.write(p, f"v{p}-{k}", t, end)
            else:
                h.cas(p, f"v{p}-{k - 1}", f"v{p}-{k}", t, end, outcome="info")
            t = end + 0.01
    result = linearizable.check_writes(h.ops(), time_budget_s=0.001)
    assert result.valid == "unknown"
    assert "time budget" in result.details["unknown_keys"]["k"]
    assert check_all(h.ops(), time_budget_s=0.001).valid == "unknown"


# --- performance and generated histories ---------------------------------------------------


def test_simulated_10k_op_history_passes_all_checks() -> None:
    ops = bench_checker.simulated_history(10_000, clients=5, keys=10, seed=3)
    assert sum(op.type == "info" for op in ops) > 50
    t0 = time.perf_counter()
    result = check_all(ops)
    elapsed = time.perf_counter() - t0
    print(f"check_all on {len(ops)} records: {elapsed:.3f} s (target < 2 s)")
    assert result.valid is True, result.details
    # Its stale follower reads are sequentially consistent, not linearizable.
    assert linearizable.check_full(ops, time_budget_s=5).valid is not True


@st.composite
def atomic_histories(draw: st.DrawFn) -> list[Op]:
    """Ops applied one at a time to a register (the i-th at instant i), recorded with
    random intervals around their instant that never overlap on one process."""
    n = draw(st.integers(1, 24))
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(0, 2),  # process
                st.sampled_from(["read", "write", "cas", "cas-stale"]),
                st.sampled_from(["x", "y"]),
                st.sampled_from(["ok", "ok", "ok", "info", "info-lost", "pending"]),
                st.floats(0, 0.99),  # how far before its instant the op is invoked
                st.floats(0, 0.99),  # how far after it completes
            ),
            min_size=n,
            max_size=n,
        )
    )
    register: dict[str, Any] = {"x": None, "y": None}
    stale: dict[str, Any] = {"x": "never", "y": "never"}
    last_point: dict[int, float] = {}
    next_point = {}
    for i, (p, *_rest) in enumerate(steps):
        if p in last_point:
            next_point[last_point[p]] = i
        last_point[p] = i
    busy_until: dict[int, float] = {}
    h = H()
    for i, (p, f, key, outcome, before, after) in enumerate(steps):
        if p in busy_until and busy_until[p] == float("inf"):
            continue  # a pending op never completes: its process is gone
        prev_end = busy_until.get(p, -3.0)
        start = i - before * min(3.0, i - prev_end)
        gap = next_point.get(i, i + 6) - i
        end: float | None = i + after * gap / 2
        applied = outcome in ("ok", "info", "pending")
        if f == "read":
            value, applied = register[key], False
            outcome = "ok" if outcome == "info-lost" else outcome
        elif f == "write":
            value = f"{key}{i}"
        else:
            expected = register[key] if f == "cas" else stale[key]
            value, f = (expected, f"{key}{i}"), "cas"
            if expected != register[key]:
                applied, outcome = False, "fail" if outcome == "ok" else outcome
        if outcome == "info-lost":
            outcome = "info"
        if applied:
            stale[key], register[key] = register[key], (value if f == "write" else value[1])
        if outcome == "pending":
            end = None
        h.call(p, f, value, start, end, outcome=outcome, key=key)
        busy_until[p] = float("inf") if end is None else end
    for j, key in enumerate(("x", "y")):
        h.final(register[key], at=len(steps) + 10 + j, key=key)
    return h.ops()


@settings(max_examples=150, deadline=None)
@given(atomic_histories())
def test_histories_from_an_atomic_register_are_always_valid(ops: list[Op]) -> None:
    assert verdicts(ops, full=True) == {**ALL_OK, "linearizable-full": True}


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_sequentially_consistent_stale_reads_pass_default_checks(seed: int) -> None:
    ops = bench_checker.simulated_history(300, clients=4, keys=2, seed=seed)
    assert verdicts(ops) == ALL_OK
