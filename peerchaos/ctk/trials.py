"""What the peerchaos actions share: checked arguments, one-line failures, fault trials.

An action checks its arguments before a session (or its state dir) exists, then either
makes one runtime call (`on_runtime`) or injects a fault as `nemesis` trials
(`fault_trials`, `single_fault`); every trial lands in the session, for the summary,
and in the run's events as it is injected. A `PeerchaosError` becomes Chaos Toolkit's
`ActivityFailed` with its one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from peerchaos import nemesis
from peerchaos.ctk.config import shown
from peerchaos.ctk.session import Session, open_session
from peerchaos.ctk.validate import check_argument
from peerchaos.errors import PeerchaosError
from peerchaos.events import JsonlAppender, event
from peerchaos.runtime.base import Runtime

T = TypeVar("T")


def activity_failed(error: PeerchaosError) -> ActivityFailed:
    """The one line of a peerchaos error, as the failure of an activity."""
    return ActivityFailed(str(error))


def activity_argument(func: str, key: str, value: Any) -> Any:
    """An argument as pre-flight checks it; ActivityFailed with one line otherwise."""
    try:
        return check_argument(key, value, func)
    except PeerchaosError as error:
        raise activity_failed(error) from None


def on_runtime(configuration: Configuration, act: Callable[[Runtime, Session], T]) -> T:
    """Run one runtime call for an activity; a PeerchaosError becomes ActivityFailed."""
    session = open_session(configuration)
    try:
        return act(session.runtime, session)
    except PeerchaosError as error:
        raise activity_failed(error) from None


def fault_trials(
    fault: str,
    target: str,
    trials: Any,
    duration_s: Any,
    settle_s: Any,
    configuration: Configuration,
) -> list[dict[str, Any]]:
    """`nemesis.run_trials` for an action: each trial injected, held, healed and settled."""
    where = f"{fault} {shown(target)}"
    # Arguments first: a bad one is refused before a session (or its state dir) exists.
    target = activity_argument(where, "target", target)
    count = activity_argument(where, "trials", trials)
    hold = activity_argument(where, "duration_s", duration_s)
    settle = activity_argument(where, "settle_s", settle_s)
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
            record=marker_writer(session),
            independent_s=independent_wait(session),
        )
    except PeerchaosError as error:
        raise activity_failed(error) from None
    except BaseException as error:
        # SIGTERM reaches us as Chaos Toolkit's InterruptExecution, which it then treats as
        # one failed activity and carries on; the run must say it was interrupted.
        session.notes["interrupted"] = f"{fault} {target}: {type(error).__name__}: {error}"
        raise
    records = [trial.to_dict() for trial in done]
    session.trials += records
    return records


def marker_writer(session: Session) -> nemesis.Record | None:
    """Each injected trial, written to the run's events as it lands (see nemesis)."""
    if session.run is None:
        return None
    path = session.run.events

    def write(marker: dict[str, Any]) -> None:
        with JsonlAppender(path) as log:
            log.append(event("nemesis", "trial", **marker))

    return write


def independent_wait(session: Session) -> float | None:
    """Under `settle: independent`, how long after a pod's IP change the next fault waits."""
    if session.config.settle != "independent":
        return None
    try:
        return nemesis.independent_wait_s(session.config.spec)
    except PeerchaosError as error:
        raise activity_failed(error) from None


def single_fault(fault: str, target: str, configuration: Configuration) -> list[dict[str, Any]]:
    """Inject `fault` once and leave it in place (no heal), recorded as one trial."""
    target = activity_argument(f"{fault} {shown(target)}", "target", target)
    session = open_session(configuration)
    try:
        nemesis.check_target(target, session.config.spec.pod_names(), f"{fault} {shown(target)}")
        pods = nemesis.resolve(session.runtime, target, __import__("random").Random())
        t = nemesis.inject(session.runtime, fault, pods)
    except PeerchaosError as error:
        raise activity_failed(error) from None
    record = {
        "index": len(session.trials),
        "fault": fault,
        "pods": pods,
        "t_fault": t,
        "t_heal": None,
    }
    writer = marker_writer(session)
    if writer is not None:
        writer({k: v for k, v in record.items() if k != "t_heal"} | {"target": target})
    session.trials.append(record)
    return [record]
