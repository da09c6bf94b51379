"""`KubernetesRuntime`: the runtime seam on a real cluster, through the official client.

The ensemble is what `peerchaos.manifests.render` gives (the kubernetes.io tutorial's
StatefulSet running the spec's system's container, headless and client Services, PDB, or
a selectorless Service with hand-written Endpoints). The faults are `faults.FaultActions`,
the Service and pod addresses `services.ServiceViews`.

Safety: a namespace without the label `peerchaos.io/allow=true` is refused before
anything is touched, and an object — pods included — is patched, deleted or broken only
once proven the ensemble's by its ownership labels (`ownership.Ownership`; the guarded
writes are `changes`). With `dry_run` nothing is changed: every change is written to
`plan` instead."""

from __future__ import annotations

import atexit
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.manifests import DEPLOY_ID_ANNOTATION, find, render
from peerchaos.runtime.base import Capabilities, PodInfo
from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.changes import apply_all, delete_all_owned, read_object
from peerchaos.runtime.kubernetes.claims import delete_claims
from peerchaos.runtime.kubernetes.faults import FaultActions
from peerchaos.runtime.kubernetes.logs import copy_logs, forget_killed_logs, pod_log
from peerchaos.runtime.kubernetes.memory import KubeMemory
from peerchaos.runtime.kubernetes.objects import pod_info
from peerchaos.runtime.kubernetes.ownership import Ownership
from peerchaos.runtime.kubernetes.services import ServiceViews
from peerchaos.runtime.kubernetes.watch import ClusterWatcher
from peerchaos.spec import EnsembleSpec
from peerchaos.systems import get_system

FAULTS = frozenset({"kill", "unready", "pause", "partition", "endpoints"})


class KubernetesRuntime(FaultActions, ServiceViews):
    """The ensemble in a namespace of a real cluster (kind, minikube, a managed one)."""

    name = "kubernetes"

    def __init__(
        self,
        spec: EnsembleSpec,
        state_dir: str | Path,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        host: str | None = None,
        grace_period_s: int = 0,
        delete_pvcs: bool = False,
        dns_server: tuple[str, int] | None = None,
        dry_run: bool = False,
        watch: bool = False,
        watch_period_s: float = 0.1,
    ) -> None:
        self.spec = spec
        self.namespace = spec.namespace
        self.root = Path(state_dir)
        self.memory = KubeMemory(self.root)
        self.kubeconfig, self.context, self.host = kubeconfig, context, host
        self.grace_period_s = grace_period_s
        self.delete_pvcs = delete_pvcs
        self._dns_server = dns_server
        self.dry_run = dry_run
        self.plan: list[str] = []
        self.objects = render(spec)
        self.selector = dict(find(self.objects, "StatefulSet")["spec"]["selector"]["matchLabels"])
        self.ownership = Ownership(self.namespace, spec.name)
        system = get_system(spec.system)
        # The container faults exec into and logs are read from, and the server in it.
        self.container = system.container_name
        self.server_pattern = system.server_process_pattern
        self.peer_labels: dict[str, str] | None = None
        self._deploy_id: str | None = None
        # What teardown found under the ensemble's names that is not the ensemble's (and
        # so left alone), one line each.
        self.kept: list[str] = []
        self._api: client.ApiClient | None = None
        self._namespace_checked = False
        # A run records the cluster's pod and endpoint changes from the deploy on; a
        # one-off command (`peerchaos kube …`) has no timeline to keep.
        self._watch = watch
        self._watcher: ClusterWatcher | None = None
        self._watch_period_s = watch_period_s

    # -- plumbing -------------------------------------------------------------------------

    @property
    def api(self) -> client.ApiClient:
        if self._api is None:
            self._api = kubeapi.api_client(self.kubeconfig, self.context, self.host)
        return self._api

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def _emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        return self.memory.emit(kind, **fields)

    def _change(self, description: str) -> bool:
        """True when the change should be made; in a dry run it is only written down."""
        if self.dry_run:
            self.plan.append(f"would {description}")
            return False
        return True

    def _guard_namespace(self) -> None:
        if self.dry_run or self._namespace_checked:
            return
        kubeapi.check_namespace(self.api, self.namespace)
        self._namespace_checked = True

    # -- the seam -----------------------------------------------------------------------

    def preflight(self) -> None:
        """The namespace guard, before anything is touched."""
        self._guard_namespace()

    def capabilities(self) -> Capabilities:
        return Capabilities(FAULTS)

    def system(self) -> str:
        return self.spec.system

    def apply(self, objects: list[dict[str, Any]]) -> None:
        """Create every object in the ensemble's namespace, or patch the ensemble's own of
        that name (then watch it). One that exists and is not the ensemble's is refused
        before anything is created."""
        self._guard_namespace()
        for obj in objects:
            where = obj.get("metadata", {}).get("namespace")
            if where != self.namespace:
                raise UsageError(
                    f"{kubeapi.describe(obj)}: outside the ensemble's namespace {self.namespace}"
                )
            self.ownership.require_labels(obj)
        if self.dry_run:
            self.plan += [f"would apply {kubeapi.describe(obj)}" for obj in objects]
            return
        for what in apply_all(self.api, objects, self.ownership):
            self._emit("applied", what=what)
        statefulset = [o for o in objects if o["kind"] == "StatefulSet"]
        if statefulset:
            annotations = statefulset[0]["metadata"].get("annotations") or {}
            self._deploy_id = annotations.get(DEPLOY_ID_ANNOTATION)
        if self._watch:
            self.watch()

    def watch(self) -> None:
        """Record pod and endpoint changes as runtime events until teardown (or exit)."""
        if self._watcher is None:
            self._watcher = ClusterWatcher(
                self.pods, self.endpoints, self._emit, self._watch_period_s
            )
            self._watcher.start()
            # A thread still inside an HTTP call while the interpreter shuts down aborts
            # the process; stop it first, should nobody tear down.
            atexit.register(self.stop_watching)

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
            atexit.unregister(self.stop_watching)

    def wait_ready(self, timeout_s: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            pods = self.pods()
            if len(pods) == self.spec.replicas and all(p.ready for p in pods):
                return time.monotonic() - started
            time.sleep(0.5)
        raise PeerchaosError(
            f"statefulset {self.namespace}/{self.spec.name}: not every peer ready within "
            f"{timeout_s:g} s"
        )

    def is_up(self) -> bool:
        if self.dry_run:
            return False
        try:  # no usable kubeconfig: not up either
            found = read_object(self.api, "StatefulSet", self.namespace, self.spec.name)
        except PeerchaosError:
            return False
        # Another team's StatefulSet of that name is not this ensemble being up.
        return found is not None and self.ownership.owns(found)

    def pods(self) -> list[PodInfo]:
        selector = self.ownership.selector(**self.selector)
        listed = kubeapi.call(
            f"list pods in {self.namespace}",
            lambda: self.core.list_namespaced_pod(self.namespace, label_selector=selector),
        )
        faults = self.memory.faults()
        infos = [pod_info(pod, faults) for pod in listed.items if self.ownership.owns(pod)]
        mine = [p for p in infos if p is not None and p.name in self.spec.pod_names()]
        return sorted(mine, key=lambda p: p.ordinal)

    def logs(self, pod: str) -> str:
        return pod_log(self.core, self.namespace, pod, container=self.container) or ""

    def status(self) -> dict[str, Any]:
        """The same shape the local runtime's status has."""
        client_svc = self.spec.client_service.name
        return {
            "mode": "kubernetes",
            "system": self.spec.system,
            "namespace": self.namespace,
            "headless_service": self.spec.headless_service.name,
            "client_port": self.spec.client_service.port,
            "pods": [pod.to_dict() for pod in self.pods()],
            "endpoints": [e.to_dict() for e in self.endpoints()],
            "cluster_ips": {client_svc: self.client_service_address(client_svc)[0]},
            "dns": list(self.dns_server()),
            "capabilities": self.capabilities().to_dict(),
        }

    def locator(self) -> dict[str, Any]:
        """What an actor (maybe on another machine) needs to open this runtime again."""
        return {
            "runtime": "kubernetes",
            "spec": self.spec.model_dump(),
            "kubeconfig": self.kubeconfig,
            "context": self.context,
            "host": self.host,
            # Where the faults are remembered; on another machine it is simply absent.
            "state_dir": str(self.root),
        }

    def helper_watch(self) -> None:
        """No watchdog here: a driver that dies leaves the ensemble to `peerchaos kube down`."""
        return None

    def runtime_events(self, since: float) -> list[dict[str, Any]]:
        return self.memory.events_since(since)

    def copy_logs(self, dest: Path) -> None:
        pods = self.spec.pod_names()
        copy_logs(self.core, self.ownership, self.root, pods, dest, container=self.container)

    def teardown(self) -> list[str]:
        """Heal what this runtime broke, delete the ensemble's objects (and, when asked,
        its PersistentVolumeClaims). Objects of the ensemble's names that are not its own
        stay, each noted in `kept`. Harmless when nothing is there."""
        self.stop_watching()
        self.kept = []
        if self.dry_run:
            self.plan += [f"would delete {kubeapi.describe(obj)}" for obj in self.objects]
            return []
        try:
            self._guard_namespace()
        except UsageError:
            return []  # peerchaos never applies to such a namespace: nothing of ours
        # An unreadable fault memory stops teardown before anything is changed.
        paused = self.memory.faults()["paused"]
        self.heal()
        for pod in paused:
            # A stopped process ignores SIGTERM until resumed; the pod is deleted next anyway.
            try:
                self.resume(pod)
            except PeerchaosError:
                continue
        removed, self.kept = delete_all_owned(
            self.api, list(reversed(self.objects)), self.ownership
        )
        if self.delete_pvcs:
            removed += delete_claims(self.api, self.ownership)
        self.memory.forget_faults()
        forget_killed_logs(self.root)
        return removed
