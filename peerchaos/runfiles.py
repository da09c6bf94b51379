"""A run directory read strictly, before `measure`, `check` or `report` start on it.

Those commands read only the run's files, so a file they cannot read — a torn
`summary.json`, a `history.jsonl` torn in the middle, an event without a time — must stop
them with one line naming the file (and line), not give a traceback or a figure computed
from part of the evidence. A file a command does not need may be missing; a file that is
there must be whole. A torn *last* line of a JSONL file is the one thing tolerated (see
`peerchaos.events`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from peerchaos import history
from peerchaos.errors import RunDirError
from peerchaos.events import jsonl_lines
from peerchaos.rundir import RunDir


def read_object(path: Path, required: bool = False) -> dict[str, Any] | None:
    """The JSON object in `path`; None when it is missing and not required."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        if required:
            raise RunDirError(f"{path}: missing") from None
        return None
    except OSError as error:
        raise RunDirError(f"{path}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise RunDirError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunDirError(
            f"{path}: not valid JSON, torn or cut short? ({error.msg}, line {error.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: must hold a JSON object (got {type(data).__name__})")
    return data


def _time(record: dict[str, Any], key: str = "t") -> bool:
    value = record.get(key)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_events(path: Path) -> int:
    """Every event has a finite wall-clock `t` and a `kind`; returns how many there are."""
    count = 0
    for number, record in jsonl_lines(path):
        if not isinstance(record, dict):
            raise RunDirError(f"{path}:{number}: not a JSON object (got {type(record).__name__})")
        if not _time(record):
            raise RunDirError(
                f"{path}:{number}: an event needs 't', a finite number (got {record.get('t')!r})"
            )
        if not isinstance(record.get("kind"), str):
            raise RunDirError(
                f"{path}:{number}: an event needs 'kind', a string (got {record.get('kind')!r})"
            )
        count += 1
    return count


def check_ground_truth(path: Path) -> None:
    """`log_events` is a list of records with a finite time."""
    truth = read_object(path)
    if truth is None:
        return
    entries = truth.get("log_events", [])
    if not isinstance(entries, list):
        raise RunDirError(f"{path}: log_events must be a list (got {type(entries).__name__})")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not _time(entry):
            raise RunDirError(f"{path}: log_events[{index}] needs 't', a finite number")


CHECKS = {
    "summary.json": read_object,
    "meta.json": read_object,
    "journal.json": read_object,
    "ground_truth.json": check_ground_truth,
    "events.jsonl": check_events,
    "history.jsonl": history.read_jsonl,
}
EVERYTHING = tuple(CHECKS)


def require_readable(run: RunDir, reads: tuple[str, ...], needs: tuple[str, ...] = ()) -> None:
    """Refuse, in one line, a run dir whose files a command reads cannot be read whole.

    `reads`: the files the command reads (a file it does not read may be anything — a
    torn `summary.json` is what `measure` repairs); `needs`: those it cannot do without."""
    for name in reads:
        path = run.path / name
        if not path.exists():
            if name in needs:
                what = {
                    "events.jsonl": "nothing to measure",
                    "history.jsonl": "no client operations",
                }
                raise RunDirError(f"run dir {run.path}: no {name} ({what.get(name, 'needed')})")
            continue
        CHECKS[name](path)
