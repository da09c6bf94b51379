"""An in-test fake of the Kubernetes API server: the paths the kubernetes runtime uses.

The real `kubernetes` client talks to it over HTTP (and WebSocket, for exec), so the
runtime is exercised exactly as against a cluster, with the API as the only seam. The
state, the rules the real server enforces and the controllers it stands for are in
tests/fake_cluster.py; exec understands the commands a container would run for the
runtime (the readiness marker, SIGSTOP/SIGCONT of the server). Every request is
recorded, so tests can say what was — and was not — done.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request

from fake_cluster import CORE, FakeCluster, PodState, Recorded, status

__all__ = ["FakeApiServer", "FakeCluster", "PodState", "Recorded"]


def _pod_of(path: str) -> tuple[str, str]:
    """(namespace, pod) of a pod subresource path (log, exec)."""
    match = CORE.match(path)
    assert match is not None, path
    return match.group("ns"), match.group("name")


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
            self.cluster.requests.append(Recorded(method, url.path, query))
            self._reply(*self.cluster.log(*_pod_of(url.path), query))
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
        container = (query.get("container") or [None])[0]
        code, output = self.cluster.exec(*_pod_of(path), query.get("command", []), container)
        if output and code is not None:
            self.wfile.write(ws.send(BytesMessage(data=b"\x01" + output.encode())))
        result: dict[str, Any] = {"metadata": {}, "status": "Success"}
        if code is None:  # the command could not start: no exit code, a reason
            result = {
                "metadata": {},
                "status": "Failure",
                "message": output,
                "reason": "InternalError",
                "details": {"causes": [{"message": output}]},
                "code": 500,
            }
        elif code:
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
