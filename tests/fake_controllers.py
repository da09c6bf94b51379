"""The controllers and the kubelet behind the fake API server, as far as the runtime sees them.

A StatefulSet makes its pods (owner reference, the template's labels) and claims (the
claim template's labels plus the selector's), never taking over an existing pod or
claim of that name; a deleted pod of a set comes back with a new IP; a Service with a
selector gets Endpoints computed from its pods' readiness, labelled as the Service is
(as the endpoints controller copies them); a pod's view carries its container statuses
(restart count, start times). The kubelet part: each container instance's log (the
previous one readable with previous=true, 400 when there is none; `tailLines`) and exec
of the commands the runtime runs (the readiness marker, SIGSTOP/SIGCONT of the server,
listing the server's PID). What the container image holds, as the kubelet would find it:
images without a shell (an exec of `sh` cannot start, reported as the API does), images
whose server is PID 1 of the container (a SIGSTOP from inside is dropped, as the kernel
drops it, unless the pod shares its process namespace), and the log lines each image
writes (`log_line`).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

MARKER = "/tmp/peerchaos-unready"


def now_rfc3339(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class PodState:
    """What the kubelet knows of a pod: its IP, the exec-visible state, and each of its
    container's instances (started at, log), the current one last."""

    ip: str
    marker: bool = False  # the readiness marker file exists
    paused: bool = False
    shell: bool = True
    server_pid: int = 7
    execs: list[list[str]] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


class Controllers:
    """The controllers' half of `FakeCluster` (which holds the objects and the lock)."""

    lock: threading.RLock
    objects: dict[tuple[str, str, str], dict[str, Any]]
    pods: dict[tuple[str, str], PodState]
    recreate_delay_s: float
    _ips: Iterator[str]
    shell_less_images: set[str]
    pid_one_images: set[str]
    # (pod, image, instance) -> that container instance's log; None: a generic line.
    log_line: Callable[[str, str, int], str] | None

    def put(self, res: str, obj: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def add_pod(
        self,
        ns: str,
        name: str,
        labels: dict[str, str],
        spec: dict[str, Any],
        owner: dict[str, Any] | None = None,
    ) -> None:
        ip = next(self._ips)
        state = PodState(ip)
        image = str(((spec.get("containers") or [{}])[0]).get("image", ""))
        state.shell = image not in self.shell_less_images
        if image in self.pid_one_images and not spec.get("shareProcessNamespace"):
            state.server_pid = 1
        self.pods[(ns, name)] = state
        self._start_container(ns, name, state, image)
        meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": dict(labels)}
        if owner is not None:
            meta["ownerReferences"] = [_reference(owner)]
        self.put(
            "pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": meta,
                "spec": copy.deepcopy(spec),
                "status": {"phase": "Running", "podIP": ip},
            },
        )

    def restart_container(self, ns: str, pod: str) -> None:
        """The container exits and the kubelet starts it again (same pod, same IP)."""
        with self.lock:
            state = self.pods[(ns, pod)]
            containers = self.objects[("pods", ns, pod)]["spec"].get("containers") or [{}]
            self._start_container(ns, pod, state, str(containers[0].get("image", "")))

    def _start_container(self, ns: str, pod: str, state: PodState, image: str = "") -> None:
        state.starts.append(time.time())
        instance = len(state.starts)
        if self.log_line is not None:
            state.logs.append(self.log_line(pod, image, instance))
            return
        state.logs.append(
            f"2026-11-26 00:00:0{instance % 10},000 [myid:1] - INFO {pod} started "
            f"(instance {instance})\n"
        )

    def _statefulset_pods(self, sts: dict[str, Any]) -> None:
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        template = sts["spec"]["template"]
        selector = sts["spec"]["selector"].get("matchLabels", {})
        for ordinal in range(int(sts["spec"].get("replicas", 1))):
            pod = f"{name}-{ordinal}"
            for claim in sts["spec"].get("volumeClaimTemplates") or []:
                claim_name = f"{claim['metadata']['name']}-{pod}"
                if ("persistentvolumeclaims", ns, claim_name) in self.objects:
                    continue  # an existing claim of that name is used as it is
                labels = {**claim["metadata"].get("labels", {}), **selector}
                self.put(
                    "persistentvolumeclaims",
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {"name": claim_name, "namespace": ns, "labels": labels},
                        "spec": copy.deepcopy(claim["spec"]),
                    },
                )
            if ("pods", ns, pod) in self.objects:
                continue  # someone else's pod of that name: not adopted, not replaced
            labels = {
                **template["metadata"].get("labels", {}),
                "statefulset.kubernetes.io/pod-name": pod,
            }
            self.add_pod(ns, pod, labels, template["spec"], owner=sts)

    def _owner(self, ns: str, pod: dict[str, Any]) -> dict[str, Any] | None:
        """The StatefulSet that owns `pod` (by its owner reference), if it still exists."""
        for ref in pod["metadata"].get("ownerReferences") or []:
            found = self.objects.get(("statefulsets", ns, ref["name"]))
            if found is not None and found["metadata"]["uid"] == ref["uid"]:
                return found
        return None

    def _recreate(self, ns: str, pod: dict[str, Any]) -> None:
        time.sleep(self.recreate_delay_s)
        name = pod["metadata"]["name"]
        with self.lock:
            owner = self._owner(ns, pod)
            if owner is not None and ("pods", ns, name) not in self.objects:
                labels = pod["metadata"].get("labels", {})
                self.add_pod(ns, name, labels, pod["spec"], owner=owner)

    def _view(self, res: str, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as a reader sees it now: pod readiness and container statuses."""
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        if res == "pods":
            state = self.pods.get((meta["namespace"], meta["name"]))
            ready = state is not None and not state.marker
            obj["status"]["conditions"] = [
                {"type": "Ready", "status": "True" if ready else "False"}
            ]
            starts = state.starts if state else []
            statuses = []
            for container in obj["spec"].get("containers") or []:
                status: dict[str, Any] = {
                    "name": container.get("name"),
                    "image": container.get("image", "zookeeper:3.8"),
                    "imageID": "",
                    "ready": ready,
                    "restartCount": max(len(starts) - 1, 0),
                }
                if starts:
                    status["state"] = {"running": {"startedAt": now_rfc3339(starts[-1])}}
                if len(starts) > 1:
                    status["lastState"] = {
                        "terminated": {
                            "exitCode": 137,
                            "reason": "Error",
                            "startedAt": now_rfc3339(starts[-2]),
                            "finishedAt": now_rfc3339(starts[-1]),
                        }
                    }
                statuses.append(status)
            obj["status"]["containerStatuses"] = statuses
        return obj

    def _endpoints(self, ns: str, name: str) -> dict[str, Any] | None:
        stored = self.objects.get(("endpoints", ns, name))
        service = self.objects.get(("services", ns, name))
        selector = (service or {}).get("spec", {}).get("selector")
        if not selector:
            return copy.deepcopy(stored) if stored else None
        publish = service["spec"].get("publishNotReadyAddresses", False)
        ready, not_ready = [], []
        for (res, space, pod), obj in sorted(self.objects.items()):
            labels = obj["metadata"].get("labels", {})
            if res != "pods" or space != ns or any(labels.get(k) != v for k, v in selector.items()):
                continue
            state = self.pods[(ns, pod)]
            address = {"ip": state.ip, "hostname": pod}
            (ready if publish or not state.marker else not_ready).append(address)
        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        # The endpoints controller copies the Service's labels (and marks headless ones).
        labels = dict(service["metadata"].get("labels") or {})
        if service["spec"].get("clusterIP") == "None":
            labels["service.kubernetes.io/headless"] = ""
        return {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, service["metadata"]["uid"])),
                "resourceVersion": service["metadata"]["resourceVersion"],
            },
            "subsets": [subset] if subset else [],
        }

    def log(self, ns: str, pod: str, query: dict) -> tuple[int, Any]:
        """A container's log: the current instance, or with previous=true the one before."""
        with self.lock:
            found = self.objects.get(("pods", ns, pod))
            state = self.pods.get((ns, pod))
            if found is None or state is None:
                return 404, status(404, f'pods "{pod}" not found')
            names = [c.get("name") for c in found["spec"].get("containers") or []]
            container = (query.get("container") or [names[0] if names else ""])[0]
            if container not in names:
                message = f"container {container} is not valid for pod {pod}"
                return 400, status(400, message, "BadRequest")
            if (query.get("previous") or ["false"])[0] == "true":
                if len(state.logs) < 2:
                    message = (
                        f'previous terminated container "{container}" in pod "{pod}" not found'
                    )
                    return 400, status(400, message, "BadRequest")
                return 200, _tail(state.logs[-2], query)
            return 200, _tail(state.logs[-1], query)

    def exec(
        self, ns: str, pod: str, command: list[str], container: str | None = None
    ) -> tuple[int | None, str]:
        """Run what the runtime asks a container to run; (exit code, stdout), or (None,
        why) when the command cannot start at all (the API's exec Failure status)."""
        with self.lock:
            state = self.pods.get((ns, pod))
            if state is None:
                return 1, f"pod {pod} is not running"
            found = self.objects.get(("pods", ns, pod)) or {}
            names = [c.get("name") for c in found.get("spec", {}).get("containers") or []]
            if container is not None and container not in names:
                return None, f"container {container} is not valid for pod {pod}"
            if not state.shell:
                return None, (
                    "Internal error occurred: error executing command in container: failed "
                    "to exec in container: failed to start exec: OCI runtime exec failed: "
                    "exec failed: unable to start container process: exec: "
                    f'"{command[0]}": executable file not found in $PATH: unknown'
                )
            state.execs.append(list(command))
            script = command[-1]
            # The kernel drops a SIGSTOP sent to PID 1 from inside its namespace.
            reaches = state.server_pid != 1
            if f"touch {MARKER}" in script:
                state.marker = True
            elif f"rm -f {MARKER}" in script:
                state.marker = False
            elif "kill -STOP" in script:
                state.paused = state.paused or reaches
            elif "kill -CONT" in script:
                state.paused = False
            elif "QuorumPeer[M]ain" in script and "echo" in script:
                return 0, f"{state.server_pid}\n"
            else:
                return 127, f"sh: {script}: not found"
            return 0, ""


def _tail(text: str, query: dict) -> str:
    """The last `tailLines` lines of a log (all without the parameter)."""
    wanted = (query.get("tailLines") or [None])[0]
    if wanted is None:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[-int(wanted) :]) if int(wanted) > 0 else ""


def _reference(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner.get("apiVersion", "apps/v1"),
        "kind": owner.get("kind", "StatefulSet"),
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def status(code: int, message: str, reason: str = "NotFound") -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
