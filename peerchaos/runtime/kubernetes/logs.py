"""The peers' logs on a cluster, kept in the run dir as `peers/<pod>.log`.

A pod's log in the API is its container's current instance; after a container restart
the instance before it is still there (`previous=true`), older ones are gone, and a
deleted pod's log goes with the pod. So the runtime keeps a killed pod's log itself just
before the kill (in its state dir), and `copy_logs` writes, oldest first, the kept logs
of killed pods, the previous container's log and the current one — each instance after
a line `# peerchaos: starting at <ISO-8601 time> (container start|container restart)`,
the line the local runtime writes before each process start and the log parser takes
as one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kubernetes import client
from kubernetes.client.rest import ApiException

from peerchaos.errors import PeerchaosError
from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.ownership import Ownership

KILLED_LOGS = "killed-logs"
# A log read before a kill must not hold the kill up for long.
KILL_LOG_TIMEOUT_S = 5.0


def pod_log(
    core: client.CoreV1Api,
    namespace: str,
    pod: str,
    *,
    previous: bool = False,
    timeout_s: float | None = None,
    container: str,
) -> str | None:
    """The system container's log of `pod` (with `previous`, of the instance before
    the current one; None when there is none — the API answers 400 then)."""
    what = f"read {'previous ' if previous else ''}log of pod {namespace}/{pod}"

    def read() -> str | None:
        try:
            return core.read_namespaced_pod_log(
                pod, namespace, container=container, previous=previous, _request_timeout=timeout_s
            )
        except ApiException as error:
            if previous and error.status == 400:
                return None
            raise

    return kubeapi.call(what, read)


def start_line(when: datetime | None, restart: bool) -> str:
    """The line before one container instance's log (a restart: one after an earlier
    instance of the same pod's container)."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else "unknown"
    why = "container restart" if restart else "container start"
    return f"# peerchaos: starting at {stamp} ({why})\n"


def _container(pod: client.V1Pod, container: str) -> client.V1ContainerStatus | None:
    for status in pod.status.container_statuses or []:
        if status.name == container:
            return status
    return None


def instance_logs(
    core: client.CoreV1Api,
    pod: client.V1Pod,
    timeout_s: float | None = None,
    *,
    container: str,
) -> str:
    """The previous (if the container restarted) and current instance's logs of `pod`."""
    name, namespace = pod.metadata.name, pod.metadata.namespace
    status = _container(pod, container)
    restarts = (status.restart_count or 0) if status else 0
    parts = []
    if restarts:
        previous = pod_log(
            core, namespace, name, previous=True, timeout_s=timeout_s, container=container
        )
        if previous is not None:
            ended = status.last_state.terminated if status and status.last_state else None
            parts.append(start_line(ended.started_at if ended else None, restarts > 1) + previous)
    state = status.state if status else None
    running = state.running if state else None
    terminated = state.terminated if state else None
    started = running.started_at if running else (terminated.started_at if terminated else None)
    current = pod_log(core, namespace, name, timeout_s=timeout_s, container=container) or ""
    parts.append(start_line(started, restarts > 0) + current)
    return "".join(parts)


def keep_killed_log(core: client.CoreV1Api, root: Path, pod: client.V1Pod, container: str) -> None:
    """Keep the logs of `pod` (about to be deleted) in the state dir. Best effort: a log
    that cannot be read does not stop the kill."""
    try:
        text = instance_logs(core, pod, timeout_s=KILL_LOG_TIMEOUT_S, container=container)
    except PeerchaosError:
        return
    kept = root / KILLED_LOGS
    kept.mkdir(parents=True, exist_ok=True)
    name = pod.metadata.name
    (kept / f"{name}.{len(list(kept.glob(f'{name}.*.log'))):04d}.log").write_text(text)


def copy_logs(
    core: client.CoreV1Api,
    ownership: Ownership,
    root: Path,
    pods: list[str],
    dest: Path,
    *,
    container: str,
    ours: Callable[[client.V1Pod], bool] | None = None,
) -> None:
    """`dest/<pod>.log`: kept logs of the pod's killed instances, then its own now.
    `ours`: which pods of those names are the ensemble's (default: the ownership labels;
    an attached ensemble's pods are proven by their StatefulSet instead)."""
    ours = ours or ownership.owns
    dest.mkdir(parents=True, exist_ok=True)
    for name in pods:
        parts = [p.read_text() for p in sorted((root / KILLED_LOGS).glob(f"{name}.*.log"))]
        try:
            found = kubeapi.call(
                f"read pod {ownership.namespace}/{name}",
                lambda name=name: kubeapi.missing(
                    lambda: core.read_namespaced_pod(name, ownership.namespace)
                ),
            )
            # Another team's pod of that name is not ours to copy.
            if found is not None and ours(found):
                parts.append(instance_logs(core, found, container=container))
        except PeerchaosError:
            pass  # a pod that is gone (or not running yet) has no log to keep now
        if parts:
            (dest / f"{name}.log").write_text("".join(parts))


def forget_killed_logs(root: Path) -> None:
    """Remove the kept logs (teardown): only the files `keep_killed_log` writes."""
    kept = root / KILLED_LOGS
    for path in kept.glob("*.log"):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        kept.rmdir()
