"""A run directory: where one run's evidence lives, so it can be re-analysed offline.

`results/<experiment>/<run-id>/` holds `events.jsonl`, `history.jsonl`,
`ground_truth.json`, `summary.json`, `meta.json`, `peers/*.log` (and, from `chaos run`,
`journal.json`, plots and reports). Checks and measurements read only these files.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from peerchaos.atomicfile import write_json_atomic
from peerchaos.errors import UsageError

RESULTS = Path("results")


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, experiment: str, root: str | Path = RESULTS) -> RunDir:
        run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)
        path = Path(root) / experiment / run_id
        path.mkdir(parents=True)
        (path / "peers").mkdir()
        return cls(path)

    @classmethod
    def existing(cls, path: str | Path) -> RunDir:
        run = cls(path)
        if not run.path.is_dir():
            raise UsageError(f"run dir {path}: no such directory")
        if not run.events.exists() and not run.history.exists():
            raise UsageError(f"run dir {path}: holds neither events.jsonl nor history.jsonl")
        return run

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> str:
        return self.path.parent.name

    @property
    def events(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def ground_truth(self) -> Path:
        return self.path / "ground_truth.json"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    @property
    def meta(self) -> Path:
        return self.path / "meta.json"

    @property
    def peers(self) -> Path:
        return self.path / "peers"

    def read_json(self, path: Path, default: Any = None) -> Any:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return default

    def write_json(self, path: Path, data: Any) -> None:
        """Written whole or not at all (temp file, fsync, rename): a run killed while
        writing leaves the previous `summary.json` / `meta.json`, never a torn one."""
        write_json_atomic(path, data, indent=2, sort_keys=False, default=str)
