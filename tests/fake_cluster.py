"""The state and the rules behind the fake API server (tests/fake_apiserver.py).

What the real API server enforces for the calls the kubernetes runtime makes, it
enforces here too: 409 AlreadyExists on a create of an existing name, 409 Conflict on a
delete whose uid precondition does not match or a patch whose resourceVersion is stale,
422 on a StatefulSet patch of a field that cannot change, label selectors (equality,
inequality, existence, set-based; 400 when malformed; tests/fake_selectors.py), and
garbage collection: deleting a StatefulSet deletes the pods it owns and leaves the
claims. The controllers and the kubelet are in tests/fake_controllers.py."""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fake_controllers import Controllers, PodState, now_rfc3339, status
from fake_selectors import SelectorError, matches, parse_selector

CORE = re.compile(
    r"^/api/v1/namespaces/(?P<ns>[^/]+)"
    r"(?:/(?P<res>[a-z]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>log|exec))?)?)?$"
)
GROUPED = re.compile(
    r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)/namespaces/(?P<ns>[^/]+)"
    r"/(?P<res>[a-z]+)(?:/(?P<name>[^/]+))?$"
)
KIND_OF = {
    "pods": "Pod",
    "services": "Service",
    "endpoints": "Endpoints",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "statefulsets": "StatefulSet",
    "poddisruptionbudgets": "PodDisruptionBudget",
    "networkpolicies": "NetworkPolicy",
}
# What a StatefulSet update may change; anything else is 422 Forbidden (apps/v1 validation).
STATEFULSET_MUTABLE = {
    "replicas",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
    "ordinals",
}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None

    @property
    def resource(self) -> str:
        match = CORE.match(self.path) or GROUPED.match(self.path)
        if match is None:
            return "?"
        parts = match.groupdict()
        if parts.get("res") is None:
            return "namespaces"
        return parts["res"] + (f"/{parts['sub']}" if parts.get("sub") else "")

    @property
    def verb(self) -> str:
        match = CORE.match(self.path) or GROUPED.match(self.path)
        named = bool(match and (match.group("name") or match.group("res") is None))
        if self.path.endswith("/exec"):
            return "create"  # a WebSocket exec is authorised as create on pods/exec
        return {
            "GET": "get" if named else "list",
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }[self.method]


class FakeCluster(Controllers):
    """The state behind the fake API: objects by (resource, namespace, name)."""

    def __init__(self, recreate_delay_s: float = 0.2, pod_network: str = "10.244") -> None:
        self.lock = threading.RLock()
        self.namespaces: dict[str, dict[str, str]] = {}
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.pods: dict[tuple[str, str], PodState] = {}
        self.requests: list[Recorded] = []
        self.recreate_delay_s = recreate_delay_s
        # Called with (resource, namespace, body) as a create arrives, before it is
        # checked: a test's stand-in for another client acting at that very moment.
        self.before_create: Callable[[str, str, dict[str, Any]], None] | None = None
        self._versions = itertools.count(1)
        # Pod IPs from `pod_network` (x.y): tests that must reach a pod's address (or find
        # nothing listening there at once) give a loopback network such as 127.66.
        self._ips = (f"{pod_network}.{i // 250}.{i % 250 + 2}" for i in itertools.count())
        self.shell_less_images: set[str] = set()
        self.pid_one_images: set[str] = set()
        self.log_line = None
        self._cluster_ips = (f"10.96.{i // 250}.{i % 250 + 20}" for i in itertools.count())
        self.add_namespace("kube-system", {})
        self.put(
            "services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "kube-dns", "namespace": "kube-system"},
                "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "dns", "port": 53}]},
            },
        )

    # -- what tests set up and look at ----------------------------------------------------

    def add_namespace(self, name: str, labels: dict[str, str]) -> None:
        with self.lock:
            self.namespaces[name] = dict(labels)

    def put(self, res: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_rfc3339())
        obj.setdefault("apiVersion", "v1")
        obj.setdefault("kind", KIND_OF.get(res, res))
        with self.lock:
            meta["resourceVersion"] = str(next(self._versions))
            self.objects[(res, meta["namespace"], meta["name"])] = obj
        return obj

    def create(self, res: str, ns: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create as a client would (controllers included), without recording a request:
        how tests put other teams' objects in place."""
        with self.lock:
            code, created = self._create(res, ns, copy.deepcopy(body))
        assert code == 201, created
        return created

    def get(self, res: str, ns: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.objects.get((res, ns, name))
            return self._view(res, found) if found else None

    def names(self, res: str, ns: str) -> list[str]:
        with self.lock:
            return sorted(n for (r, s, n) in self.objects if r == res and s == ns)

    def changes(self) -> list[Recorded]:
        """Requests that would change the cluster."""
        return [r for r in self.requests if r.method != "GET" or r.path.endswith("/exec")]

    def dump(self) -> dict[tuple[str, str, str], str]:
        """Every stored object as canonical JSON text: for byte-for-byte comparisons."""
        with self.lock:
            return {key: json.dumps(obj, sort_keys=True) for key, obj in self.objects.items()}

    # -- the API ------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(Recorded(method, path, query, body))
            match = CORE.match(path) or GROUPED.match(path)
            if match is None:
                return 404, status(404, f"no route {path}")
            ns, res, name = match.group("ns"), match.group("res"), match.group("name")
            if res is None:
                if ns not in self.namespaces:
                    return 404, status(404, f'namespaces "{ns}" not found')
                return 200, {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns, "labels": self.namespaces[ns]},
                }
            if ns not in self.namespaces:
                return 404, status(404, f'namespaces "{ns}" not found')
            if res not in KIND_OF:
                return 404, status(404, f"no resource {res}")
            if method == "GET" and name is None:
                return self._list(res, ns, query)
            if method == "POST":
                return self._create(res, ns, body)
            if method == "GET":
                found = self._endpoints(ns, name) if res == "endpoints" else self.get(res, ns, name)
                if found is None:
                    return 404, status(404, f'{res} "{name}" not found')
                return 200, found
            if method == "PATCH":
                return self._patch(res, ns, name, body)
            if method == "DELETE":
                return self._delete(res, ns, name, body)
            return 405, status(405, f"{method} not allowed", "MethodNotAllowed")

    def _list(self, res: str, ns: str, query: dict) -> tuple[int, Any]:
        try:
            wanted = parse_selector((query.get("labelSelector") or [""])[0])
        except SelectorError as error:
            return 400, status(400, f"unable to parse requirement: {error}", "BadRequest")
        items = []
        for r, space, name in sorted(self.objects):
            if r != res or space != ns:
                continue
            obj = self._endpoints(ns, name) if res == "endpoints" else self.get(res, ns, name)
            labels = (obj or {}).get("metadata", {}).get("labels") or {}
            if obj and matches(wanted, labels):
                items.append(obj)
        listing = {"kind": f"{KIND_OF[res]}List", "metadata": {"resourceVersion": "1"}}
        return 200, {**listing, "apiVersion": "v1", "items": items}

    def _create(self, res: str, ns: str, body: dict[str, Any]) -> tuple[int, Any]:
        if self.before_create is not None:
            self.before_create(res, ns, body)
        meta = body.get("metadata") or {}
        name = meta.get("name")
        if not name:
            return 422, status(422, "metadata.name: Required value", "Invalid")
        if meta.get("namespace", ns) != ns:
            message = "the namespace of the provided object does not match the namespace sent"
            return 400, status(400, message, "BadRequest")
        if (res, ns, name) in self.objects:
            return 409, status(409, f'{res} "{name}" already exists', "AlreadyExists")
        body["metadata"] = {**meta, "namespace": ns}
        for server_set in ("uid", "resourceVersion", "creationTimestamp"):
            body["metadata"].pop(server_set, None)
        if res == "services":
            spec = body.setdefault("spec", {})
            if spec.get("clusterIP") != "None":
                spec["clusterIP"] = next(self._cluster_ips)
        created = self.put(res, body)
        if res == "statefulsets":
            self._statefulset_pods(created)
        return 201, created

    def _patch(self, res: str, ns: str, name: str, body: Any) -> tuple[int, Any]:
        found = self.objects.get((res, ns, name))
        if found is None:
            return 404, status(404, f'{res} "{name}" not found')
        patch = body if isinstance(body, dict) else {}
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != found["metadata"]["resourceVersion"]:
            message = (
                f'Operation cannot be fulfilled on {res} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again"
            )
            return 409, status(409, message, "Conflict")
        merged = merge(found, patch)
        if res == "statefulsets":
            changed = sorted(
                key
                for key in set(found["spec"]) | set(merged["spec"])
                if key not in STATEFULSET_MUTABLE
                and found["spec"].get(key) != merged["spec"].get(key)
            )
            if changed:
                message = (
                    f'StatefulSet.apps "{name}" is invalid: spec: Forbidden: updates to '
                    f"statefulset spec for fields other than {sorted(STATEFULSET_MUTABLE)} "
                    f"are forbidden (changed: {', '.join(changed)})"
                )
                return 422, status(422, message, "Invalid")
        merged["metadata"]["name"], merged["metadata"]["namespace"] = name, ns
        merged["metadata"]["uid"] = found["metadata"]["uid"]
        return 200, self.put(res, merged)

    def _delete(self, res: str, ns: str, name: str, body: Any) -> tuple[int, Any]:
        found = self.objects.get((res, ns, name))
        if found is None:
            return 404, status(404, f'{res} "{name}" not found')
        preconditions = (body or {}).get("preconditions") or {}
        for key, field_name in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(key)
            if wanted is not None and wanted != found["metadata"][key]:
                message = (
                    f"Precondition failed: {field_name} in precondition: {wanted}, "
                    f"{field_name} in object meta: {found['metadata'][key]}"
                )
                return 409, status(409, message, "Conflict")
        del self.objects[(res, ns, name)]
        if res == "pods":
            self.pods.pop((ns, name), None)
            if self._owner(ns, found) is not None:
                threading.Thread(target=self._recreate, args=(ns, found), daemon=True).start()
        if res == "statefulsets":
            uid = found["metadata"]["uid"]
            for key, pod in list(self.objects.items()):
                refs = pod["metadata"].get("ownerReferences") or []
                if key[0] == "pods" and key[1] == ns and any(r["uid"] == uid for r in refs):
                    del self.objects[key]
                    self.pods.pop((ns, key[2]), None)
        return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386), which is what a strategic merge of these objects is."""
    result = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
