"""The op record, JSONL round trips, the crash-safe writer and invoke/completion pairing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from peerchaos.history import HistoryWriter, Op, calls, pair_ops, read_jsonl, write_jsonl


def _ops() -> list[Op]:
    return [
        Op("invoke", "write", "k", "a", 1, 100.0, 1.0),
        Op("invoke", "cas", "k", ["a", "b"], "w2", 100.1, 1.1),
        Op("ok", "write", "k", "a", 1, 100.2, 1.2, version=0),
        Op("fail", "cas", "k", ["a", "b"], "w2", 100.3, 1.3, error="BadVersion"),
        Op("invoke", "read", "k", None, 1, 100.4, 1.4, final=True),
        Op("ok", "read", "k", "a", 1, 100.5, 1.5, version=0, final=True),
    ]


def test_jsonl_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    write_jsonl(path, _ops())
    loaded = read_jsonl(path)
    assert [op.index for op in loaded] == list(range(6))
    assert [op.to_dict() | {"index": None} for op in loaded] == [op.to_dict() for op in _ops()]
    assert loaded[1].value == ("a", "b")  # a cas pair stays a pair, and hashable
    assert loaded[3].error == "BadVersion" and loaded[5].final and loaded[5].version == 0


def test_index_present_in_the_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    write_jsonl(path, [Op("invoke", "read", "k", None, 1, 0.0, 0.0, index=41)])
    assert read_jsonl(path)[0].index == 41


def test_truncated_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    write_jsonl(path, _ops())
    text = path.read_text()
    path.write_text(text[: len(text) - 20])  # the writer died mid-line
    loaded = read_jsonl(path)
    assert len(loaded) == 5
    assert loaded[-1].type == "invoke"


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lines = [json.dumps(op.to_dict()) for op in _ops()]
    lines[2] = lines[2][:10]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"history\.jsonl:3: not a JSON record"):
        read_jsonl(path)


def test_writer_flushes_every_n_ops_and_on_close(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    with HistoryWriter(path, flush_every=2, flush_s=3600) as writer:
        ops = _ops()
        writer.append(ops[0])
        assert path.read_text() == ""  # buffered: one op is below the threshold
        writer.append(ops[1])
        assert len(read_jsonl(path)) == 2  # on disk without closing: survives a crash
        writer.append(ops[2])
    assert [op.to_dict() for op in read_jsonl(path)] == [
        op.to_dict() | {"index": i} for i, op in enumerate(ops[:3])
    ]


def test_writer_flushes_after_its_interval(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    writer = HistoryWriter(path, flush_every=1000, flush_s=0.0)
    writer.append(_ops()[0])
    assert len(read_jsonl(path)) == 1
    writer.close()


def test_writer_appends_to_an_existing_history(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    write_jsonl(path, _ops()[:2])
    with HistoryWriter(path) as writer:
        writer.append(_ops()[2])
    assert len(read_jsonl(path)) == 3


def test_pair_ops_matches_completions_by_process_and_keeps_pending_invokes() -> None:
    ops = [
        *_ops()[:4],
        Op("invoke", "write", "k", "c", "w2", 0.0, 2.0),  # never completes
        Op("invoke", "read", "k", None, 1, 0.0, 2.1),
        Op("info", "read", "k", None, 1, 0.0, 2.2, error="timeout"),
    ]
    pairs = pair_ops(ops)
    assert [(i.f, c.type if c else None) for i, c in pairs] == [
        ("write", "ok"),
        ("cas", "fail"),
        ("write", None),
        ("read", "info"),
    ]
    assert pairs[0][1] is ops[2] and pairs[1][1] is ops[3]
    pending = calls(ops)[2]
    assert pending.outcome == "info" and pending.end == math.inf
    assert calls(ops)[0].end == 1.2


def test_a_new_invoke_abandons_the_process_previous_one() -> None:
    # A restarted worker reuses its id; the op it had in flight has an unknown outcome.
    ops = [
        Op("invoke", "write", "k", "a", 1, 0.0, 0.0),
        Op("invoke", "write", "k", "b", 1, 0.0, 1.0),
        Op("ok", "write", "k", "b", 1, 0.0, 2.0),
    ]
    assert [(i.value, c and c.value) for i, c in pair_ops(ops)] == [("a", None), ("b", "b")]
