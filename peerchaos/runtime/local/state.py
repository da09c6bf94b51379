"""The local runtime's state dir: where every resource it creates is written down.

`state.json` is rewritten (atomically) whenever a process, namespace or address is
created, *before* the next one is, so `peerchaos down` can remove everything from the
file alone — also after the control plane was SIGKILLed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = Path(os.environ.get("PEERCHAOS_STATE_DIR", "/tmp/peerchaos-state"))


class StateDir:
    """Paths inside one state dir."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else DEFAULT_STATE_DIR
        self.root = self.root.absolute()

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
        return self.root / "helper-pids.json"

    def pod_dir(self, pod: str) -> Path:
        return self.root / "pods" / pod

    def unready_marker(self, pod: str) -> Path:
        # The local twin of the marker file the kubernetes runtime creates via exec.
        return self.pod_dir(pod) / "peerchaos-unready"

    def log_file(self, pod: str) -> Path:
        return self.logs_dir / f"{pod}.log"

    def exists(self) -> bool:
        return self.state_file.exists()

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def write(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".state-")
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.state_file)


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
