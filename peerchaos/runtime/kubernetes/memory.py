"""What the kubernetes runtime remembers on disk: the faults it has not healed, and its
own timeline of faults, heals and the cluster's pod and endpoint changes.

A cluster does not say that peerchaos paused a process or created a marker file, and a
deleted Endpoints object is gone from it; so they are written down in the runtime's
state dir, and a rollback, `peerchaos kube down` or a later process heals them too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from peerchaos.events import JsonlAppender, event, read_jsonl


class KubeMemory:
    """The faults file and the runtime-events file of one state dir."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def events_file(self) -> Path:
        return self.root / "runtime-events.jsonl"

    @property
    def faults_file(self) -> Path:
        return self.root / "kube-faults.json"

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append one runtime event, stamped now."""
        record = event("runtime", kind, **fields)
        self.root.mkdir(parents=True, exist_ok=True)
        with JsonlAppender(self.events_file) as log:
            log.append(record)
        return record

    def events_since(self, since: float) -> list[dict[str, Any]]:
        return [e for e in read_jsonl(self.events_file) if e["t"] >= since]

    def faults(self) -> dict[str, Any]:
        """{"paused": [pods], "unready": [pods], "endpoints": {service: object}}."""
        try:
            return json.loads(self.faults_file.read_text())
        except (OSError, ValueError):
            return {"paused": [], "unready": [], "endpoints": {}}

    def _save(self, faults: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.faults_file.write_text(json.dumps(faults))

    def mark(self, key: str, pod: str, on: bool) -> None:
        """Note that `pod` is (on) or no longer is (off) `paused` or `unready`."""
        faults = self.faults()
        names = set(faults[key])
        faults[key] = sorted(names | {pod} if on else names - {pod})
        self._save(faults)

    def keep_endpoints(self, service: str, obj: dict[str, Any]) -> None:
        faults = self.faults()
        faults["endpoints"][service] = obj
        self._save(faults)

    def take_endpoints(self, service: str) -> dict[str, Any] | None:
        """The Endpoints object kept for `service`, forgotten from now on."""
        faults = self.faults()
        kept = faults["endpoints"].pop(service, None)
        self._save(faults)
        return kept

    def forget_faults(self) -> None:
        self.faults_file.unlink(missing_ok=True)
