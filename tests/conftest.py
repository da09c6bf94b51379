"""Shared fixtures: real ZooKeeper ensembles on the local runtime, torn down even on failure.

One ensemble per test session where a test can restore what it changed; ensembles with
other Service settings get their own pod and service CIDRs so they can run side by side.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peerchaos import ensemble as ens
from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.runtime.local.scoped import local_ensemble
from peerchaos.spec import EnsembleSpec, parse_spec

REPO = Path(__file__).parents[1]

HAVE_ZOOKEEPER = Path("/usr/share/java/zookeeper.jar").exists() and shutil.which("java")
IS_ROOT = os.geteuid() == 0

needs_zookeeper = pytest.mark.skipif(
    not HAVE_ZOOKEEPER, reason="ZooKeeper is not installed (apt-get install zookeeper)"
)
needs_root = pytest.mark.skipif(not IS_ROOT, reason="network namespaces need root")

FAST = {
    "tick_time_ms": 200,
    "init_limit": 20,
    "sync_limit": 5,
    "pod_management_policy": "Parallel",
    "readiness_probe": {"period_s": 0.2, "timeout_s": 0.5, "failure_threshold": 2},
    # The JVM's default caches keep a recreated peer's old IP in the other peers' minds
    # (30 s for answers; 10 s for a failed lookup, after which ZooKeeper keeps the old
    # address) — a real effect, measured by zk-pod-ip-change and zk-leader-kill; tests
    # that chain faults would measure it instead of what they are about.
    "jvm_dns_cache_s": 1,
    "jvm_dns_negative_cache_s": 1,
}


def fast_spec(**overrides: Any) -> EnsembleSpec:
    return parse_spec({**FAST, **overrides}, "test spec")


def wait_until(predicate: Callable[[], Any], timeout_s: float = 20.0, what: str = "") -> Any:
    """Poll until `predicate()` is truthy; fail the test with `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what or predicate} (last: {last!r})")


def running_ensemble(spec: EnsembleSpec, state_dir: Path) -> contextlib.AbstractContextManager:
    return local_ensemble(spec, state_dir, restart_delay_s=0.3)


def settle(runtime: LocalRuntime, replicas: int = 3) -> None:
    """Back to a healthy ensemble: all pods running and ready, a leader elected."""
    with contextlib.suppress(Exception):
        runtime.heal()
    for pod in runtime.pods():
        if pod.paused:
            runtime.resume(pod.name)
        if pod.unready_marker:
            runtime.make_ready(pod.name)
    wait_until(
        lambda: sum(p.ready for p in runtime.pods()) == replicas, 60, "every pod ready again"
    )
    ens.wait_for_leader(runtime, 60)
    wait_until(
        lambda: all(r.serving for r in ens.roles(runtime).values()), 60, "every peer serving"
    )


@pytest.fixture(scope="session")
def state_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="peerchaos-test-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster(state_root: Path) -> Iterator[LocalRuntime]:
    """The shared ensemble: 3 peers, publishNotReadyAddresses true, as the tutorial."""
    if not HAVE_ZOOKEEPER:
        pytest.skip("ZooKeeper is not installed (apt-get install zookeeper)")
    spec = fast_spec(local={"pod_cidr": "10.244.10.0/24", "service_cidr": "10.96.10.0/24"})
    with running_ensemble(spec, state_root / "shared") as runtime:
        yield runtime


@pytest.fixture()
def healthy(cluster: LocalRuntime) -> Iterator[LocalRuntime]:
    """The shared ensemble, healed and settled after the test whatever it did."""
    settle(cluster)
    try:
        yield cluster
    finally:
        settle(cluster)


@pytest.fixture(scope="module")
def strict_cluster(state_root: Path) -> Iterator[LocalRuntime]:
    """publishNotReadyAddresses false and a selectorless client Service."""
    if not HAVE_ZOOKEEPER:
        pytest.skip("ZooKeeper is not installed (apt-get install zookeeper)")
    spec = fast_spec(
        publish_not_ready_addresses=False,
        selectorless={"enabled": True},
        local={"pod_cidr": "10.244.11.0/24", "service_cidr": "10.96.11.0/24"},
    )
    with running_ensemble(spec, state_root / "strict") as runtime:
        yield runtime


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """Ray started once per session, on loopback in its own temp dir."""
    from peerchaos.actors import start_ray, stop_ray

    start_ray()
    try:
        yield
    finally:
        stop_ray()


@contextlib.contextmanager
def deployed_session(configuration: dict[str, Any]) -> Iterator[Any]:
    """A peerchaos Chaos Toolkit session with its ensemble deployed, torn down after."""
    if not HAVE_ZOOKEEPER:
        pytest.skip("ZooKeeper is not installed (apt-get install zookeeper)")
    from peerchaos.ctk import actions
    from peerchaos.ctk import session as sessions

    sessions.close_session()
    session = sessions.open_session(configuration)
    try:
        actions.deploy_ensemble(configuration=configuration)
        yield session
    finally:
        actions.teardown_ensemble(configuration=configuration)
        sessions.close_session()
