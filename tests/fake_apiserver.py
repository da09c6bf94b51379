"""An in-test fake of the Kubernetes API server: the paths the kubernetes runtime uses.

The real `kubernetes` client talks to it over HTTP (and WebSocket, for exec), so the
runtime is exercised exactly as against a cluster, with the API as the only seam. The
fake plays the controllers too, as far as the runtime can see them: a StatefulSet makes
its pods (a deleted one comes back with a new IP), a Service with a selector gets a
cluster IP and Endpoints computed from its pods' readiness, and exec understands the
commands a container would run for the runtime (the readiness marker, SIGSTOP/SIGCONT of
the server). Every request is recorded, so tests can say what was — and was not — done.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request

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
MARKER = "/tmp/peerchaos-unready"


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


@dataclass
class PodState:
    ip: str
    marker: bool = False  # the readiness marker file exists
    paused: bool = False
    execs: list[list[str]] = field(default_factory=list)


class FakeCluster:
    """The state behind the fake API: objects by (resource, namespace, name)."""

    def __init__(self, recreate_delay_s: float = 0.2) -> None:
        self.lock = threading.RLock()
        self.namespaces: dict[str, dict[str, str]] = {}
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.pods: dict[tuple[str, str], PodState] = {}
        self.requests: list[Recorded] = []
        self.recreate_delay_s = recreate_delay_s
        self._ips = (f"10.244.{i // 250}.{i % 250 + 2}" for i in itertools.count())
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
        meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        meta["resourceVersion"] = str(len(self.requests) + 1)
        with self.lock:
            self.objects[(res, meta["namespace"], meta["name"])] = obj
        return obj

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

    # -- controllers ----------------------------------------------------------------------

    def add_pod(self, ns: str, name: str, labels: dict[str, str], spec: dict[str, Any]) -> None:
        ip = next(self._ips)
        self.pods[(ns, name)] = PodState(ip)
        self.put(
            "pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
                "spec": copy.deepcopy(spec),
                "status": {"phase": "Running", "podIP": ip},
            },
        )

    def _statefulset_pods(self, sts: dict[str, Any]) -> None:
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        template = sts["spec"]["template"]
        for ordinal in range(int(sts["spec"].get("replicas", 1))):
            pod = f"{name}-{ordinal}"
            labels = {
                **template["metadata"].get("labels", {}),
                "statefulset.kubernetes.io/pod-name": pod,
            }
            self.add_pod(ns, pod, labels, template["spec"])
            for claim in sts["spec"].get("volumeClaimTemplates") or []:
                claim_name = f"{claim['metadata']['name']}-{pod}"
                if ("persistentvolumeclaims", ns, claim_name) not in self.objects:
                    self.put(
                        "persistentvolumeclaims",
                        {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "metadata": {"name": claim_name, "namespace": ns},
                            "spec": copy.deepcopy(claim["spec"]),
                        },
                    )

    def _owner(self, ns: str, pod: str) -> dict[str, Any] | None:
        for (res, space, name), obj in self.objects.items():
            if res == "statefulsets" and space == ns and re.fullmatch(rf"{name}-\d+", pod):
                return obj
        return None

    def _recreate(self, ns: str, pod: str, labels: dict[str, str], spec: dict[str, Any]) -> None:
        time.sleep(self.recreate_delay_s)
        with self.lock:
            if self._owner(ns, pod) is not None and ("pods", ns, pod) not in self.objects:
                self.add_pod(ns, pod, labels, spec)

    def _view(self, res: str, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as a reader sees it now: pod readiness, computed Endpoints."""
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        if res == "pods":
            state = self.pods.get((meta["namespace"], meta["name"]))
            ready = state is not None and not state.marker
            obj["status"]["conditions"] = [
                {"type": "Ready", "status": "True" if ready else "False"}
            ]
            obj["status"]["containerStatuses"] = [
                {
                    "name": "zookeeper",
                    "image": "zookeeper:3.8",
                    "imageID": "",
                    "ready": ready,
                    "restartCount": 0,
                }
            ]
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
        return {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns},
            "subsets": [subset] if subset else [],
        }

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
                return 200, self._list(res, ns, query)
            if method == "POST":
                return self._create(res, ns, body)
            if method == "GET":
                found = self._endpoints(ns, name) if res == "endpoints" else self.get(res, ns, name)
                if found is None:
                    return 404, status(404, f'{res} "{name}" not found')
                return 200, found
            if method in ("PATCH", "PUT"):
                return self._update(res, ns, name, body)
            if method == "DELETE":
                return self._delete(res, ns, name)
            return 405, status(405, f"{method} not allowed")

    def _list(self, res: str, ns: str, query: dict) -> dict[str, Any]:
        wanted = dict(
            item.split("=", 1)
            for item in (query.get("labelSelector") or [""])[0].split(",")
            if item
        )
        items = []
        for r, space, name in sorted(self.objects):
            if r != res or space != ns:
                continue
            obj = self._endpoints(ns, name) if res == "endpoints" else self.get(res, ns, name)
            labels = (obj or {}).get("metadata", {}).get("labels") or {}
            if obj and all(labels.get(k) == v for k, v in wanted.items()):
                items.append(obj)
        return {"kind": f"{KIND_OF[res]}List", "metadata": {"resourceVersion": "1"}, "items": items}

    def _create(self, res: str, ns: str, body: dict[str, Any]) -> tuple[int, Any]:
        name = body["metadata"]["name"]
        if (res, ns, name) in self.objects:
            return 409, status(409, f'{res} "{name}" already exists', "AlreadyExists")
        body["metadata"]["namespace"] = ns
        if res == "services":
            spec = body.setdefault("spec", {})
            if spec.get("clusterIP") != "None":
                spec["clusterIP"] = next(self._cluster_ips)
        created = self.put(res, body)
        if res == "statefulsets":
            self._statefulset_pods(created)
        return 201, created

    def _update(self, res: str, ns: str, name: str, body: Any) -> tuple[int, Any]:
        found = self.objects.get((res, ns, name))
        if found is None:
            return 404, status(404, f'{res} "{name}" not found')
        merged = merge(found, body if isinstance(body, dict) else {})
        merged["metadata"]["name"], merged["metadata"]["namespace"] = name, ns
        return 200, self.put(res, merged)

    def _delete(self, res: str, ns: str, name: str) -> tuple[int, Any]:
        found = self.objects.pop((res, ns, name), None)
        if found is None:
            return 404, status(404, f'{res} "{name}" not found')
        if res == "pods":
            self.pods.pop((ns, name), None)
            if self._owner(ns, name) is not None:
                labels, spec = found["metadata"].get("labels", {}), found["spec"]
                threading.Thread(
                    target=self._recreate, args=(ns, name, labels, spec), daemon=True
                ).start()
        if res == "statefulsets":
            for pod in [p for p in self.names("pods", ns) if re.fullmatch(rf"{name}-\d+", p)]:
                self.objects.pop(("pods", ns, pod), None)
                self.pods.pop((ns, pod), None)
        return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}

    def exec(self, path: str, command: list[str]) -> tuple[int, str]:
        """Run what the runtime asks a container to run; (exit code, stdout)."""
        match = CORE.match(path)
        assert match is not None
        ns, pod = match.group("ns"), match.group("name")
        with self.lock:
            state = self.pods.get((ns, pod))
            if state is None:
                return 1, f"pod {pod} is not running"
            state.execs.append(list(command))
            script = command[-1]
            if f"touch {MARKER}" in script:
                state.marker = True
            elif f"rm -f {MARKER}" in script:
                state.marker = False
            elif "kill -STOP" in script:
                state.paused = True
            elif "kill -CONT" in script:
                state.paused = False
            else:
                return 127, f"sh: {script}: not found"
            return 0, ""


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


def status(code: int, message: str, reason: str = "NotFound") -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster: FakeCluster

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _reply(self, code: int, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        data = text.encode()
        self.send_response(code)
        kind = "text/plain" if isinstance(payload, str) else "application/json"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if method == "GET" and url.path.endswith("/exec"):
            self._exec(url.path, query)
            return
        body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
        if method == "GET" and url.path.endswith("/log"):
            pod = url.path.split("/")[-2]
            self.cluster.requests.append(Recorded(method, url.path, query))
            self._reply(200, f"2026-11-26 00:00:00,000 [myid:1] - INFO {pod} started\n")
            return
        code, payload = self.cluster.handle(method, url.path, query, body)
        self._reply(code, payload)

    def _exec(self, path: str, query: dict) -> None:
        """The exec subresource over WebSocket, channel protocol v4: stdout is channel 1,
        the exit status (a Status object) channel 3."""
        self.cluster.requests.append(Recorded("GET", path, query))
        ws = WSConnection(ConnectionType.SERVER)
        head = f"GET {self.path} HTTP/1.1\r\n" + "".join(
            f"{key}: {value}\r\n" for key, value in self.headers.items()
        )
        ws.receive_data((head + "\r\n").encode())
        if not any(isinstance(e, Request) for e in ws.events()):
            self._reply(400, status(400, "not a WebSocket request", "BadRequest"))
            return
        self.wfile.write(ws.send(AcceptConnection(subprotocol="v4.channel.k8s.io")))
        code, output = self.cluster.exec(path, query.get("command", []))
        if output:
            self.wfile.write(ws.send(BytesMessage(data=b"\x01" + output.encode())))
        result: dict[str, Any] = {"metadata": {}, "status": "Success"}
        if code:
            result = {
                "metadata": {},
                "status": "Failure",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
            }
        self.wfile.write(ws.send(BytesMessage(data=b"\x03" + json.dumps(result).encode())))
        self.wfile.write(ws.send(CloseConnection(code=1000)))
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up (the exec WebSocket after its close frame, a pool dropping
        # an idle connection) is normal; anything else is a fault in the fake: show it.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeApiServer:
    """The fake on 127.0.0.1 (an ephemeral port), on its own thread, for a `with` block."""

    def __init__(self, cluster: FakeCluster | None = None) -> None:
        self.cluster = cluster or FakeCluster()
        handler = type("Handler", (_Handler,), {"cluster": self.cluster})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def kubeconfig(self, path: Any, namespace: str = "default") -> str:
        """A kubeconfig file pointing at this server, as `kubectl` would read it."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [
                {
                    "name": "fake",
                    "context": {"cluster": "fake", "user": "fake", "namespace": namespace},
                }
            ],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config))
        return str(path)

    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
