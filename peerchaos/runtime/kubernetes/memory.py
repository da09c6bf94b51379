"""What the kubernetes runtime remembers on disk: the faults it has not healed, and its
own timeline of faults, heals and the cluster's pod and endpoint changes.

A cluster does not say that peerchaos paused a process or created a marker file, and a
deleted Endpoints object is gone from it; so they are written down in the runtime's
state dir, and a rollback, `peerchaos kube down` or a later process heals them too.

The faults file must survive a kill and two shells at once: it is replaced whole (a temp
file beside it, fsynced, renamed over it), every read-modify-write holds an exclusive
`flock` on a lock file beside it, and a file that cannot be read is an error — never
"no faults", which would make `down` forget a paused or unready pod.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from peerchaos.errors import PeerchaosError
from peerchaos.events import JsonlAppender, event, read_jsonl


def no_faults() -> dict[str, Any]:
    return {"paused": [], "unready": [], "endpoints": {}}


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

    @property
    def lock_file(self) -> Path:
        return self.root / "kube-faults.lock"

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
        """{"paused": [pods], "unready": [pods], "endpoints": {service: object}}; no file
        is no faults, a file that is not that is a one-line error."""
        try:
            text = self.faults_file.read_text()
        except FileNotFoundError:
            return no_faults()
        except OSError as error:
            raise self._unreadable(error.strerror or str(error)) from None
        try:
            faults = json.loads(text)
        except ValueError as error:
            raise self._unreadable(f"not JSON: {error}") from None
        if not (
            isinstance(faults, dict)
            and set(faults) == set(no_faults())
            and all(isinstance(faults[k], list) for k in ("paused", "unready"))
            and all(isinstance(p, str) for p in faults["paused"] + faults["unready"])
            and isinstance(faults["endpoints"], dict)
        ):
            raise self._unreadable("not the shape peerchaos writes")
        return faults

    def _unreadable(self, why: str) -> PeerchaosError:
        return PeerchaosError(
            f"{self.faults_file}: unreadable ({why}); it lists the pods peerchaos paused or "
            "made unready and the Endpoints it deleted — heal those by hand, then remove it"
        )

    @contextlib.contextmanager
    def _updating(self) -> Iterator[dict[str, Any]]:
        """The faults, to change in place; written back whole on leaving, all under the lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.lock_file.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            faults = self.faults()
            yield faults
            self._save(faults)

    def _save(self, faults: dict[str, Any]) -> None:
        fd, temp = tempfile.mkstemp(prefix=".kube-faults.", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(faults, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.faults_file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        # The rename itself is durable once the directory is.
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def mark(self, key: str, pod: str, on: bool) -> None:
        """Note that `pod` is (on) or no longer is (off) `paused` or `unready`."""
        with self._updating() as faults:
            names = set(faults[key])
            faults[key] = sorted(names | {pod} if on else names - {pod})

    def keep_endpoints(self, service: str, obj: dict[str, Any]) -> None:
        with self._updating() as faults:
            faults["endpoints"][service] = obj

    def take_endpoints(self, service: str) -> dict[str, Any] | None:
        """The Endpoints object kept for `service`, forgotten from now on."""
        with self._updating() as faults:
            return faults["endpoints"].pop(service, None)

    def forget_faults(self) -> None:
        if not self.root.is_dir():
            return  # nothing was ever remembered here
        with self.lock_file.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.faults_file.unlink(missing_ok=True)
