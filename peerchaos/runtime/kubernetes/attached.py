"""`AttachedRuntime`: the kubernetes runtime on a StatefulSet peerchaos did not deploy
(`deploy: attach`), running a system peerchaos knows (ZooKeeper).

It is the kubernetes runtime with three rules changed:
- the ensemble is what `attach.attach` read (the ensemble seen), not a rendered spec;
- its objects are never created, patched or deleted: `apply` is refused, teardown only
  heals what peerchaos broke (partition policies of its own, paused or unready pods);
- faults reach that StatefulSet's pods only — a pod is broken once proven one of them
  (name, selector and a controller reference to the StatefulSet's uid; the ownership
  rule lets attached pods through for faults that heal, nothing else) — and only the
  faults the seen ensemble allows (`capabilities()`, with one line for each it does not).
The namespace opt-in label is required as for any other ensemble.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client

from peerchaos.errors import PeerchaosError, UnsupportedFault, UsageError
from peerchaos.runtime.base import Capabilities, PodInfo
from peerchaos.runtime.kubernetes import api as kubeapi
from peerchaos.runtime.kubernetes.attach import attach, controlled_by, selector_string
from peerchaos.runtime.kubernetes.changes import read_object
from peerchaos.runtime.kubernetes.logs import copy_logs, forget_killed_logs
from peerchaos.runtime.kubernetes.objects import pod_info
from peerchaos.runtime.kubernetes.ownership import Ownership
from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime
from peerchaos.runtime.kubernetes.seen import EnsembleSeen
from peerchaos.spec import EnsembleSpec
from peerchaos.systems import get_system


class AttachedRuntime(KubernetesRuntime):
    """An existing StatefulSet, broken and healed but never changed."""

    def __init__(
        self,
        namespace: str,
        statefulset: str,
        state_dir: str | Path,
        *,
        seen: EnsembleSeen | None = None,
        **options: Any,
    ) -> None:
        # Until attached, a placeholder spec of the StatefulSet's name stands in.
        super().__init__(EnsembleSpec(name=statefulset, namespace=namespace), state_dir, **options)
        self.statefulset = statefulset
        self.seen: EnsembleSeen | None = None
        if seen is not None:
            self._adopt(seen)

    def _adopt(self, seen: EnsembleSeen) -> None:
        self.seen = seen
        self.container = seen.container
        self.server_pattern = get_system(seen.system).server_process_pattern
        self.selector = dict(seen.selector)
        self.peer_labels = dict(seen.selector)
        attached = {("Pod", pod) for pod in seen.pods}
        attached |= {("StatefulSet", seen.statefulset), ("Service", seen.headless_service)}
        attached |= {("Service", s["name"]) for s in seen.client_services}
        if seen.pdb is not None:
            attached.add(("PodDisruptionBudget", seen.pdb["name"]))
        self.ownership = Ownership(self.namespace, seen.statefulset, frozenset(attached))
        self._deploy_id = f"attached-{seen.uid}"
        if not seen.problems:
            self.spec = seen.spec()

    def attach(self) -> EnsembleSeen:
        """Read the StatefulSet and derive the ensemble seen (once); refuse, in one line,
        a namespace that did not opt in or an ensemble peerchaos cannot attach to."""
        self._guard_namespace()
        if self.seen is None:
            self._adopt(attach(self.api, self.namespace, self.statefulset))
        assert self.seen is not None
        if self.seen.problems:
            raise UsageError(self.seen.problems[0])
        return self.seen

    # -- the seam -----------------------------------------------------------------------

    def preflight(self) -> None:
        self.attach()

    def system(self) -> str:
        return self.attach().system

    def capabilities(self) -> Capabilities:
        return self.attach().capabilities()

    def _refuse_unsupported(self, fault: str) -> None:
        caps = self.capabilities()
        if not caps.supports(fault):
            raise UnsupportedFault(f"{fault} {self.seen_where()}: {caps.reasons[fault]}")

    def seen_where(self) -> str:
        return f"StatefulSet {self.namespace}/{self.statefulset}"

    def holds_faults(self) -> bool:
        """Whether the fault memory lists a pod peerchaos paused or made unready and has
        not healed (an unreadable memory counts: it is kept for a person to look at)."""
        try:
            faults = self.memory.faults()
        except PeerchaosError:
            return True
        return bool(faults["paused"] or faults["unready"] or faults["endpoints"])

    def apply(self, objects: list[dict[str, Any]]) -> None:
        raise UsageError(
            f"{self.seen_where()} is attached: peerchaos never creates, patches or deletes "
            "its objects (deploy: attach)"
        )

    def is_up(self) -> bool:
        """The attached StatefulSet (the same object, by uid) still exists."""
        if self.seen is None:
            return False
        try:
            found = read_object(self.api, "StatefulSet", self.namespace, self.statefulset)
        except PeerchaosError:
            return False
        return found is not None and found["metadata"]["uid"] == self.seen.uid

    def pods(self) -> list[PodInfo]:
        """The StatefulSet's own pods: its selector, its controller reference, its names."""
        seen = self.attach()
        selector = selector_string({"matchLabels": seen.selector})
        listed = kubeapi.call(
            f"list pods in {self.namespace}",
            lambda: self.core.list_namespaced_pod(self.namespace, label_selector=selector),
        )
        faults = self.memory.faults()
        mine = []
        for pod in listed.items:
            plain = self.api.sanitize_for_serialization(pod)
            info = pod_info(pod, faults)
            if info is not None and info.name in seen.pods and controlled_by(plain, seen.uid):
                mine.append(info)
        return sorted(mine, key=lambda p: p.ordinal)

    def _ensemble_pod(self, pod: str, action: str) -> client.V1Pod | None:
        self.attach()  # the pod names, selector and uid are the seen ensemble's
        found = super()._ensemble_pod(pod, action)
        if found is not None and not controlled_by(
            self.api.sanitize_for_serialization(found), self.attach().uid
        ):
            raise UsageError(
                f"pod {self.namespace}/{pod}: not a pod of the attached {self.seen_where()} "
                f"(no controller reference to it); refusing to {action} it"
            )
        return found

    def make_unready(self, pod: str) -> float:
        self._refuse_unsupported("unready")
        return super().make_unready(pod)

    def pause(self, pod: str) -> float:
        self._refuse_unsupported("pause")
        return super().pause(pod)

    def delete_endpoints(self, service: str) -> float:
        self._refuse_unsupported("endpoints")
        return super().delete_endpoints(service)

    def restore_endpoints(self, service: str) -> float:
        self._refuse_unsupported("endpoints")
        return super().restore_endpoints(service)

    def client_service_address(self, service: str | None = None) -> tuple[str, int]:
        """The client Service's cluster IP and *its* port (which may map to another
        container port: the pods' is the spec's)."""
        seen = self.attach()
        name = service or seen.client_service
        port = next((s["port"] for s in seen.client_services if s["name"] == name), None)
        ip, pod_port = super().client_service_address(name)
        return ip, port if port is not None else pod_port

    def locator(self) -> dict[str, Any]:
        return {**super().locator(), "attach": self.attach().to_dict()}

    def copy_logs(self, dest: Path) -> None:
        seen = self.attach()
        copy_logs(
            self.core,
            self.ownership,
            self.root,
            seen.pods,
            dest,
            container=self.container,
            ours=lambda pod: controlled_by(self.api.sanitize_for_serialization(pod), seen.uid),
        )

    def teardown(self) -> list[str]:
        """Heal what peerchaos broke — its partition policies, paused and unready pods —
        and nothing else: the attached objects stay as they are. A heal that fails stays
        in the fault memory (and in `kept`), for `heal` to try again."""
        self.stop_watching()
        self.kept = []
        if self.dry_run:
            self.plan.append(f"would heal what peerchaos broke in {self.seen_where()}")
            return []
        try:
            self._guard_namespace()
        except UsageError:
            return []  # nothing was ever broken in a namespace that did not opt in
        faults = self.memory.faults()
        self.heal()
        for heal, pods in ((self.resume, faults["paused"]), (self.make_ready, faults["unready"])):
            for pod in pods:
                try:
                    heal(pod)
                except PeerchaosError as error:
                    self.kept.append(f"pod {self.namespace}/{pod}: not healed ({error})")
        if not self.kept:
            self.memory.forget_faults()
        forget_killed_logs(self.root)
        return []


def open_attached(locator: dict[str, Any]) -> AttachedRuntime:
    """The attached runtime a `locator()` describes (an actor elsewhere opens it)."""
    seen = EnsembleSeen.from_dict(locator["attach"])
    return AttachedRuntime(
        seen.namespace,
        seen.statefulset,
        locator["state_dir"],
        seen=seen,
        kubeconfig=locator.get("kubeconfig"),
        context=locator.get("context"),
        host=locator.get("host"),
    )
