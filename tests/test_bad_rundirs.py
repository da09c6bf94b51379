"""Run directories that cannot be read whole: `measure`, `check` and `report` refuse them in
one line naming `file:line`, JSONL readers never skip a torn line silently, and writers
put each record on one whole line even with several processes appending at once.

The run dirs are copies of a real `chaos run` (tests/data/report), broken on purpose.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from badinput import PEERCHAOS, SETTINGS
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from peerchaos.cli import main
from peerchaos.errors import RunDirError
from peerchaos.events import JsonlAppender, read_jsonl
from peerchaos.history import HistoryWriter, Op
from peerchaos.history import read_jsonl as read_history

KILL = Path(__file__).parent / "data" / "report" / "zk-leader-kill" / "20261126T215121Z-e0cb"


def copy_run(root: Path) -> Path:
    target = root / "zk-leader-kill" / KILL.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(KILL, target)
    return target


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def refused(result: Result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("peerchaos: ") and "Traceback" not in result.output
    return line


def insert_line(path: Path, at: int, line: str) -> int:
    """Put `line` before line `at` (1-based, clamped into the middle); its line number."""
    lines = path.read_text().splitlines(keepends=True)
    at = max(1, min(at, len(lines) - 1))
    lines.insert(at - 1, line + "\n")
    path.write_text("".join(lines))
    return at


NOT_JSON = st.text(min_size=1, max_size=30).filter(
    lambda t: t.strip() and "\n" not in t and "\r" not in t and not _parses(t)
)


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


NOT_AN_OP = st.one_of(
    NOT_JSON,
    st.sampled_from(["[1, 2]", "7", '"op"', "null", "true"]),
    st.sampled_from(
        [
            {"f": "write", "key": "k", "process": 1, "time": 1.0},  # no type
            {"type": "done", "f": "write", "key": "k", "process": 1, "time": 1.0},
            {"type": "ok", "f": "delete", "key": "k", "process": 1, "time": 1.0},
            {"type": "ok", "f": "write", "key": "k", "process": 1},  # no time at all
            {"type": "ok", "f": "write", "key": "k", "process": True, "time": 1.0},
            {"type": "ok", "f": "write", "key": "k", "process": 1, "time": "noon"},
            {"type": "ok", "f": "write", "key": "k", "process": 1, "time": float("nan")},
            {"type": "invoke", "f": "cas", "key": "k", "value": 3, "process": 1, "time": 1.0},
            {"type": "ok", "f": "read", "key": None, "process": 1, "time": 1.0},
        ]
    ).map(json.dumps),
)
NOT_AN_EVENT = st.one_of(
    NOT_JSON,
    st.sampled_from(["[]", "3.5", '"fault"']),
    st.sampled_from(
        [{"kind": "fault"}, {"t": "now", "kind": "fault"}, {"t": 1.0}, {"t": 1.0, "kind": 5}]
    ).map(json.dumps),
)


@settings(parent=SETTINGS, max_examples=25)
@given(st.integers(1, 2000), NOT_AN_OP)
def test_a_bad_line_in_the_middle_of_the_history_stops_check_and_measure(
    tmp_path: Path, at: int, line: str
) -> None:
    run = copy_run(tmp_path)
    number = insert_line(run / "history.jsonl", at, line)
    where = f"peerchaos: {run / 'history.jsonl'}:{number}: "
    for command in ("check", "measure", "report"):
        assert refused(cli(command, str(run))).startswith(where), command


@settings(parent=SETTINGS, max_examples=20)
@given(st.integers(1, 300), NOT_AN_EVENT)
def test_a_bad_event_line_stops_measure_and_report(tmp_path: Path, at: int, line: str) -> None:
    run = copy_run(tmp_path)
    number = insert_line(run / "events.jsonl", at, line)
    for command in ("measure", "report"):
        line_seen = refused(cli(command, str(run)))
        assert line_seen.startswith(f"peerchaos: {run / 'events.jsonl'}:{number}: "), line_seen


def test_a_torn_last_line_is_dropped_with_a_warning_naming_it(tmp_path: Path) -> None:
    """What a SIGKILLed writer leaves: its last line without the newline. The records before
    it are whole, so the run is still read — and the reader says what it dropped, once."""
    run = copy_run(tmp_path)
    history = run / "history.jsonl"
    whole = history.read_text()
    lines = whole.count("\n")
    history.write_text(whole + '{"type":"invoke","f":"write","ke')
    done = subprocess.run(
        [PEERCHAOS, "check", str(run)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (0, 1), done  # judged, not refused
    assert done.stderr.splitlines() == [
        f"peerchaos: {history}:{lines + 1}: last line cut short (its writer was killed "
        "mid-write); ignored"
    ]
    assert len(read_history(history)) == lines
    # The same text with its newline is no torn tail but a broken line: an error.
    history.write_text(whole + '{"type":"invoke","f":"write","ke\n')
    assert refused(cli("check", str(run))).startswith(f"peerchaos: {history}:{lines + 1}: ")


def test_a_torn_utf8_character_at_the_very_end_is_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"t": 1, "kind": "a"}\n{"t": 2, "kind": "\xc3')
    assert read_jsonl(path) == [{"t": 1, "kind": "a"}]
    path.write_bytes(b'{"t": 1, "kind": "\xc3"}\n{"t": 2, "kind": "b"}\n')
    with pytest.raises(RunDirError, match=r"events\.jsonl:1: not UTF-8 text"):
        read_jsonl(path)


@pytest.mark.parametrize(
    ("name", "content", "commands", "message"),
    [
        ("summary.json", b'{"metrics": {', ("report",), "summary.json: not valid JSON"),
        ("meta.json", b"[1, 2]", ("report", "measure"), "meta.json: must hold a JSON object"),
        ("ground_truth.json", b'{"log_events": 5}', ("measure", "report"), "log_events must"),
        ("journal.json", b'{"status": "\xff"}', ("report",), "journal.json: not UTF-8"),
    ],
)
def test_a_torn_or_odd_json_file_is_refused_by_the_commands_that_read_it(
    tmp_path: Path, name: str, content: bytes, commands: tuple[str, ...], message: str
) -> None:
    run = copy_run(tmp_path)
    (run / name).write_bytes(content)
    for command in commands:
        line = refused(cli(command, str(run)))
        assert line.startswith(f"peerchaos: {run / name}") and message in line, (command, line)
    if name == "summary.json":  # check reads the history alone: a torn summary is no concern
        assert cli("check", str(run)).exit_code in (0, 1)


def test_measure_repairs_a_torn_summary_it_is_about_to_rewrite(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    (run / "summary.json").write_text('{"metrics": {"elec')
    result = cli("measure", str(run))
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["metrics"]


@pytest.mark.parametrize(
    ("missing", "command", "message"),
    [
        ("history.jsonl", "check", "no history.jsonl"),
        ("events.jsonl", "measure", "no events.jsonl"),
    ],
)
def test_a_missing_file_the_command_needs_is_one_line(
    tmp_path: Path, missing: str, command: str, message: str
) -> None:
    run = copy_run(tmp_path)
    (run / missing).unlink()
    assert refused(cli(command, str(run))) == f"peerchaos: run dir {run}: {message}" + (
        " (no client operations)" if command == "check" else " (nothing to measure)"
    )


# --- writers: one whole line per record, whatever the number of writers --------------------


def _append_events(path: str, worker: int, count: int) -> None:
    with JsonlAppender(path, flush_every=7, flush_s=0.0) as log:
        for i in range(count):
            # Records of different sizes, some long enough to need more than one page.
            log.append({"t": float(i), "kind": "x", "w": worker, "pad": "p" * (i % 5 * 900)})


def _append_ops(path: str, worker: int, count: int) -> None:
    with HistoryWriter(path, flush_every=5, flush_s=0.0) as writer:
        for i in range(count):
            value = f"w{worker}-{i}-" + "v" * (i % 7 * 700)
            writer.append(Op("invoke", "write", "k", value, f"w{worker}", float(i), float(i)))


@pytest.mark.parametrize("writer", [_append_events, _append_ops], ids=["events", "history"])
def test_concurrent_writers_never_tear_a_line(tmp_path: Path, writer: Any) -> None:
    path = tmp_path / "out.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=writer, args=(str(path), w, 400)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    records = read_jsonl(path)  # raises on any torn or interleaved line
    assert len(records) == 1600
    assert path.read_bytes().endswith(b"\n")
