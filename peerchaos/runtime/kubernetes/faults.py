"""The faults the kubernetes runtime injects, and their heals, as a person would with kubectl.

kill = delete the pod (grace period 0 by default); unready = exec creates the marker file
the readiness probe checks (ready = exec removes it); pause = SIGSTOP of the server
process through exec (resume = SIGCONT); partition = NetworkPolicies that isolate groups
of peers from each other (a CNI that enforces them is needed), heal = delete them;
delete / restore of a selectorless Service's Endpoints object.

`FaultActions` is the fault half of `KubernetesRuntime`: it uses the runtime's API
client, namespace guard, dry-run plan and fault memory, and touches only pods that
carry the ensemble's selector.
"""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client

from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.memory import KubeMemory
from peerchaos.runtime.kubernetes.objects import PARTITION_LABEL, partition_policy, restorable
from peerchaos.runtime.kubernetes.podexec import CONTAINER, EXEC_FAULTS, exec_in_pod
from peerchaos.spec import EnsembleSpec


class FaultActions:
    """kill, unready/ready, pause/resume, partition/heal, delete/restore Endpoints."""

    # Provided by `KubernetesRuntime`.
    spec: EnsembleSpec
    namespace: str
    memory: KubeMemory
    grace_period_s: int
    dry_run: bool
    plan: list[str]
    selector: dict[str, str]
    api: client.ApiClient
    core: client.CoreV1Api

    def _guard_namespace(self) -> None:
        raise NotImplementedError

    def _change(self, description: str) -> bool:
        raise NotImplementedError

    def _emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        raise NotImplementedError

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
