"""Which directories are peerchaos's: only those it created, proven by a marker inside.

A state dir is created private (mode 0700, owned by the user running peerchaos) with a
`.peerchaos-state` marker holding a random id and the creation time. Anything that
removes or trusts a state dir — `down`, `up`'s sweep of leftovers, a run's teardown,
the watchdog — first checks the marker, the owner and the mode, and refuses in one
line, touching nothing, when one of them is wrong. The filesystem root, the home
directory and the current directory (or a parent of them) are refused by name, so an
empty or mistyped path can never become "remove everything here".

The default place for state dirs is not world-writable `/tmp`: `/run/peerchaos` as
root, `$XDG_RUNTIME_DIR/peerchaos` or `~/.local/state/peerchaos` otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from peerchaos.atomicfile import write_atomic
from peerchaos.errors import UsageError

MARKER = ".peerchaos-state"
MARKER_KIND = "peerchaos-state-dir"
ENV_VAR = "PEERCHAOS_STATE_DIR"
_ID = re.compile(r"^[0-9a-f]{32}$")


class NotOurs(UsageError):
    """A directory peerchaos will not touch: not created by it, or a protected place."""


def state_base() -> Path:
    """Where state dirs live by default: a place only this user can write to."""
    if os.geteuid() == 0:
        return Path("/run/peerchaos")
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime_dir and os.path.isabs(runtime_dir) and _private(Path(runtime_dir)):
        return Path(runtime_dir) / "peerchaos"
    return Path.home() / ".local" / "state" / "peerchaos"


def _private(folder: Path) -> bool:
    try:
        info = folder.stat()
    except OSError:
        return False
    return info.st_uid == os.geteuid() and not info.st_mode & 0o077


DEFAULT_STATE_DIR = state_base() / "default"


def resolve_state_dir(value: str | Path | None) -> Path:
    """The state dir a command was given (`--state-dir`, `$PEERCHAOS_STATE_DIR`) or the
    default; an empty value is refused, never taken for the current directory."""
    source = "--state-dir"
    if value is None:
        if ENV_VAR not in os.environ:
            return DEFAULT_STATE_DIR
        value, source = os.environ[ENV_VAR], ENV_VAR
    if not str(value).strip():
        raise NotOurs(
            f"{source}: empty (unset it for the default {DEFAULT_STATE_DIR}, or name a directory)"
        )
    return Path(value)


def refuse_protected(path: Path) -> None:
    """Refuse `/`, the home and the current directory and their parents, by name."""
    protected = {Path("/"): "the filesystem root"}
    with contextlib.suppress(OSError):  # a current directory that was removed: none
        protected.setdefault(Path.cwd().resolve(), "the current directory")
    with contextlib.suppress(RuntimeError):  # no home directory known: none to protect
        protected.setdefault(Path.home().resolve(), "your home directory")
    for candidate in {Path(os.path.abspath(path)), Path(os.path.realpath(path))}:
        for place, name in protected.items():
            if candidate == place or candidate in place.parents:
                what = name if candidate == place else f"a parent of {name} ({place})"
                raise NotOurs(f"state dir {path}: is {what}; refusing to touch it")


def read_marker(root: Path) -> dict[str, Any] | None:
    """The marker's content if it is a valid one of ours, else None."""
    try:
        fd = os.open(root / MARKER, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_size > 4096:
            return None
        marker = json.loads(os.read(fd, 4096))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not isinstance(marker, dict) or marker.get("kind") != MARKER_KIND:
        return None
    if not isinstance(marker.get("id"), str) or not _ID.match(marker["id"]):
        return None
    if not isinstance(marker.get("created"), (int, float)) or isinstance(marker["created"], bool):
        return None
    return marker


def verify_owned(root: Path) -> dict[str, Any]:
    """The marker of `root`, or NotOurs naming the path and why it is not ours."""
    refuse_protected(root)
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        raise NotOurs(f"state dir {root}: does not exist") from None
    except OSError as error:
        raise NotOurs(f"state dir {root}: cannot be read ({error.strerror})") from None
    why = None
    if stat.S_ISLNK(info.st_mode):
        why = "is a symbolic link"
    elif not stat.S_ISDIR(info.st_mode):
        why = "is not a directory"
    elif info.st_uid != os.geteuid():
        why = f"is owned by uid {info.st_uid}, not by this user (uid {os.geteuid()})"
    elif info.st_mode & 0o022:
        why = f"is group- or world-writable (mode {stat.S_IMODE(info.st_mode):04o})"
    marker = None if why else read_marker(root)
    if why is None and marker is None:
        why = f"was not created by peerchaos (no valid {MARKER} marker)"
    if why:
        raise NotOurs(f"state dir {root}: {why}; refusing to touch it")
    assert marker is not None
    return marker


def _write_marker(root: Path, marker_id: str) -> None:
    marker = {"kind": MARKER_KIND, "id": marker_id, "created": time.time(), "uid": os.geteuid()}
    write_atomic(root / MARKER, json.dumps(marker) + "\n", mode=0o600)


def new_marker_id() -> str:
    return secrets.token_hex(16)


def create_owned_dir(root: Path, marker_id: str | None = None) -> str:
    """Create `root` (0700) with its marker; returns the marker id. The dir must not exist."""
    refuse_protected(root)
    root.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.mkdir(root, 0o700)
    except FileExistsError:
        raise NotOurs(f"state dir {root}: already exists; refusing to take it over") from None
    marker_id = marker_id or new_marker_id()
    _write_marker(root, marker_id)
    return marker_id


def create_run_dir(prefix: str = "run-", base: Path | None = None) -> tuple[Path, str]:
    """A fresh private state dir with a unique name under the default place (one per run)."""
    base = base or state_base()
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=base))  # 0700, unique, atomic
    marker_id = new_marker_id()
    _write_marker(root, marker_id)
    return root, marker_id


def remove_owned(root: Path) -> bool:
    """Remove `root` if it is ours; False when there is nothing there; NotOurs otherwise."""
    if not os.path.lexists(root):
        return False
    verify_owned(root)
    shutil.rmtree(root, ignore_errors=True)
    return True


def empty_owned(root: Path) -> None:
    """Remove everything inside an owned dir but the dir and its marker (leftovers)."""
    verify_owned(root)
    for entry in root.iterdir():
        if entry.name == MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
