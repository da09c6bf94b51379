"""The faults the kubernetes runtime injects, and their heals, as a person would with kubectl.

kill = delete the pod (grace period 0 by default); unready = exec creates the marker file
the readiness probe checks (ready = exec removes it); pause = SIGSTOP of the server
process through exec (resume = SIGCONT); partition = NetworkPolicies that isolate groups
of peers from each other (a CNI that enforces them is needed), heal = delete them;
delete / restore of the Endpoints object of one of the ensemble's Services.

`FaultActions` is the fault half of `KubernetesRuntime`: it uses the runtime's API
client, namespace guard, dry-run plan and fault memory. Every target is proven the
ensemble's first (`Ownership`: a pod, a policy, a Service and its Endpoints without the
ownership labels are refused in one line), before anything is changed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kubernetes import client

from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.manifests import DEPLOY_ID_ANNOTATION
from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.changes import (
    apply_owned,
    check_apply,
    delete_checked,
    read_object,
)
from peerchaos.runtime.kubernetes.logs import keep_killed_log
from peerchaos.runtime.kubernetes.memory import KubeMemory
from peerchaos.runtime.kubernetes.objects import PARTITION_LABEL, partition_policy, restorable
from peerchaos.runtime.kubernetes.ownership import Ownership
from peerchaos.runtime.kubernetes.podexec import exec_faults, exec_in_pod
from peerchaos.spec import EnsembleSpec


class FaultActions:
    """kill, unready/ready, pause/resume, partition/heal, delete/restore Endpoints."""

    # Provided by `KubernetesRuntime`.
    spec: EnsembleSpec
    namespace: str
    root: Path
    memory: KubeMemory
    ownership: Ownership
    _deploy_id: str | None  # known once applied here, else read from the StatefulSet
    grace_period_s: int
    dry_run: bool
    plan: list[str]
    selector: dict[str, str]
    # The container faults exec into, and the labels that select the peers for a
    # partition policy (None: the ensemble label peerchaos renders).
    container: str
    server_pattern: str  # the system's `server_process_pattern`: what pause signals
    peer_labels: dict[str, str] | None
    api: client.ApiClient
    core: client.CoreV1Api

    def _guard_namespace(self) -> None:
        raise NotImplementedError

    def _change(self, description: str) -> bool:
        raise NotImplementedError

    def _emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        raise NotImplementedError

    def deploy_id(self) -> str:
        """The id of the deploy the ensemble's StatefulSet carries ("unknown" without one):
        what the partition policies are stamped with."""
        if self._deploy_id is None:
            found = read_object(self.api, "StatefulSet", self.namespace, self.spec.name)
            annotations = (found or {}).get("metadata", {}).get("annotations") or {}
            owned = found is not None and self.ownership.owns(found)
            self._deploy_id = annotations.get(DEPLOY_ID_ANNOTATION, "unknown")
            if not owned:
                self._deploy_id = "unknown"
        return self._deploy_id

    def _ensemble_pod(self, pod: str, action: str) -> client.V1Pod | None:
        """The pod, once proven the ensemble's (by name, ownership labels and selector);
        anything else is refused before `action` touches it."""
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
        self.ownership.check("Pod", pod, found, action, fault=True)
        labels = found.metadata.labels or {}
        if any(labels.get(key) != value for key, value in self.selector.items()):
            wanted = ",".join(f"{k}={v}" for k, v in self.selector.items())
            raise UsageError(
                f"pod {self.namespace}/{pod}: lacks the ensemble's selector {wanted}; "
                "refusing to touch it"
            )
        return found

    def _exec_fault(self, name: str, pod: str) -> float:
        """One of the exec faults (or heals) of `exec_faults` on `pod`."""
        command, what, kind, fault, (key, on) = exec_faults(self.server_pattern)[name]
        self._ensemble_pod(pod, name.replace("_", " "))
        if not self._change(f"exec in pod {self.namespace}/{pod}: {command[-1]}"):
            return time.time()
        code, output = exec_in_pod(self.api, self.namespace, pod, self.container, command)
        if code != 0:
            detail = output.strip().splitlines()[-1] if output.strip() else "no output"
            raise PeerchaosError(f"{what} {self.namespace}/{pod}: exit {code} ({detail})")
        t = time.time()
        self.memory.mark(key, pod, on)
        stamp = {"t_fault": t} if kind == "fault" else {"t_heal": t}
        self._emit(kind, fault=fault, pod=pod, **stamp)
        return t

    def kill(self, pod: str) -> float:
        found = self._ensemble_pod(pod, "delete")
        grace = self.grace_period_s
        planned = self._change(f"delete pod {self.namespace}/{pod} (grace period {grace} s)")
        if not planned or found is None:  # a dry run reads nothing
            return time.time()
        # The API forgets a deleted pod's log with the pod: keep what it wrote so far.
        keep_killed_log(self.core, self.root, found, container=self.container)
        # The uid as precondition: only the pod proven ours above is deleted.
        body = client.V1DeleteOptions(
            grace_period_seconds=grace, preconditions=client.V1Preconditions(uid=found.metadata.uid)
        )
        kubeapi.call(
            f"delete pod {self.namespace}/{pod}",
            lambda: self.core.delete_namespaced_pod(
                pod, self.namespace, body=body, _preload_content=False
            ),
        )
        t = time.time()
        self._emit("fault", fault="kill", pod=pod, ip=found.status.pod_ip, t_fault=t)
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
            self._ensemble_pod(pod, "partition")
        rest = [p for p in self.spec.pod_names() if all(p not in g for g in groups)]
        full = [list(g) for g in groups] + ([rest] if rest else [])
        deploy_id = "dry-run" if self.dry_run else self.deploy_id()
        policies = [
            partition_policy(self.spec, i, g, deploy_id, self.peer_labels)
            for i, g in enumerate(full)
        ]
        if not self.dry_run:
            for policy in policies:  # every name proven free or ours before the first
                check_apply(self.api, policy, self.ownership, replace=True)
        for policy, group in zip(policies, full, strict=True):
            if self._change(f"apply {kubeapi.describe(policy)} isolating {', '.join(group)}"):
                # The Role grants no patch of NetworkPolicies: one of ours is replaced.
                apply_owned(self.api, policy, self.ownership, replace=True)
        t = time.time()
        if not self.dry_run:
            self._emit("fault", fault="partition", groups=full, t_fault=t)
        return t

    def _partition_policies(self) -> list[dict[str, Any]]:
        """This ensemble's partition policies — never another's, whatever their names."""
        networking = client.NetworkingV1Api(self.api)
        selector = self.ownership.selector(**{PARTITION_LABEL: "partition"})
        listed = kubeapi.call(
            f"list networkpolicies in {self.namespace}",
            lambda: networking.list_namespaced_network_policy(
                self.namespace, label_selector=selector
            ),
        )
        items = self.api.sanitize_for_serialization(listed).get("items") or []
        return [
            p
            for p in items
            if self.ownership.owns(p)
            and p["metadata"]["labels"].get(PARTITION_LABEL) == "partition"
        ]

    def heal(self) -> float:
        if self.dry_run:
            self.plan.append(
                f"would delete ensemble {self.spec.name}'s partition NetworkPolicies in "
                f"{self.namespace}"
            )
            return time.time()
        healed = [delete_checked(self.api, "NetworkPolicy", p) for p in self._partition_policies()]
        t = time.time()
        if any(healed):
            self._emit("heal", fault="partition", t_heal=t)
        return t

    def _own_service(self, service: str) -> None:
        services = (self.spec.headless_service.name, self.spec.client_service.name)
        if service not in services:
            raise UsageError(
                f"endpoints {self.namespace}/{service}: not one of the ensemble's Services "
                f"({', '.join(services)}); refusing to touch it"
            )

    def delete_endpoints(self, service: str) -> float:
        self._own_service(service)
        self._guard_namespace()
        if not self._change(f"delete Endpoints {self.namespace}/{service} (kept to restore)"):
            return time.time()
        owner = read_object(self.api, "Service", self.namespace, service)
        if owner is None:
            raise UsageError(f"Service {self.namespace}/{service}: does not exist now")
        self.ownership.check("Service", service, owner, "delete the Endpoints of")
        found = read_object(self.api, "Endpoints", self.namespace, service)
        if found is None:
            raise UsageError(f"Endpoints {self.namespace}/{service}: does not exist now")
        self.ownership.check("Endpoints", service, found, "delete")
        self.memory.keep_endpoints(service, restorable(found))
        delete_checked(self.api, "Endpoints", found)
        t = time.time()
        self._emit("fault", fault="endpoints", service=service, t_fault=t)
        return t

    def restore_endpoints(self, service: str) -> float:
        self._own_service(service)
        self._guard_namespace()
        if not self._change(f"create Endpoints {self.namespace}/{service} as it was"):
            return time.time()
        kept = self.memory.faults()["endpoints"].get(service)
        if kept is None:
            raise UsageError(f"endpoints {self.namespace}/{service}: none deleted to restore")
        apply_owned(self.api, kept, self.ownership)
        self.memory.take_endpoints(service)
        t = time.time()
        self._emit("heal", fault="endpoints", service=service, t_heal=t)
        return t
