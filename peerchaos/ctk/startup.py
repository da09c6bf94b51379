"""How a run's ensemble comes up, before the experiment: `deploy:` true, bootstrap or attach.

`deploy: true` applies the objects while Ray starts beside it (each takes seconds), then
waits until every peer is Ready again, Ray's start-up having taken the CPU the readiness
probes need; `bootstrap` applies and records what the peers reach, leader or not;
`attach` applies nothing and waits for the attached ensemble's leader. Any failure
interrupts the run before its steady state is probed.
"""

from __future__ import annotations

import logging
import threading

from chaoslib.exceptions import InterruptExecution
from chaoslib.types import Configuration

from peerchaos import ensemble as ens
from peerchaos.ctk import session as sessions
from peerchaos.errors import PeerchaosError

# Chaos Toolkit shows its own logger's records on the console and in chaostoolkit.log.
logger = logging.getLogger("chaostoolkit")


def bring_up(session: sessions.Session, configuration: Configuration) -> None:
    """Bring the run's ensemble up as `deploy:` says (`false`: the method deploys it)."""
    from chaoslib.exceptions import ActivityFailed

    from peerchaos.ctk.actions import bootstrap_ensemble, deploy_ensemble

    if session.config.deploy == "bootstrap":
        try:
            result = bootstrap_ensemble(configuration=configuration)
        except ActivityFailed as error:
            raise InterruptExecution(f"deploy: {error}") from None
        logger.info(f"peerchaos: bootstrap: {result}")
        if isinstance(result, dict) and result.get("leader") is None:
            session.notes["never_healthy"] = "the bootstrap elected no leader"
        return
    if session.config.deploy not in ("true", "attach"):
        return
    # Ray starts (in this thread: it must keep Chaos Toolkit's signal handlers) while the
    # ensemble comes up on another; each takes seconds.
    failure: list[BaseException] = []

    def deploy() -> None:
        try:
            if session.config.deploy == "attach":
                attached(session)
            else:
                deploy_ensemble(configuration=configuration)
        except BaseException as error:
            failure.append(error)

    deployer = threading.Thread(target=deploy, name="peerchaos-deploy")
    deployer.start()
    try:
        from peerchaos.actors import start_ray

        # In the run's own state dir, Ray's processes are written down as they appear,
        # so the run's watchdog can end them should this process be SIGKILLed.
        temp_root = str(session.state_dir) if session.owns_state_dir else None
        start_ray(session.config.ray_address, temp_root)
    finally:
        deployer.join()
    if failure:
        raise InterruptExecution(f"deploy: {failure[0]}") from None
    try:
        # Ray's start-up takes the CPU a readiness probe needs; the steady-state probes
        # that come next must see the ensemble as it is once that is over.
        ens.wait_until_ready(session.runtime, 60, session.config.spec.replicas)
    except PeerchaosError as error:
        raise InterruptExecution(f"deploy: {error}") from None


def attached(session: sessions.Session) -> None:
    """deploy: attach — nothing is applied: record the cluster's changes from now on and
    wait until the attached ensemble has a leader with a following majority."""
    from peerchaos import ensemble as ens

    watch = getattr(session.runtime, "watch", None)
    if watch is not None:
        watch()
    leader = ens.wait_for_leader(session.runtime, 60)
    logger.info(f"peerchaos: attached to {session.config.spec.name}, leader {leader}")
