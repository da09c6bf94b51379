"""The deploy step returns only once every peer serves and is Ready.

One peer's readiness lags here (its unready marker is in place from the start and
goes 6 s later), as the slowest peer's did when zk-pod-ip-change failed on a fresh
clone: the leader is elected and a write acknowledged long before it is Ready, and a
steady-state probe of readiness run right after the deploy would race it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peerchaos import ensemble as ens
from peerchaos.ctk import actions, probes
from peerchaos.ctk import session as sessions
from peerchaos.runtime.local.state import StateDir

from conftest import FAST, needs_zookeeper

pytestmark = needs_zookeeper
LAG_S = 6.0
SPEC = {**FAST, "local": {"pod_cidr": "10.244.42.0/24", "service_cidr": "10.96.42.0/24"}}


@pytest.fixture()
def lagging(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A configuration whose zk-2 stays unready until LAG_S after the fixture starts."""
    configuration = {"spec": SPEC, "state_dir": str(tmp_path / "state")}
    state = StateDir(configuration["state_dir"])
    state.claim()
    marker = state.unready_marker("zk-2")
    marker.parent.mkdir(parents=True)
    marker.touch()
    timer = threading.Timer(LAG_S, marker.unlink, kwargs={"missing_ok": True})
    sessions.close_session()
    sessions.open_session(configuration)
    timer.start()
    try:
        yield configuration
    finally:
        timer.cancel()
        actions.teardown_ensemble(configuration=configuration)
        sessions.close_session()


def test_deploy_waits_for_every_peer_ready(lagging: dict[str, Any]) -> None:
    started = time.monotonic()
    actions.deploy_ensemble(configuration=lagging)
    assert time.monotonic() - started >= LAG_S - 0.5
    # The first things a steady-state hypothesis asks, right after the deploy.
    assert probes.ready_peers(configuration=lagging) == 3
    assert probes.ensemble_has_quorum(configuration=lagging) is True
    assert all(r.serving for r in ens.roles(sessions.current().runtime).values())


def test_without_the_wait_the_probe_races_the_start_up(lagging: dict[str, Any]) -> None:
    """`ready: false` (a leader and a write only): the race the default wait removes."""
    result = actions.deploy_ensemble(ready=False, configuration=lagging)
    assert result["leader"].startswith("zk-") and result["seconds"] < LAG_S
    assert probes.ready_peers(configuration=lagging) == 2
