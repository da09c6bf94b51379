"""Endpoints actions against a selectorless client Service (its own ensemble and session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peerchaos.ctk import actions, probes
from peerchaos.ctk import session as sessions

from conftest import FAST, deployed_session, wait_until


@pytest.fixture(scope="module")
def selectorless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessions.Session]:
    configuration = {
        "spec": {
            **FAST,
            "selectorless": {"enabled": True},
            "local": {"pod_cidr": "10.244.41.0/24", "service_cidr": "10.96.41.0/24"},
        },
        "state_dir": str(tmp_path_factory.mktemp("ctk-endpoints") / "state"),
    }
    with deployed_session(configuration) as session:
        yield session


def test_delete_and_restore_endpoints(selectorless: sessions.Session) -> None:
    actions.delete_endpoints()
    cs = next(e for e in selectorless.runtime.endpoints() if e.service == "zk-cs")
    assert not cs.exists and cs.ready == ()
    assert probes.connections_to_unready_peers(connections=3) == 0  # nothing answers at all
    actions.restore_endpoints()
    cs = next(e for e in selectorless.runtime.endpoints() if e.service == "zk-cs")
    assert cs.exists and len(cs.ready) == 3


def test_endpoints_fault_with_duration_restores_itself(selectorless: sessions.Session) -> None:
    (record,) = actions.delete_endpoints(duration_s=0.5, trials=1, settle_s=0)
    assert record["fault"] == "endpoints" and record["pods"] == ["zk-cs"]
    assert record["t_heal"] - record["t_fault"] >= 0.5
    assert next(e for e in selectorless.runtime.endpoints() if e.service == "zk-cs").exists


def test_hand_written_endpoints_ignore_readiness(selectorless: sessions.Session) -> None:
    """Unlike a selector Service's, these still route to a peer that is not ready."""
    actions.make_peer_unready(target="zk-1", duration_s=0)
    try:
        wait_until(lambda: probes.ready_peers() == 2, 10, "zk-1 unready")
        assert probes.connections_to_unready_peers(connections=9) == 3  # round robin over 3
    finally:
        actions.make_peer_ready(target="zk-1")
