"""Independent trials wait out the caches that may hold a restarted pod's old IP.

Back to back, the next fault lands once every peer serves and is ready; with
`independent_s` (`settle: independent`) also that long after the last pod IP change.
Each trial's `trial` marker is recorded as it is injected.
"""

from __future__ import annotations

import time

from peerchaos import nemesis
from peerchaos.runtime.local.runtime import LocalRuntime

from conftest import fast_spec, needs_zookeeper

pytestmark = needs_zookeeper


def test_independent_trials_wait_for_the_caches(healthy: LocalRuntime) -> None:
    markers: list[dict] = []
    started = time.time()
    done = nemesis.run_trials(
        healthy, "kill", "leader", 2, 0, 0, False, record=markers.append, independent_s=4.0
    )
    assert [m["pods"] for m in markers] == [t.pods for t in done]
    assert [m["t_fault"] for m in markers] == [t.t_fault for t in done]
    restarted = [
        e["t"]
        for e in healthy.runtime_events(started)
        if e["kind"] == "pod_started" and e["pod"] == done[0].pods[0]
    ]
    assert restarted, "the first victim came back"
    # The second fault waited 4 s after the first victim came back with its new IP.
    assert done[1].t_fault - restarted[0] >= 4.0


def test_the_wait_is_the_longest_cache() -> None:
    assert nemesis.independent_wait_s(fast_spec()) == 5.5  # the DNS TTL (5 s) + 0.5
    assert nemesis.independent_wait_s(fast_spec(jvm_dns_cache_s=None,
                                                jvm_dns_negative_cache_s=None)) == 30.5  # fmt: skip
