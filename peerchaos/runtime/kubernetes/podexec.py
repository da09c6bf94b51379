"""What the kubernetes runtime runs inside the system's container, over exec.

unready / ready create and remove the marker file the readiness probe checks; pause /
resume send SIGSTOP / SIGCONT to the server process. The pod shares its process
namespace, so the server is not PID 1 — to which a SIGSTOP from inside the namespace
would not be delivered.
"""

from __future__ import annotations

import json

from kubernetes import client
from kubernetes.stream import stream
from kubernetes.stream.ws_client import ERROR_CHANNEL

from peerchaos.errors import PeerchaosError
from peerchaos.runtime.kubernetes.api import call
from peerchaos.systems.base import MARKER

__all__ = ["MARKER", "exec_faults", "exec_in_pod", "find_server", "signal_server"]

UNREADY_COMMAND = ["sh", "-c", f"touch {MARKER}"]
READY_COMMAND = ["sh", "-c", f"rm -f {MARKER}"]
# The system's pattern (`System.server_process_pattern`) holds a bracket, which keeps this
# shell's own command line from matching it; it must hold no single quote.
_SIGNAL_SERVER = (
    "found=; for p in /proc/[0-9]*; do "
    "if grep -aq '{pattern}' \"$p/cmdline\" 2>/dev/null; then "
    'kill -{sig} "${{p#/proc/}}" && found=1; fi; done; test -n "$found"'
)
_FIND_SERVER = (
    "for p in /proc/[0-9]*; do if grep -aq '{pattern}' \"$p/cmdline\" 2>/dev/null; "
    'then echo "${{p#/proc/}}"; fi; done'
)


def signal_server(pattern: str, sig: str) -> list[str]:
    """Send `sig` (STOP, CONT) to every process whose command line matches `pattern`."""
    return ["sh", "-c", _SIGNAL_SERVER.format(pattern=pattern, sig=sig)]


def find_server(pattern: str) -> list[str]:
    """Print the PID of every process whose command line matches `pattern`."""
    return ["sh", "-c", _FIND_SERVER.format(pattern=pattern)]


def exec_faults(pattern: str) -> dict[str, tuple[list[str], str, str, str, tuple[str, bool]]]:
    """Each exec fault: command, its name in errors, the event it makes (kind, fault) and
    the mark it leaves in the runtime's fault memory (key, on)."""
    return {
        "make_unready": (UNREADY_COMMAND, "make unready", "fault", "unready", ("unready", True)),
        "make_ready": (READY_COMMAND, "make ready", "heal", "unready", ("unready", False)),
        "pause": (
            signal_server(pattern, "STOP"),
            "pause (SIGSTOP) in",
            "fault",
            "pause",
            ("paused", True),
        ),
        "resume": (
            signal_server(pattern, "CONT"),
            "resume (SIGCONT) the server in",
            "heal",
            "pause",
            ("paused", False),
        ),
    }


def exec_in_pod(
    api: client.ApiClient,
    namespace: str,
    pod: str,
    container: str,
    command: list[str],
    timeout_s: float = 15.0,
) -> tuple[int, str]:
    """Run `command` in the container over the exec WebSocket; (exit code, output).

    `stream` swaps the request function of the client it is given for the length of the
    call, so it gets a client of its own: the watcher keeps using the shared one.
    """
    own = client.ApiClient(api.configuration)
    core = client.CoreV1Api(own)
    what = f"exec in pod {namespace}/{pod}"
    try:
        response = call(
            what,
            lambda: stream(
                core.connect_get_namespaced_pod_exec,
                pod,
                namespace,
                container=container,
                command=command,
                stderr=True,
                stdin=False,
                stdout=True,
                tty=False,
                _preload_content=False,
            ),
        )
        response.run_forever(timeout=timeout_s)
        output = response.read_stdout() + response.read_stderr()
        if response.is_open():
            response.close()
            raise PeerchaosError(f"kubernetes: {what}: no exit within {timeout_s:g} s")
        code = exit_code(what, response.read_channel(ERROR_CHANNEL))
    finally:
        own.close()
    return code, output


def exit_code(what: str, status_text: str) -> int:
    """The command's exit code from the exec's status channel. A command that could not
    start at all (no such executable: an image without a shell) has no exit code; the
    status says why, and that becomes one line."""
    try:
        status = json.loads(status_text or "{}")
    except ValueError:
        status = {}
    if not isinstance(status, dict) or not status:
        return -1  # the connection ended without a status
    if status.get("status") == "Success":
        return 0
    causes = (status.get("details") or {}).get("causes") or []
    for cause in causes:
        if cause.get("reason") == "ExitCode" and str(cause.get("message", "")).isdigit():
            return int(cause["message"])
    message = status.get("message") or (causes[0].get("message") if causes else "") or "failed"
    raise PeerchaosError(f"kubernetes: {what}: {' '.join(str(message).split())}")
