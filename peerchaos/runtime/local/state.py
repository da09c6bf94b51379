"""The local runtime's state dir: where every resource it creates is written down.

`state.json` is rewritten (temp file, fsync, rename) whenever a process, namespace or
address is created, *before* the next one is, so `peerchaos down` can remove
everything from the file alone — also after the control plane was SIGKILLed. What is
read back is checked before it is used: PIDs are positive integers with a start time,
the device id and namespace names match the patterns the runtime itself makes, and a
file of the wrong shape is one line naming it, never a traceback or a guess.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from peerchaos.atomicfile import write_json_atomic
from peerchaos.errors import PeerchaosError
from peerchaos.runtime.local import ownership
from peerchaos.runtime.local.network import short_id
from peerchaos.runtime.local.ownership import DEFAULT_STATE_DIR  # noqa: F401 (re-exported)

HELPER_PIDS = "helper-pids.json"
RAY_TEMP_LINK = "ray-temp-dir"  # where Ray's temp dir is when it cannot be inside
UID = re.compile(r"^[0-9a-f]{6}$")
# A pod name as the spec allows it (a DNS label), after the `pc<uid>-` prefix.
POD_NAME = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"


class StateDir:
    """Paths inside one state dir, and the ownership rules for the dir itself."""

    def __init__(self, root: str | Path | None = None) -> None:
        given = ownership.resolve_state_dir(root)
        # abspath, not resolve(): `..` is folded but a symlink stays visible (and refused).
        self.root = Path(os.path.abspath(given))

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def objects_file(self) -> Path:
        return self.root / "objects.yaml"

    @property
    def options_file(self) -> Path:
        return self.root / "options.json"

    @property
    def control_socket(self) -> Path:
        return self.root / "control.sock"

    @property
    def daemon_log(self) -> Path:
        return self.root / "control-plane.log"

    @property
    def events_file(self) -> Path:
        return self.root / "runtime-events.jsonl"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def helper_pids_file(self) -> Path:
        # Processes a run started beside the ensemble (Ray's), by PID and start time.
        return self.root / HELPER_PIDS

    def pod_dir(self, pod: str) -> Path:
        return self.root / "pods" / pod

    def unready_marker(self, pod: str) -> Path:
        # The local twin of the marker file the kubernetes runtime creates via exec.
        return self.pod_dir(pod) / "peerchaos-unready"

    def log_file(self, pod: str) -> Path:
        return self.logs_dir / f"{pod}.log"

    # -- ownership ------------------------------------------------------------------

    def present(self) -> bool:
        """Whether anything is at the path (a dangling symlink counts)."""
        return os.path.lexists(self.root)

    def verify(self) -> dict[str, Any]:
        """The marker, or NotOurs in one line: this dir is not peerchaos's."""
        return ownership.verify_owned(self.root)

    def claim(self) -> None:
        """Create the dir with its marker, or check that an existing one is ours."""
        if self.present():
            self.verify()
        else:
            ownership.create_owned_dir(self.root)

    def exists(self) -> bool:
        return self.state_file.exists()

    # -- state.json -----------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        """`state.json`, checked; {} when there is none yet."""
        try:
            text = self.state_file.read_text()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise PeerchaosError(f"{self.state_file}: cannot be read ({error.strerror})") from None
        try:
            state = json.loads(text)
        except ValueError as error:
            raise PeerchaosError(f"{self.state_file}: not valid JSON ({error})") from None
        return check_state(state, str(self.state_file), expected_uid(self.root))

    def write(self, state: dict[str, Any]) -> None:
        write_json_atomic(self.state_file, state, mode=0o600, indent=1, sort_keys=True)

    def read_helpers(self) -> list[dict[str, float]]:
        """`helper-pids.json`, checked: a list of {pid, created}; [] when there is none."""
        path = self.helper_pids_file
        try:
            recorded = json.loads(path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            raise PeerchaosError(f"{path}: unreadable ({error})") from None
        if not isinstance(recorded, list):
            raise PeerchaosError(f"{path}: must be a list (got {type(recorded).__name__})")
        return [check_process(item, f"{path}[{i}]") for i, item in enumerate(recorded)]


def expected_uid(root: Path) -> str:
    """The device id the control plane derives from this dir (names of netns, links)."""
    return short_id(root)


def _kind(value: Any) -> str:
    return type(value).__name__


def check_process(item: Any, where: str, required: bool = True) -> dict[str, Any]:
    """A recorded process: {"pid": int > 1, "created": seconds}; pid null when none."""
    if not isinstance(item, dict):
        raise PeerchaosError(f"{where}: must be an object (got {_kind(item)})")
    pid, created = item.get("pid"), item.get("created")
    if pid is None and not required:
        return item
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        raise PeerchaosError(f"{where}.pid: must be an integer above 1 (got {pid!r})")
    if created is not None and (
        not isinstance(created, (int, float)) or isinstance(created, bool) or created <= 0
    ):
        raise PeerchaosError(f"{where}.created: must be a start time in seconds (got {created!r})")
    return item


def check_state(state: Any, where: str, uid: str) -> dict[str, Any]:
    """The parts of `state.json` anything acts on, checked against the runtime's patterns."""
    if not isinstance(state, dict):
        raise PeerchaosError(f"{where}: must be an object (got {_kind(state)})")
    recorded_uid = state.get("uid")
    if recorded_uid is not None and (not isinstance(recorded_uid, str) or recorded_uid != uid):
        raise PeerchaosError(
            f"{where}: uid must be this state dir's id {uid!r} (got {recorded_uid!r})"
        )
    bridge = state.get("bridge")
    if bridge is not None and bridge != f"pcbr{uid}":
        raise PeerchaosError(f"{where}: bridge must be 'pcbr{uid}' or null (got {bridge!r})")
    for key in ("status", "mode"):
        if state.get(key) is not None and not isinstance(state[key], str):
            raise PeerchaosError(f"{where}: {key} must be a string (got {_kind(state[key])})")
    plane = state.get("control_plane")
    if plane is not None:
        check_process(plane, f"{where}: control_plane", required=False)
    pods = state.get("pods")
    if pods is not None and not isinstance(pods, dict):
        raise PeerchaosError(f"{where}: pods must be an object (got {_kind(pods)})")
    netns = re.compile(rf"^pc{uid}-{POD_NAME}$")
    for name, pod in (pods or {}).items():
        check_process(pod, f"{where}: pods.{name}", required=False)
        ns = pod.get("netns")
        if ns is not None and (not isinstance(ns, str) or not netns.match(ns)):
            raise PeerchaosError(
                f"{where}: pods.{name}.netns must match pc{uid}-<pod> (got {ns!r})"
            )
    return state


class EventLog:
    """Append-only JSONL of the runtime's own changes (pods, endpoints, faults)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a", buffering=1)

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"t": time.time(), "source": "runtime", "kind": kind, **fields}
        self._handle.write(json.dumps(event, sort_keys=True) + "\n")
        return event

    def close(self) -> None:
        self._handle.close()
