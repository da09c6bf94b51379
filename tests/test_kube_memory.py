"""The kubernetes runtime's fault memory survives kills and concurrent shells.

Real processes write it (`python -c`, as two shells running `peerchaos kube fault` would),
one is SIGKILLed mid-write, and a torn file is refused in one line — never read as "no
faults" (which would make `kube down` forget a paused pod).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peerchaos.errors import PeerchaosError
from peerchaos.manifests import render
from peerchaos.runtime.kubernetes.memory import KubeMemory
from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime
from peerchaos.spec import parse_spec

from fake_apiserver import FakeApiServer

NS = "chaos"
SPEC = parse_spec({"namespace": NS})

MARKER_LOOP = """
import sys
from peerchaos.runtime.kubernetes.memory import KubeMemory
memory = KubeMemory(sys.argv[1])
prefix, count = sys.argv[2], int(sys.argv[3])
for i in range(count):
    memory.mark("paused", f"{prefix}-{i}", True)
"""


def marking(root: Path, prefix: str, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", MARKER_LOOP, str(root), prefix, str(count)],
        stderr=subprocess.PIPE,
        text=True,
    )


def test_no_file_is_no_faults_and_a_torn_or_foreign_one_is_one_line(tmp_path: Path) -> None:
    memory = KubeMemory(tmp_path)
    assert memory.faults() == {"paused": [], "unready": [], "endpoints": {}}
    for torn in ('{"paused": ["zk-1"', "[]", '{"paused": "zk-1", "unready": [], "endpoints": {}}'):
        memory.faults_file.write_text(torn)
        with pytest.raises(PeerchaosError) as unreadable:
            memory.faults()
        message = str(unreadable.value)
        assert "\n" not in message
        assert message.startswith(f"{memory.faults_file}: unreadable (")
        assert "heal those by hand, then remove it" in message
        with pytest.raises(PeerchaosError):
            memory.mark("paused", "zk-2", True)  # never written over as if empty
        assert memory.faults_file.read_text() == torn


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        server.cluster.add_namespace(NS, {"peerchaos.io/allow": "true"})
        yield server


def test_teardown_with_a_torn_memory_changes_nothing_and_says_why(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    runtime = KubernetesRuntime(SPEC, tmp_path / "state", host=fake.url, delete_pvcs=True)
    runtime.apply(render(SPEC))
    runtime.partition([["zk-0"]])
    runtime.pause("zk-1")
    runtime.memory.faults_file.write_text('{"paused": ["zk-')  # a write cut short
    changes = len(fake.cluster.changes())
    with pytest.raises(PeerchaosError, match=r"kube-faults\.json: unreadable \(not JSON"):
        runtime.teardown()
    assert len(fake.cluster.changes()) == changes  # not even the heal: it would be half
    assert fake.cluster.pods[(NS, "zk-1")].paused
    runtime.memory.faults_file.write_text(
        json.dumps({"paused": ["zk-1"], "unready": [], "endpoints": {}})
    )
    runtime.teardown()
    assert not fake.cluster.names("statefulsets", NS)


def test_concurrent_shells_lose_no_update(tmp_path: Path) -> None:
    """Four processes each mark their own 40 pods at the same time: a read-modify-write
    without the lock drops some; with it, all 160 are there."""
    writers = [marking(tmp_path, f"p{n}", 40) for n in range(4)]
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read() if writer.stderr else ""
    paused = KubeMemory(tmp_path).faults()["paused"]
    assert sorted(paused) == sorted(f"p{n}-{i}" for n in range(4) for i in range(40))
    assert list(tmp_path.glob(".kube-faults.*")) == []  # no temp file left behind


def test_a_reader_never_sees_a_half_written_file(tmp_path: Path) -> None:
    memory = KubeMemory(tmp_path)
    memory.mark("paused", "seed", True)
    errors: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                if "seed" not in memory.faults()["paused"]:
                    errors.append("read as if empty")
            except PeerchaosError as error:
                errors.append(str(error))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(200):
            memory.mark("unready", f"zk-{i}", True)
    finally:
        done.set()
        reader.join()
    assert errors == []


def test_a_writer_killed_at_any_moment_leaves_a_readable_file(tmp_path: Path) -> None:
    memory = KubeMemory(tmp_path)
    for attempt in range(5):
        writer = marking(tmp_path, f"k{attempt}", 100_000)
        deadline = time.monotonic() + 30
        while not memory.faults_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05 * (attempt + 1))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        faults = memory.faults()  # raises on a torn file
        assert faults["paused"], attempt
