"""`KubernetesRuntime`: the runtime seam on a real cluster, through the official client.

The ensemble is what `peerchaos.manifests.render` gives (the kubernetes.io tutorial's
StatefulSet on the official `zookeeper` image, headless and client Services, PDB, or a
selectorless Service with hand-written Endpoints). Faults are what a person would do with
kubectl: kill = delete the pod (grace period 0 by default); unready = exec creates the
marker file the readiness probe checks (ready = exec removes it); pause = SIGSTOP of the
server process through exec (the pod shares its process namespace, so the server is not
PID 1, to which a signal from inside would not be delivered); partition = NetworkPolicies
that isolate groups of peers from each other (a CNI that enforces them is needed);
delete/restore of the Endpoints object.

Safety: a namespace without the label `peerchaos.io/allow=true` is refused before
anything is touched, and a pod is only touched when it carries the ensemble's selector.
With `dry_run` nothing is changed: every change is written to `plan` instead.
"""

from __future__ import annotations

import atexit
import os
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.manifests import find, render
from peerchaos.runtime import kubeapi
from peerchaos.runtime.base import Capabilities, EndpointsInfo, PodInfo
from peerchaos.runtime.kubeexec import CONTAINER, EXEC_FAULTS, exec_in_pod
from peerchaos.runtime.kubememory import KubeMemory
from peerchaos.runtime.kubeobjects import (
    PARTITION_LABEL,
    endpoints_info,
    partition_policy,
    pod_info,
    restorable,
)
from peerchaos.runtime.kubewatch import ClusterWatcher
from peerchaos.spec import EnsembleSpec

FAULTS = frozenset({"kill", "unready", "pause", "partition", "endpoints"})


class KubernetesRuntime:
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

    def _ensemble_pod(self, pod: str) -> client.V1Pod | None:
        """The pod, if it is one of the ensemble's; anything else is refused."""
        if pod not in self.spec.pod_names():
            raise UsageError(
                f"pod {pod!r}: not one of the ensemble's ({', '.join(self.spec.pod_names())})"
            )
        self._guard_namespace()
        if self.dry_run:
            return None
        found = kubeapi.call(
            f"read pod {self.namespace}/{pod}",
            lambda: kubeapi.missing(lambda: self.core.read_namespaced_pod(pod, self.namespace)),
        )
        if found is None:
            raise UsageError(f"pod {self.namespace}/{pod}: does not exist now")
        labels = found.metadata.labels or {}
        if any(labels.get(key) != value for key, value in self.selector.items()):
            wanted = ",".join(f"{k}={v}" for k, v in self.selector.items())
            raise UsageError(
                f"pod {self.namespace}/{pod}: lacks the ensemble's selector {wanted}; "
                "refusing to touch it"
            )
        return found

    def _exec_fault(self, name: str, pod: str) -> float:
        """One of the exec faults (or heals) of `EXEC_FAULTS` on `pod`."""
        command, what, kind, fault, (key, on) = EXEC_FAULTS[name]
        self._ensemble_pod(pod)
        if not self._change(f"exec in pod {self.namespace}/{pod}: {command[-1]}"):
            return time.time()
        code, output = exec_in_pod(self.api, self.namespace, pod, CONTAINER, command)
        if code != 0:
            detail = output.strip().splitlines()[-1] if output.strip() else "no output"
            raise PeerchaosError(f"{what} {self.namespace}/{pod}: exit {code} ({detail})")
        t = time.time()
        self.memory.mark(key, pod, on)
        stamp = {"t_fault": t} if kind == "fault" else {"t_heal": t}
        self._emit(kind, fault=fault, pod=pod, **stamp)
        return t

    # -- the seam -----------------------------------------------------------------------

    def preflight(self) -> None:
        """The namespace guard, before anything is touched."""
        self._guard_namespace()

    def capabilities(self) -> Capabilities:
        return Capabilities(FAULTS)

    def apply(self, objects: list[dict[str, Any]]) -> None:
        """Create (or patch) every object in the ensemble's namespace (then watch it)."""
        self._guard_namespace()
        for obj in objects:
            where = obj.get("metadata", {}).get("namespace")
            if where != self.namespace:
                raise UsageError(
                    f"{kubeapi.describe(obj)}: outside the ensemble's namespace {self.namespace}"
                )
        for obj in objects:
            if self._change(f"apply {kubeapi.describe(obj)}"):
                self._emit("applied", what=kubeapi.apply_object(self.api, obj))
        if self._watch and not self.dry_run:
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
        try:
            apps = client.AppsV1Api(self.api)  # no usable kubeconfig: not up either
            found = kubeapi.call(
                f"read statefulset {self.namespace}/{self.spec.name}",
                lambda: kubeapi.missing(
                    lambda: apps.read_namespaced_stateful_set(self.spec.name, self.namespace)
                ),
            )
        except PeerchaosError:
            return False
        return found is not None

    def pods(self) -> list[PodInfo]:
        selector = ",".join(f"{k}={v}" for k, v in self.selector.items())
        listed = kubeapi.call(
            f"list pods in {self.namespace}",
            lambda: self.core.list_namespaced_pod(self.namespace, label_selector=selector),
        )
        faults = self.memory.faults()
        infos = [pod_info(pod, faults) for pod in listed.items]
        mine = [p for p in infos if p is not None and p.name in self.spec.pod_names()]
        return sorted(mine, key=lambda p: p.ordinal)

    def endpoints(self) -> list[EndpointsInfo]:
        result = []
        for service in (self.spec.headless_service.name, self.spec.client_service.name):
            found = kubeapi.call(
                f"read endpoints {self.namespace}/{service}",
                lambda service=service: kubeapi.missing(
                    lambda: self.core.read_namespaced_endpoints(service, self.namespace)
                ),
            )
            result.append(endpoints_info(service, found))
        return result

    def kill(self, pod: str) -> float:
        found = self._ensemble_pod(pod)
        grace = self.grace_period_s
        if not self._change(f"delete pod {self.namespace}/{pod} (grace period {grace} s)"):
            return time.time()
        kubeapi.call(
            f"delete pod {self.namespace}/{pod}",
            lambda: self.core.delete_namespaced_pod(
                pod, self.namespace, grace_period_seconds=grace, _preload_content=False
            ),
        )
        t = time.time()
        ip = found.status.pod_ip if found is not None else None
        self._emit("fault", fault="kill", pod=pod, ip=ip, t_fault=t)
        return t

    def make_unready(self, pod: str) -> float:
        return self._exec_fault("make_unready", pod)

    def make_ready(self, pod: str) -> float:
        return self._exec_fault("make_ready", pod)

    def pause(self, pod: str) -> float:
        return self._exec_fault("pause", pod)

    def resume(self, pod: str) -> float:
        return self._exec_fault("resume", pod)

    def partition(self, groups: list[list[str]]) -> float:
        """Isolate each group (and the peers in none) from the others' peers: one
        NetworkPolicy per group. Clients and DNS stay reachable, as in a split network."""
        for pod in [p for group in groups for p in group]:
            self._ensemble_pod(pod)
        rest = [p for p in self.spec.pod_names() if all(p not in g for g in groups)]
        full = [list(g) for g in groups] + ([rest] if rest else [])
        for index, group in enumerate(full):
            policy = partition_policy(self.spec, index, group)
            if self._change(f"apply {kubeapi.describe(policy)} isolating {', '.join(group)}"):
                kubeapi.apply_object(self.api, policy)
        t = time.time()
        if not self.dry_run:
            self._emit("fault", fault="partition", groups=full, t_fault=t)
        return t

    def _partition_policies(self) -> list[str]:
        networking = client.NetworkingV1Api(self.api)
        listed = kubeapi.call(
            f"list networkpolicies in {self.namespace}",
            lambda: networking.list_namespaced_network_policy(
                self.namespace, label_selector=f"{PARTITION_LABEL}=partition"
            ),
        )
        return [p.metadata.name for p in listed.items]

    def heal(self) -> float:
        if self.dry_run:
            self.plan.append(f"would delete the partition NetworkPolicies in {self.namespace}")
            return time.time()
        names = self._partition_policies()
        for name in names:
            kubeapi.delete_object(self.api, "NetworkPolicy", self.namespace, name)
        t = time.time()
        if names:
            self._emit("heal", fault="partition", t_heal=t)
        return t

    def delete_endpoints(self, service: str) -> float:
        self._guard_namespace()
        if not self._change(f"delete Endpoints {self.namespace}/{service} (kept to restore)"):
            return time.time()
        found = kubeapi.call(
            f"read endpoints {self.namespace}/{service}",
            lambda: self.core.read_namespaced_endpoints(service, self.namespace),
        )
        self.memory.keep_endpoints(service, restorable(self.api, found))
        kubeapi.delete_object(self.api, "Endpoints", self.namespace, service)
        t = time.time()
        self._emit("fault", fault="endpoints", service=service, t_fault=t)
        return t

    def restore_endpoints(self, service: str) -> float:
        self._guard_namespace()
        if not self._change(f"create Endpoints {self.namespace}/{service} as it was"):
            return time.time()
        kept = self.memory.faults()["endpoints"].get(service)
        if kept is None:
            raise UsageError(f"endpoints {self.namespace}/{service}: none deleted to restore")
        kubeapi.apply_object(self.api, kept)
        self.memory.take_endpoints(service)
        t = time.time()
        self._emit("heal", fault="endpoints", service=service, t_heal=t)
        return t

    def logs(self, pod: str) -> str:
        return kubeapi.call(
            f"read log of pod {self.namespace}/{pod}",
            lambda: self.core.read_namespaced_pod_log(pod, self.namespace, container=CONTAINER),
        )

    def dns_server(self) -> tuple[str, int]:
        """The cluster DNS: the resolver a pod is given (in a pod), else kube-dns's IP."""
        if self._dns_server is not None:
            return self._dns_server
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not self.host:
            for line in Path("/etc/resolv.conf").read_text().splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1], 53
        service = kubeapi.call(
            "read service kube-system/kube-dns",
            lambda: self.core.read_namespaced_service("kube-dns", "kube-system"),
        )
        return service.spec.cluster_ip, 53

    def client_service_address(self, service: str | None = None) -> tuple[str, int]:
        name = service or self.spec.client_service.name
        found = kubeapi.call(
            f"read service {self.namespace}/{name}",
            lambda: self.core.read_namespaced_service(name, self.namespace),
        )
        return found.spec.cluster_ip, self.spec.client_service.port

    def pod_addresses(self) -> dict[str, tuple[str, int] | None]:
        port = self.spec.client_service.port
        return {p.name: ((p.ip, port) if p.ip else None) for p in self.pods()}

    def pod_address(self, pod: str) -> tuple[str, int]:
        address = self.pod_addresses().get(pod)
        if address is None:
            raise UsageError(f"pod {pod!r}: has no address now (not running)")
        return address

    def status(self) -> dict[str, Any]:
        """The same shape the local runtime's status has."""
        client_svc = self.spec.client_service.name
        return {
            "mode": "kubernetes",
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
        dest.mkdir(parents=True, exist_ok=True)
        for pod in self.spec.pod_names():
            try:
                (dest / f"{pod}.log").write_text(self.logs(pod))
            except PeerchaosError:
                continue  # a pod that is gone has no log to keep

    def teardown(self) -> list[str]:
        """Heal what this runtime broke, delete the ensemble's objects (and, when asked,
        its PersistentVolumeClaims). Harmless when nothing is there."""
        self.stop_watching()
        removed: list[str] = []
        if self.dry_run:
            self.plan += [f"would delete {kubeapi.describe(obj)}" for obj in self.objects]
            return removed
        try:
            self._guard_namespace()
        except UsageError:
            return removed  # peerchaos never applies to such a namespace: nothing of ours
        self.heal()
        for pod in self.memory.faults()["paused"]:
            # A stopped process ignores SIGTERM until resumed; the pod is deleted next anyway.
            try:
                self.resume(pod)
            except PeerchaosError:
                continue
        for obj in reversed(self.objects):
            meta = obj["metadata"]
            if kubeapi.delete_object(self.api, obj["kind"], meta["namespace"], meta["name"]):
                removed.append(kubeapi.describe(obj))
        if self.delete_pvcs:
            removed += self._delete_claims()
        self.memory.forget_faults()
        return removed

    def _delete_claims(self) -> list[str]:
        prefix = [f"{t['metadata']['name']}-" for t in self._claim_templates()]
        listed = kubeapi.call(
            f"list persistentvolumeclaims in {self.namespace}",
            lambda: self.core.list_namespaced_persistent_volume_claim(self.namespace),
        )
        removed = []
        for claim in listed.items:
            name = claim.metadata.name
            owned = any(name == f"{p}{pod}" for p in prefix for pod in self.spec.pod_names())
            if owned:
                kubeapi.call(
                    f"delete persistentvolumeclaim {self.namespace}/{name}",
                    lambda name=name: self.core.delete_namespaced_persistent_volume_claim(
                        name, self.namespace, _preload_content=False
                    ),
                )
                removed.append(f"PersistentVolumeClaim {self.namespace}/{name}")
        return removed

    def _claim_templates(self) -> list[dict[str, Any]]:
        statefulset = find(self.objects, "StatefulSet")
        return list(statefulset["spec"].get("volumeClaimTemplates") or [])
