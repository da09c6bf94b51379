"""The peerchaos control: the run's life cycle around a Chaos Toolkit experiment.

- before the experiment: read the configuration and check every peerchaos activity's
  arguments (one line, nothing touched yet), create the run dir, deploy the ensemble;
- around the steady-state hypothesis before the method: leave out the measured probes
  (nothing was measured yet) and record them as "no fault yet", never as 0 s met;
- before the method: start the Ray observers;
- after the method: heal everything, let the ensemble settle, stop the observers
  (final reads), collect the evidence and compute the summary the hypothesis reads;
- after the experiment: copy the journal in, fail the run when the steady state failed
  before the method or a check is false, write the report, tear down;
- cleanup (also after Ctrl-C, SIGTERM or an exception): heal, stop, tear down.

The hooks Chaos Toolkit calls live here; how the ensemble comes up is `startup.py`,
how a run ends (observation finished, failure reasons, report, teardown) `finish.py`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from chaoslib.exceptions import InterruptExecution
from chaoslib.types import Configuration, Experiment, Journal, Secrets

from peerchaos.atomicfile import write_atomic
from peerchaos.ctk import session as sessions
from peerchaos.ctk.finish import failure_reasons, finish_observation, teardown, write_report
from peerchaos.ctk.startup import bring_up
from peerchaos.ctk.validate import validate_activities
from peerchaos.errors import PeerchaosError
from peerchaos.rundir import RunDir

# Chaos Toolkit shows its own logger's records on the console and in chaostoolkit.log.
logger = logging.getLogger("chaostoolkit")


def before_experiment_control(
    context: Experiment, configuration: Configuration = None, secrets: Secrets = None, **kwargs: Any
) -> None:
    try:
        session = sessions.open_session(configuration, context.get("title", ""))
        validate_activities(context, session)
        session.runtime.preflight()  # e.g. the namespace opt-in: before anything is touched
    except PeerchaosError as error:
        sessions.close_session()
        raise InterruptExecution(str(error)) from None
    session.run = RunDir.create(session.config.name, session.config.results_dir)
    # For the experiment's process actions (another tool breaking things, measured here):
    # `peerchaos status` in them finds this run's ensemble, and they know the run dir.
    os.environ["PEERCHAOS_RUN_DIR"] = str(session.run.path)
    if session.config.runtime == "local":
        os.environ["PEERCHAOS_STATE_DIR"] = str(session.state_dir)
    session.run.write_json(session.run.meta, run_meta(session, context))
    logger.info(f"peerchaos: run dir {session.run.path}")
    bring_up(session, configuration)


def run_meta(session: sessions.Session, context: Experiment) -> dict[str, Any]:
    """`meta.json` as a run starts."""
    meta = {
        "experiment": session.config.name,
        "title": context.get("title"),
        "description": context.get("description"),
        "runtime": session.config.runtime,
        "spec": session.config.spec.model_dump(),
        "status": "running",
        "started": time.time(),
    }
    seen = getattr(session.runtime, "seen", None)
    if session.config.deploy == "attach" and seen is not None:
        # What was read from the cluster, with where each value came from; `spec` above
        # is the same ensemble as measurement reads it.
        meta.update(deploy="attach", ensemble_seen=seen.to_dict())
    return meta


def _is_measured(probe: dict[str, Any]) -> bool:
    from peerchaos.ctk.measured import MEASURED

    provider = probe.get("provider") or {}
    return (
        provider.get("module") in ("peerchaos.ctk.probes", "peerchaos.ctk.measured")
        and provider.get("func") in MEASURED
    )


def before_hypothesis_control(
    context: dict[str, Any], configuration: Configuration = None, **kwargs: Any
) -> None:
    """Before the method, the hypothesis runs its live probes only (see the docstring)."""
    session = sessions.current()
    if session is None or session.method_started or not isinstance(context, dict):
        return
    probes = context.get("probes") or []
    skipped = [p for p in probes if _is_measured(p)]
    if skipped:
        session.notes["hypothesis_probes"] = probes
        context["probes"] = [p for p in probes if not _is_measured(p)]
        session.notes["no_fault_yet"] = skipped


def after_hypothesis_control(
    context: dict[str, Any], state: Any = None, configuration: Configuration = None, **kwargs: Any
) -> None:
    session = sessions.current()
    if session is None or "hypothesis_probes" not in session.notes:
        return
    context["probes"] = session.notes.pop("hypothesis_probes")
    skipped = session.notes.pop("no_fault_yet", [])
    if isinstance(state, dict):
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        entries = [
            {
                "activity": probe,
                "status": "skipped",
                "output": "no fault yet",
                "tolerance_met": None,
                "start": now,
                "end": now,
                "duration": 0,
            }
            for probe in skipped
        ]
        # In front: when a live probe failed, Chaos Toolkit names the last entry as the
        # probe out of tolerance, and that must stay the one that failed.
        state["probes"] = entries + list(state.get("probes") or [])


def before_method_control(
    context: Experiment, configuration: Configuration = None, secrets: Secrets = None, **kwargs: Any
) -> None:
    from peerchaos.load import LoadProfile
    from peerchaos.observe import ObserverConfig, Observers

    session = sessions.current()
    if session is not None:
        session.method_started = True
    if session is None or session.run is None:
        return
    if not session.runtime.is_up():
        logger.warning("peerchaos: no ensemble up before the method; observers not started")
        return
    options = dict(session.config.observers)
    load = LoadProfile(
        keys=options.pop("keys", 5),
        rate=options.pop("rate", 0.0),
        op_timeout_s=options.pop("op_timeout_s", 2.0),
        concurrency=options.pop("concurrency", 1),
    )
    config = ObserverConfig(
        load=load,
        via=session.config.via,
        ray_address=session.config.ray_address,
        ray_temp_root=str(session.state_dir) if session.owns_state_dir else None,
        **options,
    )
    session.observers = Observers(session.runtime, session.run, config)
    session.since = time.time() - 1.0
    session.observers.start()
    logger.info("peerchaos: observers running")


def after_method_control(
    context: Experiment,
    state: Any = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
    **kwargs: Any,
) -> None:
    session = sessions.current()
    if session is not None:
        finish_observation(session)


def after_experiment_control(
    context: Experiment,
    state: Journal = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
    **kwargs: Any,
) -> None:
    session = sessions.current()
    if session is None or session.run is None:
        return
    journal = state if isinstance(state, dict) else {}
    finish_observation(session, journal.get("status", "completed"))
    reasons = failure_reasons(journal, session.summary or {})
    if session.notes.get("interrupted"):
        reasons.insert(0, f"interrupted during the method ({session.notes['interrupted']})")
        journal["status"] = "interrupted"
    if reasons and journal.get("status") == "completed":
        # `chaos run` exits 0 when the steady state fails before the method; a failed
        # status makes it exit 1, as a failed check must too.
        journal["status"] = "failed"
    summary = dict(session.summary or {})
    summary["status"] = journal.get("status", summary.get("status"))
    summary["deviated"] = journal.get("deviated", False)
    summary["failure_reasons"] = reasons
    session.summary = summary
    session.run.write_json(session.run.summary, summary)
    meta = session.run.read_json(session.run.meta, {}) or {}
    session.run.write_json(
        session.run.meta, {**meta, "status": summary["status"], "ended": time.time()}
    )
    write_atomic(session.run.path / "journal.json", json.dumps(journal, indent=2, default=str))
    write_report(session)
    teardown(session)
    for reason in reasons:
        logger.error(f"peerchaos: {reason}")
    logger.info(f"peerchaos: results in {session.run.path}")


def cleanup_control(**kwargs: Any) -> None:
    """Runs whatever happened: heal, stop observers, keep results, tear down."""
    session = sessions.current()
    if session is None:
        return
    try:
        if session.run is not None and session.summary is None:
            finish_observation(session, "interrupted")
            if session.run is not None:
                meta = session.run.read_json(session.run.meta, {}) or {}
                session.run.write_json(session.run.meta, {**meta, "status": "interrupted"})
    finally:
        teardown(session)
        sessions.close_session()
