"""How a run ends: heal, settle, stop the observers, summarise; why it failed; teardown.

`finish_observation` runs once per run, after the method or in the cleanup of an
interrupted one, so the final reads and the summary exist whatever happened;
`failure_reasons` says why a run whose Chaos Toolkit status is "completed" failed all
the same; `teardown` removes the ensemble and the state dir peerchaos made for it.
"""

from __future__ import annotations

import logging
from typing import Any

from peerchaos import nemesis
from peerchaos.ctk import session as sessions
from peerchaos.errors import PeerchaosError
from peerchaos.runtime.local import ownership

# Chaos Toolkit shows its own logger's records on the console and in chaostoolkit.log.
logger = logging.getLogger("chaostoolkit")


def finish_observation(session: sessions.Session, status: str = "completed") -> None:
    """Heal, settle, stop the observers, collect and summarise — once."""
    from peerchaos.actors import stop_ray
    from peerchaos.observe import collect, summarize

    if session.run is None or session.summary is not None:
        return
    if session.runtime.is_up():
        try:
            healed = nemesis.heal_everything(session.runtime)
            # Recovery before the final reads — unless the ensemble never was healthy (a
            # bootstrap that deadlocked) and no fault of ours is there to heal.
            if healed or session.trials or not session.notes.get("never_healthy"):
                nemesis.wait_healthy(session.runtime, 60)
        except PeerchaosError as error:
            logger.warning(f"peerchaos: {error}")
    try:
        if session.observers is not None:
            session.observers.stop(final_reads=session.runtime.is_up())
    except Exception as error:  # keep what was measured even if an actor died
        logger.warning(f"peerchaos: stopping observers: {error}")
    finally:
        stop_ray()
    if session.runtime.is_up():
        collect(session.runtime, session.run, session.since)
    session.summary = summarize(session.run, status, {"faults": session.trials})


def failure_reasons(journal: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    reasons = []
    before = (journal.get("steady_states") or {}).get("before")
    if before is not None and not before.get("steady_state_met", True):
        reasons.append("the steady state was not met before the method (nothing was tested)")
    if journal.get("deviated"):
        reasons.append("the steady state deviated after the method")
    for name, result in (
        ((summary.get("checks") or {}).get("details") or {}).get("results", {}).items()
    ):
        if result.get("valid") is False:
            reasons.append(f"check {name} is false")
    return reasons


def write_report(session: sessions.Session) -> None:
    """The report, when the reports module is there; the summary otherwise."""
    try:
        from peerchaos.report import write_reports
    except ImportError:
        return
    try:
        write_reports(session.run)
    except Exception as error:  # a report must never cost the run its results
        logger.warning(f"peerchaos: report: {error}")


def teardown(session: sessions.Session) -> None:
    try:
        # deploy: attach — the attached runtime's teardown only heals; their objects stay.
        session.runtime.teardown()
    except PeerchaosError as error:  # e.g. the cluster went away: say so, keep the results
        logger.error(f"peerchaos: teardown: {error}")
    finally:
        if session.owns_state_dir:
            try:
                ownership.remove_owned(session.state_dir)
            except PeerchaosError as error:  # not ours after all: say so, leave it
                logger.error(f"peerchaos: teardown: {error}")
        session.deployed = False
