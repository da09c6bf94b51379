"""Chaos Toolkit actions: deploy the ensemble, break peers (with trials), heal.

Plain functions with builtin-typed arguments, `configuration` and `secrets` last, as
chaostoolkit-kubernetes writes them. Every failure is an `ActivityFailed` with one line
naming the object, what was expected and what was seen.
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.types import Configuration, Secrets

from peerchaos import ensemble as ens
from peerchaos import nemesis
from peerchaos.ctk.config import flag, number
from peerchaos.ctk.session import open_session
from peerchaos.ctk.trials import (
    activity_argument,
    activity_failed,
    fault_trials,
    on_runtime,
    single_fault,
)
from peerchaos.errors import PeerchaosError
from peerchaos.manifests import render

__all__ = [
    "bootstrap_ensemble",
    "delete_endpoints",
    "deploy_ensemble",
    "heal_all",
    "heal_partition",
    "kill_peer",
    "make_peer_ready",
    "make_peer_unready",
    "partition_peer",
    "pause_peer",
    "restore_endpoints",
    "resume_peer",
    "rolling_restart",
    "teardown_ensemble",
]


def deploy_ensemble(
    timeout_s: float = 90.0,
    ready: bool = True,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Apply the spec's objects; return once every peer serves and is Ready, a leader is
    followed by a majority and a write through the client Service was acknowledged.

    `ready: false` returns after the leader and the write, with peers perhaps still
    starting (a steady-state probe of readiness would then race the start-up).
    """
    session = open_session(configuration)
    if session.deployed:
        return {"already": True}
    try:
        wait = number(timeout_s, float, 1, 3600, "deploy_ensemble: timeout_s")
        all_ready = flag(ready, "deploy_ensemble: ready")
        started = time.monotonic()
        session.runtime.apply(render(session.config.spec))
        session.deployed = True
        leader = ens.wait_for_leader(session.runtime, wait)
        ens.canary_write(session.runtime, timeout_s=30)
        if all_ready:
            left = max(1.0, wait - (time.monotonic() - started))
            ens.wait_until_ready(session.runtime, left, session.config.spec.replicas)
        return {"leader": leader, "seconds": time.monotonic() - started}
    except PeerchaosError as error:
        raise activity_failed(error) from None


def bootstrap_ensemble(
    timeout_s: float = 30.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Apply the objects and wait up to `timeout_s` for every peer to be Ready; never fails.

    What a bootstrap reaches (ready peers, seconds, leader) is the result: with a quorum
    readiness probe and publishNotReadyAddresses false the peers cannot find each other.
    """
    timeout_s = activity_argument("bootstrap_ensemble", "timeout_s", timeout_s)
    session = open_session(configuration)
    started = time.monotonic()
    try:
        if not session.deployed:
            session.runtime.apply(render(session.config.spec))
            session.deployed = True
        deadline = started + timeout_s
        ready = 0
        while time.monotonic() < deadline:
            ready = sum(1 for pod in session.runtime.pods() if pod.ready)
            if ready == session.config.spec.replicas:
                break
            time.sleep(0.2)
        leader = ens.current_leader(ens.roles(session.runtime))
    except PeerchaosError as error:
        raise activity_failed(error) from None
    result = {"ready": ready, "seconds": time.monotonic() - started, "leader": leader}
    session.notes["bootstrap"] = result
    return result


def teardown_ensemble(configuration: Configuration = None, secrets: Secrets = None) -> list[str]:
    """Remove every process, namespace, rule and file of the ensemble."""
    session = open_session(configuration)
    session.deployed = False
    return session.runtime.teardown()


def kill_peer(
    target: str = "leader",
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """SIGKILL a peer (a pod delete with grace period 0); the StatefulSet brings it back."""
    return fault_trials("kill", target, trials, 0, settle_s, configuration)


def make_peer_unready(
    target: str = "leader",
    duration_s: float = 5.0,
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """Fail the peer's readiness probe for `duration_s` (0: leave it unready); it keeps running."""
    if activity_argument("make_peer_unready", "duration_s", duration_s) == 0:
        return single_fault("unready", target, configuration)
    return fault_trials("unready", target, trials, duration_s, settle_s, configuration)


def make_peer_ready(
    target: str, configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Let a peer's readiness probe pass again."""
    target = activity_argument("make_peer_ready", "target", target)
    return on_runtime(configuration, lambda rt, _: rt.make_ready(ens.pick_target(rt, target)))


def pause_peer(
    target: str = "leader",
    duration_s: float = 5.0,
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """SIGSTOP the peer's processes for `duration_s`, then SIGCONT."""
    return fault_trials("pause", target, trials, duration_s, settle_s, configuration)


def resume_peer(target: str, configuration: Configuration = None, secrets: Secrets = None) -> float:
    """SIGCONT a paused peer."""
    target = activity_argument("resume_peer", "target", target)
    return on_runtime(configuration, lambda rt, _: rt.resume(ens.pick_target(rt, target)))


def partition_peer(
    target: str = "leader",
    duration_s: float = 5.0,
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """Cut a peer (or `minority`) off from the others for `duration_s`, then heal."""
    return fault_trials("partition", target, trials, duration_s, settle_s, configuration)


def heal_partition(configuration: Configuration = None, secrets: Secrets = None) -> float:
    """Remove every partition rule."""
    return on_runtime(configuration, lambda rt, _: rt.heal())


def rolling_restart(
    settle_s: float = 2.0, configuration: Configuration = None, secrets: Secrets = None
) -> list[dict[str, Any]]:
    """Kill every peer in turn, highest ordinal first, waiting for health in between."""
    activity_argument("rolling_restart", "settle_s", settle_s)
    session = open_session(configuration)
    names = list(reversed(session.config.spec.pod_names()))
    records = []
    for name in names:
        records += fault_trials("kill", name, 1, 0, settle_s, configuration)
    return records


def delete_endpoints(
    service: str = "",
    duration_s: float = 0.0,
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Any:
    """Delete a selectorless Service's hand-written Endpoints (default: the client Service).

    With `duration_s` > 0 they are written back after that long, `trials` times.
    """
    service = activity_argument("delete_endpoints", "service", service)
    hold = activity_argument("delete_endpoints", "duration_s", duration_s)
    session = open_session(configuration)
    name = service or session.config.spec.client_service.name
    if hold > 0:
        return fault_trials("endpoints", name, trials, duration_s, settle_s, configuration)
    return on_runtime(configuration, lambda rt, _: rt.delete_endpoints(name))


def restore_endpoints(
    service: str = "", configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Write the hand-written Endpoints back."""
    service = activity_argument("restore_endpoints", "service", service)
    return on_runtime(
        configuration,
        lambda rt, session: rt.restore_endpoints(
            service or session.config.spec.client_service.name
        ),
    )


def heal_all(configuration: Configuration = None, secrets: Secrets = None) -> list[str]:
    """Rollback: heal partitions, resume paused peers, make unready peers ready."""
    try:
        session = open_session(configuration)
    except PeerchaosError:
        # Pre-flight said why in one line already; a configuration that cannot be read
        # deployed nothing, so there is nothing to heal (and no second line to print).
        return ["nothing to heal: the configuration was refused"]
    if not session.runtime.is_up():
        return ["nothing to heal: no ensemble up"]
    try:
        return nemesis.heal_everything(session.runtime)
    except PeerchaosError as error:
        raise activity_failed(error) from None
