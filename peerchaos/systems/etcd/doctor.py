"""What the local runtime needs to run etcd here: Debian's `etcd-server` (etcd 3.4)."""

from __future__ import annotations

import shutil
from pathlib import Path

from peerchaos.doctor import COMMAND_TIMEOUT_S, Check, run_read_only

INSTALL_ETCD = "apt-get install -y etcd-server"


def local_checks(files: Path | None = None) -> list[Check]:
    """The etcd binary (`files`: a folder holding it instead of PATH) and its version."""
    etcd = str(files / "etcd") if files is not None else shutil.which("etcd")
    if etcd is None or not Path(etcd).is_file():
        return [Check("etcd", False, f"etcd not found ({files or 'on PATH'})", INSTALL_ETCD)]
    ok, line = run_read_only([etcd, "--version"], COMMAND_TIMEOUT_S)
    if not ok:
        return [Check("etcd", False, f"{etcd} --version failed ({line})", INSTALL_ETCD)]
    return [Check("etcd", True, f"{line} ({etcd})")]
