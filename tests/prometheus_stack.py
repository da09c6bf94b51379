"""A real Prometheus Pushgateway and a Prometheus scraping it, on loopback, for the tests.

Debian's `prometheus-pushgateway` and `prometheus` (scripts/setup.sh installs them), started
without systemd on free 127.0.0.1 ports in a temp dir of their own. Prometheus scrapes the
Pushgateway every second with `honor_labels: true`, as a Pushgateway is meant to be
scraped (the pushed `job` and `experiment` labels win over the scrape's own). `running()`
stops both by PID and removes their dir also when the test fails. On this machine the
Pushgateway answers /-/ready about 0.03 s after its start and Prometheus about 0.1 s.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PUSHGATEWAY = shutil.which("prometheus-pushgateway")
PROMETHEUS = shutil.which("prometheus")
needs_prometheus = pytest.mark.skipif(
    not (PUSHGATEWAY and PROMETHEUS),
    reason="needs Debian's prometheus and prometheus-pushgateway (bash scripts/setup.sh)",
)
READY_TIMEOUT_S = 20.0
SCRAPE_INTERVAL = "1s"


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick for an ephemeral bind)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    root: Path
    pushgateway: str = ""
    prometheus: str = ""
    ready_s: dict[str, float] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log_tail(self, name: str, lines: int = 5) -> str:
        path = self.root / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant PromQL query through Prometheus' HTTP API: the result vector."""
        url = f"{self.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as response:
            answer = json.load(response)
        assert answer["status"] == "success", answer
        assert answer["data"]["resultType"] == "vector", answer
        return list(answer["data"]["result"])

    def wait_for(
        self,
        expr: str,
        until: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout_s: float = 20.0,
    ) -> list[dict[str, Any]]:
        """Query until `until(result)` holds (the next scrapes bring a push in)."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(expr)
            if until(result):
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{expr}: still {result} after {timeout_s} s; "
                    f"prometheus: {self.log_tail('prometheus')}"
                )
            time.sleep(0.2)


def _start(stack: Stack, name: str, command: list[str], ready_url: str) -> None:
    started = time.monotonic()
    with (stack.root / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=stack.root,
        )
    stack.processes[name] = process
    deadline = started + READY_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited {process.returncode}: {stack.log_tail(name)}")
        try:
            with urllib.request.urlopen(ready_url, timeout=1) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{name} not ready after {READY_TIMEOUT_S} s: {stack.log_tail(name)}"
            )
        time.sleep(0.02)
    stack.ready_s[name] = time.monotonic() - started


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()  # by its PID: the process this module started
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def running() -> Iterator[Stack]:
    """Both servers up and Prometheus scraping the Pushgateway; both gone afterwards."""
    assert PUSHGATEWAY and PROMETHEUS
    stack = Stack(Path(tempfile.mkdtemp(prefix="pc-prometheus-")))
    try:
        gateway_port = free_port()
        stack.pushgateway = f"http://127.0.0.1:{gateway_port}"
        _start(
            stack,
            "pushgateway",
            [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{gateway_port}"],
            f"{stack.pushgateway}/-/ready",
        )
        config = stack.root / "prometheus.yml"
        config.write_text(
            json.dumps(  # JSON is YAML: no quoting to get wrong
                {
                    "global": {
                        "scrape_interval": SCRAPE_INTERVAL,
                        "evaluation_interval": SCRAPE_INTERVAL,
                    },
                    "scrape_configs": [
                        {
                            "job_name": "pushgateway",
                            "honor_labels": True,
                            "static_configs": [{"targets": [f"127.0.0.1:{gateway_port}"]}],
                        }
                    ],
                }
            )
        )
        prometheus_port = free_port()
        stack.prometheus = f"http://127.0.0.1:{prometheus_port}"
        _start(
            stack,
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={stack.root / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            f"{stack.prometheus}/-/ready",
        )
        yield stack
    finally:
        for process in reversed(list(stack.processes.values())):
            _stop(process)
        shutil.rmtree(stack.root, ignore_errors=True)
