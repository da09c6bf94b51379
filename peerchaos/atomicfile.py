"""Writes that survive a kill: a file is either its old content or its new one, never torn.

The data goes to a temp file in the same directory, is flushed to disk (fsync), and is
renamed over the target; the directory is fsynced too, so the rename itself is on disk.
A reader — `peerchaos down` after a SIGKILL, `trend` on last night's run — never sees
half a `state.json`, `journal.json` or `summary.json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(
    path: str | Path, data: str | bytes, mode: int = 0o644, fsync: bool = True
) -> None:
    """Replace `path` with `data` in one step (temp file, fsync, rename).

    `fsync=False` keeps the atomic rename but skips the flush to disk, for small files
    rewritten many times a second whose loss on power failure costs nothing.
    """
    target = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync:
        _fsync_dir(target.parent)


def write_json_atomic(path: str | Path, data: Any, mode: int = 0o644, **dumps: Any) -> None:
    """`write_atomic` of `json.dumps(data, **dumps)` plus a final newline."""
    write_atomic(path, json.dumps(data, **dumps) + "\n", mode=mode)


def _fsync_dir(folder: Path) -> None:
    # Without this the rename may still be lost on a crash (ext4, xfs: the dirent).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
