"""Helpers are written down as they appear, not once their set has settled."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from peerchaos.helper_pids import HelperRecorder, ray_processes

from conftest import wait_until


def recorded(path: Path) -> set[int]:
    return {p["pid"] for p in json.loads(path.read_text())}


def test_each_helper_is_recorded_as_it_is_spawned(tmp_path: Path) -> None:
    path = tmp_path / "helper-pids.json"
    recorder = HelperRecorder(path)
    recorder.start()
    helpers: list[subprocess.Popen[bytes]] = []
    own_session = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        # Written before anything was spawned (children of earlier tests in this session,
        # e.g. the session's Ray, are listed already: they are this process's too).
        already = recorded(path)
        for _ in range(3):  # one at a time, with no pause for the set to settle
            helpers.append(subprocess.Popen(["sleep", "30"]))
            started = time.monotonic()
            wait_until(lambda: helpers[-1].pid in recorded(path), 2, "the new helper listed")
            assert time.monotonic() - started < 0.5
        listed = json.loads(path.read_text())
        assert {p["pid"] for p in listed} - already == {h.pid for h in helpers}
        assert all(isinstance(p["created"], float) for p in listed)
        # A child leading a session of its own (the control plane, the watchdog) is not Ray's.
        assert own_session.pid not in {p["pid"] for p in ray_processes()}
        helpers[0].kill()
        helpers[0].wait()
        assert helpers[0].pid in recorded(path)  # a record is never dropped (start time kept)
    finally:
        recorder.stop()
        for process in [*helpers, own_session]:
            process.kill()
            process.wait()
