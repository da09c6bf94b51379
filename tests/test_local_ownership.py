"""Local blast radius: peerchaos touches only state dirs it made and processes it recorded.

No ensemble starts here: every case is refused before anything is touched, and the
test checks that the files, directories and processes it planted are still there.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from peerchaos.atomicfile import write_atomic
from peerchaos.errors import PeerchaosError
from peerchaos.runtime.local import network as net
from peerchaos.runtime.local import ownership
from peerchaos.runtime.local.pod import kill_recorded, process_identity
from peerchaos.runtime.local.state import StateDir
from peerchaos.runtime.local.teardown import sweep

from conftest import REPO

PEERCHAOS = [sys.executable, "-m", "peerchaos.cli"]
HELPERS = "helper-pids.json"


def peerchaos(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PEERCHAOS, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **env},
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def someones_files(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thesis.tex").write_text("years of work\n")
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "data.csv").write_text("1,2,3\n")
    return snapshot(folder)


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_down_refuses_a_directory_it_did_not_create(tmp_path: Path) -> None:
    before = someones_files(tmp_path / "home-of-someone")
    result = peerchaos("down", "--state-dir", str(tmp_path / "home-of-someone"))
    assert result.returncode == 2
    line = one_line(result)
    assert str(tmp_path / "home-of-someone") in line and "not created by peerchaos" in line
    assert snapshot(tmp_path / "home-of-someone") == before


def test_an_empty_state_dir_variable_is_not_the_current_directory(tmp_path: Path) -> None:
    before = someones_files(tmp_path)
    result = peerchaos("down", cwd=tmp_path, PEERCHAOS_STATE_DIR="")
    assert result.returncode == 2
    assert one_line(result).startswith("peerchaos: PEERCHAOS_STATE_DIR: empty")
    assert snapshot(tmp_path) == before
    result = peerchaos("down", "--state-dir", "", cwd=tmp_path)
    assert result.returncode == 2 and "--state-dir: empty" in one_line(result)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ("/", "the filesystem root"),
        (".", "the current directory"),
        ("..", "a parent of the current directory"),
        ("HOME", "your home directory"),
    ],
)
def test_protected_places_are_refused_by_name(tmp_path: Path, given: str, named: str) -> None:
    home, work = tmp_path / "home", tmp_path / "home" / "work"
    before = someones_files(work)
    # A marker does not make them fair game either.
    ownership.create_owned_dir(tmp_path / "home" / "work" / "elsewhere")
    path, cwd = (str(home), tmp_path) if given == "HOME" else (given, work)
    for command in ("down", "up"):
        result = peerchaos(command, "--state-dir", path, cwd=cwd, HOME=str(home))
        assert result.returncode == 2, result.stderr
        assert f"is {named}" in one_line(result)
    assert {k: v for k, v in snapshot(work).items() if "elsewhere" not in k} == before


def test_up_refuses_a_foreign_directory_before_touching_it(tmp_path: Path) -> None:
    before = someones_files(tmp_path / "theirs")
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    result = peerchaos("up", "--state-dir", str(tmp_path / "theirs"))
    assert result.returncode == 2
    assert "not created by peerchaos" in one_line(result)
    assert snapshot(tmp_path / "theirs") == before
    assert sorted(p.name for p in (tmp_path / "theirs").iterdir()) == ["sub", "thesis.tex"]
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout == (
        namespaces
    )


def test_a_marker_is_not_enough_when_others_can_write_or_it_is_forged(tmp_path: Path) -> None:
    owned = tmp_path / "owned"
    ownership.create_owned_dir(owned)
    assert stat.S_IMODE(owned.stat().st_mode) == 0o700
    assert ownership.verify_owned(owned)["id"]
    (owned / "keep").write_text("x")
    owned.chmod(0o777)
    with pytest.raises(ownership.NotOurs, match=r"is group- or world-writable \(mode 0777\)"):
        StateDir(owned).verify()
    assert peerchaos("down", "--state-dir", str(owned)).returncode == 2
    assert (owned / "keep").exists()
    owned.chmod(0o700)
    link = tmp_path / "link"
    link.symlink_to(owned)
    with pytest.raises(ownership.NotOurs, match="is a symbolic link"):
        StateDir(link).verify()
    forged = tmp_path / "forged"
    forged.mkdir(mode=0o700)
    (forged / ownership.MARKER).write_text(json.dumps({"kind": "something else", "id": "1"}))
    with pytest.raises(ownership.NotOurs, match=r"no valid \.peerchaos-state marker"):
        StateDir(forged).verify()


def test_default_state_dirs_are_private_and_not_in_tmp() -> None:
    base = ownership.state_base()
    assert not str(base).startswith("/tmp")
    if os.geteuid() == 0:
        assert Path("/run/peerchaos/default") == ownership.DEFAULT_STATE_DIR
    root, marker_id = ownership.create_run_dir()
    try:
        assert root.parent == base and stat.S_IMODE(root.stat().st_mode) == 0o700
        assert ownership.verify_owned(root)["id"] == marker_id
        assert not stat.S_IMODE(base.stat().st_mode) & 0o022
    finally:
        assert ownership.remove_owned(root)
    assert not root.exists()


def owned_state(tmp_path: Path, state: object) -> StateDir:
    dir_ = StateDir(tmp_path / "state")
    dir_.claim()
    (dir_.root / "logs").mkdir()
    dir_.state_file.write_text(json.dumps(state))
    return dir_


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ([], "must be an object (got list)"),
        ("zk", "must be an object (got str)"),
        ({"pods": ["zk-0"]}, "pods must be an object (got list)"),
        ({"pods": {"zk-0": "pid 1"}}, "pods.zk-0: must be an object (got str)"),
        ({"pods": {"zk-0": {"pid": "1"}}}, "pods.zk-0.pid: must be an integer above 1"),
        ({"uid": "*"}, "uid must be this state dir's id"),
        ({"control_plane": {"pid": 4242, "created": "yesterday"}}, "created: must be a start"),
        ({"pods": {"zk-0": {"pid": None, "netns": "pc*-zk-0"}}}, "netns must match"),
    ],
)
def test_a_state_file_of_the_wrong_shape_is_one_line(
    tmp_path: Path, state: object, message: str
) -> None:
    dir_ = owned_state(tmp_path, state)
    result = peerchaos("down", "--state-dir", str(dir_.root))
    assert result.returncode == 1
    assert message in one_line(result) and str(dir_.state_file) in one_line(result)
    assert (dir_.root / "logs").is_dir()  # nothing removed


@pytest.fixture()
def bystander() -> subprocess.Popen[bytes]:
    """Someone else's process, in a group of its own (as a pod would be)."""
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_pid_without_its_start_time_is_never_signalled(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    created = process_identity(bystander.pid)
    assert created is not None
    assert kill_recorded(bystander.pid, None) is False
    assert kill_recorded(bystander.pid, created + 5) is False
    dir_ = owned_state(tmp_path, {"pods": {"zk-0": {"pid": bystander.pid, "created": None}}})
    (dir_.root / HELPERS).write_text(json.dumps([{"pid": bystander.pid}]))
    assert peerchaos("down", "--state-dir", str(dir_.root)).returncode == 0
    time.sleep(0.2)
    assert bystander.poll() is None
    # With the start time that /proc shows, the same record does end it.
    dir_ = owned_state(tmp_path, {"pods": {"zk-0": {"pid": bystander.pid, "created": created}}})
    assert f"pod zk-0 pid {bystander.pid}" in sweep(dir_)
    assert bystander.wait(timeout=5) == -signal.SIGKILL


def test_a_wildcard_device_id_is_refused_before_any_glob() -> None:
    for uid in ("*", "", "../x", "abcdef*"):
        with pytest.raises(PeerchaosError, match="device id: must be 6 hex digits"):
            net.stale_namespaces(uid)
    with pytest.raises(PeerchaosError, match="device name"):
        net.NodeNetwork("netns", "abc123", "10.244.0.0/24", "10.96.0.0/24").netns_name("zk*")


def test_chaos_run_refuses_a_foreign_state_dir_before_anything(tmp_path: Path) -> None:
    experiment = yaml.safe_load((REPO / "experiments/zk-leader-kill.yaml").read_text())
    experiment["configuration"]["state_dir"] = str(tmp_path / "theirs")
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(experiment))
    before = someones_files(tmp_path / "theirs")
    chaos = str(Path(sys.executable).parent / "chaos")
    args = [chaos, "--no-log-file", "run", str(path), "--journal-path", str(tmp_path / "j.json")]
    result = subprocess.run(
        [*args, "--var", f"results_dir={tmp_path}/results"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert [line for line in output.splitlines() if "not created by peerchaos" in line]
    assert snapshot(tmp_path / "theirs") == before
    assert not (tmp_path / "results").exists()  # refused before the run dir was made


def test_writes_survive_a_kill_at_any_moment(tmp_path: Path) -> None:
    """A writer SIGKILLed mid-write leaves the old content or the new, never a torn file."""
    target = tmp_path / "summary.json"
    write_atomic(target, json.dumps({"n": -1, "pad": ""}))
    writer = (
        "import json, sys\n"
        "from peerchaos.atomicfile import write_json_atomic\n"
        "for n in range(10**6):\n"
        "    write_json_atomic(sys.argv[1], {'n': n, 'pad': 'x' * 200_000})\n"
    )
    seen = set()
    for delay in (0.05, 0.11, 0.17, 0.23, 0.31, 0.37, 0.43, 0.5):
        process = subprocess.Popen([sys.executable, "-c", writer, str(target)], cwd=REPO)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        seen.add(json.loads(target.read_text())["n"])  # always whole
    assert len(seen) > 1  # the writer did get to write between the kills
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "summary.json"]
    assert all(name.startswith(".summary.json.") for name in leftovers)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_recycled_pid_is_not_the_recorded_process(bystander: subprocess.Popen[bytes]) -> None:
    created = process_identity(bystander.pid)
    assert created is not None and psutil.pid_exists(bystander.pid)
    assert kill_recorded(os.getpid(), process_identity(os.getpid())) is False  # never itself
    assert kill_recorded(True, created) is False  # type: ignore[arg-type]
    assert kill_recorded(bystander.pid, created, group=False) is True
    assert bystander.wait(timeout=5) == -signal.SIGKILL


def test_a_state_dir_too_deep_for_rays_sockets_keeps_rays_dir_beside_it(tmp_path: Path) -> None:
    from peerchaos.actors import RAY_TEMP_MAX, _make_ray_temp_dir

    deep = StateDir(tmp_path / ("d" * RAY_TEMP_MAX))
    deep.claim()
    ray_dir = Path(_make_ray_temp_dir(str(deep.root)))
    assert len(str(ray_dir)) <= RAY_TEMP_MAX and not ray_dir.is_relative_to(deep.root)
    assert ownership.verify_owned(ray_dir)  # private, with a marker of its own
    assert f"ray temp dir {ray_dir}" in sweep(deep)
    assert not ray_dir.exists() and not deep.root.exists()
