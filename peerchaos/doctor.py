"""The doctor: can this machine run the local runtime, and what to install if it cannot.

The system's own needs (its server's binaries or jars) come from the system seam
(`System.local_checks`); the runtime's (root, iproute2, iptables, dig) from here.

Each check looks, never changes: it tests files, searches PATH and runs read-only commands
(`java -version`, `ip netns list`, `iptables -L -n`) with short timeouts. A failing check
carries the exact command that fixes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from peerchaos.systems import DEFAULT_SYSTEM, get_system

# A cold JVM takes a second or two on a busy 2-core machine; the others answer at once.
JAVA_TIMEOUT_S = 15.0
COMMAND_TIMEOUT_S = 5.0

INSTALL_IPROUTE2 = "apt-get install -y iproute2"
INSTALL_IPTABLES = "apt-get install -y iptables"
INSTALL_DNSUTILS = "apt-get install -y dnsutils"
BECOME_ROOT = (
    "run as root (sudo) for network namespaces; without root peerchaos uses the loopback mode"
)


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, whether it passed, what was seen, how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    # Optional checks (dig, root) degrade peerchaos rather than stop it.
    required: bool = True


def run_read_only(argv: list[str], timeout: float) -> tuple[bool, str]:
    """Run a read-only command; (exit status 0, its first non-empty output line)."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout:g} s"
    except OSError as error:
        return False, error.strerror or str(error)
    # `java -version` writes to stderr; most tools write errors there too.
    lines = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines()]
    first = next((line for line in lines if line), "no output")
    if done.returncode != 0:
        return False, f"exit {done.returncode}: {first}"
    return True, first


def _root() -> Check:
    if os.geteuid() == 0:
        return Check(
            "root", True, "running as root: network namespaces and partitions", None, False
        )
    return Check(
        "root", False, f"running as uid {os.geteuid()}: loopback mode only", BECOME_ROOT, False
    )


def _tool(name: str, binary: str, probe: list[str] | None, fix: str, required: bool) -> Check:
    """`binary` is on PATH and, when `probe` is given, the probe command succeeds."""
    path = shutil.which(binary)
    if path is None:
        return Check(name, False, f"{binary} not found on PATH", fix, required)
    if probe is None:
        return Check(name, True, path, None, required)
    argv = [path, *probe]
    ok, line = run_read_only(argv, COMMAND_TIMEOUT_S)
    command = " ".join([binary, *probe])
    if not ok:
        # Present but refused (no CAP_NET_ADMIN in a container, a missing kernel module):
        # reinstalling will not help, so there is no install command to offer.
        return Check(name, False, f"`{command}` failed ({line})", None, required)
    return Check(name, True, f"{path}; `{command}` works", None, required)


def diagnose(java_dir: Path | None = None, system: str = DEFAULT_SYSTEM) -> list[Check]:
    """Every check, in the order a person would fix them (`java_dir`: where the system's
    files are looked for instead of their usual place)."""
    root = os.geteuid() == 0
    # Without root the local runtime uses 127.x addresses and offers no partitions, so
    # iproute2 and iptables matter (and can only be exercised) when running as root.
    return [
        *get_system(system).local_checks(java_dir),
        _root(),
        _tool("iproute2", "ip", ["netns", "list"] if root else None, INSTALL_IPROUTE2, root),
        _tool("iptables", "iptables", ["-L", "-n"] if root else None, INSTALL_IPTABLES, root),
        _tool("dig", "dig", None, INSTALL_DNSUTILS, False),
    ]


def ready(checks: Iterable[Check]) -> bool:
    """True when every required check passed; optional ones only degrade peerchaos."""
    return all(check.ok for check in checks if check.required)


def _status(check: Check) -> str:
    if check.ok:
        return "ok"
    return "FAIL" if check.required else "warn"


def format_checks(checks: Iterable[Check]) -> str:
    """A plain-text table: status, name, detail, and the fix under each failing check."""
    checks = list(checks)
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"{_status(check):<4}  {check.name:<{width}}  {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    failed = [check.name for check in checks if check.required and not check.ok]
    if failed:
        lines.append(f"not ready: {', '.join(failed)} failed")
    else:
        lines.append("ready")
    return "\n".join(lines)
