"""Chaos Toolkit actions: deploy the ensemble, break peers (with trials), heal.

Plain functions with builtin-typed arguments, `configuration` and `secrets` last, as
chaostoolkit-kubernetes writes them. Every failure is an `ActivityFailed` with one line
naming the object, what was expected and what was seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from peerchaos import ensemble as ens
from peerchaos import nemesis
from peerchaos.ctk.config import flag, number, shown
from peerchaos.ctk.session import Session, open_session
from peerchaos.ctk.validate import check_argument
from peerchaos.errors import PeerchaosError
from peerchaos.events import JsonlAppender, event
from peerchaos.manifests import render
from peerchaos.runtime.base import Runtime

T = TypeVar("T")

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


def _fail(error: PeerchaosError) -> ActivityFailed:
    return ActivityFailed(str(error))


def _argument(func: str, key: str, value: Any) -> Any:
    """An argument as pre-flight checks it; ActivityFailed with one line otherwise."""
    try:
        return check_argument(key, value, func)
    except PeerchaosError as error:
        raise _fail(error) from None


def _on_runtime(configuration: Configuration, act: Callable[[Runtime, Session], T]) -> T:
    """Run one runtime call for an activity; a PeerchaosError becomes ActivityFailed."""
    session = open_session(configuration)
    try:
        return act(session.runtime, session)
    except PeerchaosError as error:
        raise _fail(error) from None


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
        raise _fail(error) from None


def bootstrap_ensemble(
    timeout_s: float = 30.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Apply the objects and wait up to `timeout_s` for every peer to be Ready; never fails.

    What a bootstrap reaches (ready peers, seconds, leader) is the result: with a quorum
    readiness probe and publishNotReadyAddresses false the peers cannot find each other.
    """
    timeout_s = _argument("bootstrap_ensemble", "timeout_s", timeout_s)
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
        raise _fail(error) from None
    result = {"ready": ready, "seconds": time.monotonic() - started, "leader": leader}
    session.notes["bootstrap"] = result
    return result


def teardown_ensemble(configuration: Configuration = None, secrets: Secrets = None) -> list[str]:
    """Remove every process, namespace, rule and file of the ensemble."""
    session = open_session(configuration)
    session.deployed = False
    return session.runtime.teardown()


def _trials(
    fault: str,
    target: str,
    trials: Any,
    duration_s: Any,
    settle_s: Any,
    configuration: Configuration,
) -> list[dict[str, Any]]:
    where = f"{fault} {shown(target)}"
    # Arguments first: a bad one is refused before a session (or its state dir) exists.
    target = _argument(where, "target", target)
    count = _argument(where, "trials", trials)
    hold = _argument(where, "duration_s", duration_s)
    settle = _argument(where, "settle_s", settle_s)
    session = open_session(configuration)
    try:
        if fault != "endpoints":
            nemesis.check_target(target, session.config.spec.pod_names(), where)
        done = nemesis.run_trials(
            session.runtime,
            fault,
            target,
            count,
            hold,
            settle,
            session.config.allow_quorum_loss,
            record=_marker_writer(session),
            independent_s=_independent_wait(session),
        )
    except PeerchaosError as error:
        raise _fail(error) from None
    except BaseException as error:
        # SIGTERM reaches us as Chaos Toolkit's InterruptExecution, which it then treats as
        # one failed activity and carries on; the run must say it was interrupted.
        session.notes["interrupted"] = f"{fault} {target}: {type(error).__name__}: {error}"
        raise
    records = [trial.to_dict() for trial in done]
    session.trials += records
    return records


def _marker_writer(session: Session) -> nemesis.Record | None:
    """Each injected trial, written to the run's events as it lands (see nemesis)."""
    if session.run is None:
        return None
    path = session.run.events

    def write(marker: dict[str, Any]) -> None:
        with JsonlAppender(path) as log:
            log.append(event("nemesis", "trial", **marker))

    return write


def _independent_wait(session: Session) -> float | None:
    if session.config.settle != "independent":
        return None
    try:
        return nemesis.independent_wait_s(session.config.spec)
    except PeerchaosError as error:
        raise _fail(error) from None


def kill_peer(
    target: str = "leader",
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """SIGKILL a peer (a pod delete with grace period 0); the StatefulSet brings it back."""
    return _trials("kill", target, trials, 0, settle_s, configuration)


def make_peer_unready(
    target: str = "leader",
    duration_s: float = 5.0,
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """Fail the peer's readiness probe for `duration_s` (0: leave it unready); it keeps running."""
    if _argument("make_peer_unready", "duration_s", duration_s) == 0:
        return _single("unready", target, configuration)
    return _trials("unready", target, trials, duration_s, settle_s, configuration)


def make_peer_ready(
    target: str, configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Let a peer's readiness probe pass again."""
    target = _argument("make_peer_ready", "target", target)
    return _on_runtime(configuration, lambda rt, _: rt.make_ready(ens.pick_target(rt, target)))


def pause_peer(
    target: str = "leader",
    duration_s: float = 5.0,
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """SIGSTOP the peer's processes for `duration_s`, then SIGCONT."""
    return _trials("pause", target, trials, duration_s, settle_s, configuration)


def resume_peer(target: str, configuration: Configuration = None, secrets: Secrets = None) -> float:
    """SIGCONT a paused peer."""
    target = _argument("resume_peer", "target", target)
    return _on_runtime(configuration, lambda rt, _: rt.resume(ens.pick_target(rt, target)))


def partition_peer(
    target: str = "leader",
    duration_s: float = 5.0,
    trials: int = 1,
    settle_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """Cut a peer (or `minority`) off from the others for `duration_s`, then heal."""
    return _trials("partition", target, trials, duration_s, settle_s, configuration)


def heal_partition(configuration: Configuration = None, secrets: Secrets = None) -> float:
    """Remove every partition rule."""
    return _on_runtime(configuration, lambda rt, _: rt.heal())


def rolling_restart(
    settle_s: float = 2.0, configuration: Configuration = None, secrets: Secrets = None
) -> list[dict[str, Any]]:
    """Kill every peer in turn, highest ordinal first, waiting for health in between."""
    _argument("rolling_restart", "settle_s", settle_s)
    session = open_session(configuration)
    names = list(reversed(session.config.spec.pod_names()))
    records = []
    for name in names:
        records += _trials("kill", name, 1, 0, settle_s, configuration)
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
    service = _argument("delete_endpoints", "service", service)
    hold = _argument("delete_endpoints", "duration_s", duration_s)
    session = open_session(configuration)
    name = service or session.config.spec.client_service.name
    if hold > 0:
        return _trials("endpoints", name, trials, duration_s, settle_s, configuration)
    return _on_runtime(configuration, lambda rt, _: rt.delete_endpoints(name))


def restore_endpoints(
    service: str = "", configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Write the hand-written Endpoints back."""
    service = _argument("restore_endpoints", "service", service)
    return _on_runtime(
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
        raise _fail(error) from None


def _single(fault: str, target: str, configuration: Configuration) -> list[dict[str, Any]]:
    target = _argument(f"{fault} {shown(target)}", "target", target)
    session = open_session(configuration)
    try:
        nemesis.check_target(target, session.config.spec.pod_names(), f"{fault} {shown(target)}")
        pods = nemesis.resolve(session.runtime, target, __import__("random").Random())
        t = nemesis.inject(session.runtime, fault, pods)
    except PeerchaosError as error:
        raise _fail(error) from None
    record = {
        "index": len(session.trials),
        "fault": fault,
        "pods": pods,
        "t_fault": t,
        "t_heal": None,
    }
    writer = _marker_writer(session)
    if writer is not None:
        writer({k: v for k, v in record.items() if k != "t_heal"} | {"target": target})
    session.trials.append(record)
    return [record]
