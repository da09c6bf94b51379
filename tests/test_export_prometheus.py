"""`peerchaos export --push` end to end: a real Pushgateway, a real Prometheus, PromQL.

Both servers come from Debian's packages and run on loopback (see prometheus_stack.py);
the runs are real ones recorded under tests/data/. A run's figures are pushed with the
command a nightly job uses, Prometheus scrapes the Pushgateway, and its HTTP API must
answer a PromQL query with exactly the summary's numbers — censored statistics only as
lower bounds. Nothing here starts ZooKeeper or Ray.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO
from prometheus_stack import Stack, needs_prometheus, running

pytestmark = needs_prometheus

PEERCHAOS = str(Path(sys.executable).parent / "peerchaos")
STALE = REPO / "tests/data/report/zk-leader-kill-stale/20261201T093939Z-d5f3"
FAILED = REPO / "tests/data/report/zk-leader-kill/20261126T215121Z-e0cb"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running() as servers:
        print(f"ready after {servers.ready_s}")  # shown with -s: the start-up cost here
        yield servers


def summary_of(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def push(run: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PEERCHAOS, "export", str(run), "--push", url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def value(result: list[dict]) -> float:
    (sample,) = result
    return float(sample["value"][1])


def test_prometheus_answers_the_pushed_election_time(stack: Stack) -> None:
    summary = summary_of(STALE)
    done = push(STALE, stack.pushgateway)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"pushed zk-leader-kill {STALE.name} to {stack.pushgateway}")

    selector = 'experiment="zk-leader-kill",job="peerchaos"'
    run_info = stack.wait_for(f'peerchaos_run_info{{{selector},run_id="{STALE.name}"}}')
    assert run_info[0]["metric"]["outcome"] == "passed"
    election = summary["metrics"]["election_time_s"]
    for stat in ("p50", "p95", "max"):
        found = stack.query(f'peerchaos_election_time_seconds{{{selector},stat="{stat}"}}')
        assert value(found) == election[stat], stat  # the same float, not a rounding of it
    assert value(stack.query(f"peerchaos_election_time_samples{{{selector}}}")) == election["n"]
    assert value(stack.query(f"peerchaos_run_passed{{{selector}}}")) == 1

    # Every cached-view DNS statistic of this run is censored: no number for it, only the
    # lower bound the report shows as "> X s".
    cached = summary["metrics"]["dns_convergence_cached_s"]
    assert cached["max_censored"]
    assert stack.query(f'peerchaos_dns_convergence_seconds{{{selector},view="cached"}}') == []
    bound = stack.query(
        f'peerchaos_dns_convergence_at_least_seconds{{{selector},view="cached",stat="max"}}'
    )
    assert value(bound) == cached["max_at_least"]
    raw = stack.query(f'peerchaos_dns_convergence_seconds{{{selector},view="raw",stat="max"}}')
    assert value(raw) == summary["metrics"]["dns_convergence_s"]["max"]
    # A PromQL a dashboard would use: the run's slowest reached figure (DNS, by view, aside).
    slowest = stack.query(
        f'topk(1, {{__name__=~"peerchaos_.*_seconds",__name__!~".*_at_least_seconds",'
        f'{selector},stat="max",view=""}})'
    )
    worst = max(
        d["max"]
        for key, d in summary["metrics"].items()
        if isinstance(d.get("max"), float) and not key.startswith("dns_")
    )
    assert value(slowest) == worst


def test_the_next_run_replaces_the_experiments_group(stack: Stack) -> None:
    """A push is a PUT of the group: what the earlier run pushed and this one does not
    (here: a cached DNS p50 that was censored before and is reached now, and the other
    way round) is gone, not left over."""
    assert push(STALE, stack.pushgateway).returncode == 0
    stack.wait_for(f'peerchaos_run_info{{run_id="{STALE.name}"}}')
    done = push(FAILED, stack.pushgateway)
    assert done.returncode == 0, done.stderr
    stack.wait_for(f'peerchaos_run_info{{experiment="zk-leader-kill",run_id="{FAILED.name}"}}')
    summary = summary_of(FAILED)
    selector = 'experiment="zk-leader-kill",job="peerchaos"'
    assert value(stack.query(f"peerchaos_run_passed{{{selector}}}")) == 0  # it deviated
    election = stack.query(f'peerchaos_election_time_seconds{{{selector},stat="max"}}')
    assert value(election) == summary["metrics"]["election_time_s"]["max"]
    cached = stack.query(f'peerchaos_dns_convergence_seconds{{{selector},view="cached"}}')
    assert [s["metric"]["stat"] for s in cached] == ["p50"]  # p95 and max censored here
    assert value(cached) == summary["metrics"]["dns_convergence_cached_s"]["p50"]
    assert stack.query(f'peerchaos_run_info{{run_id="{STALE.name}"}}') == []


def test_a_server_that_is_no_pushgateway_is_one_line(stack: Stack) -> None:
    done = push(STALE, stack.prometheus)  # Prometheus itself has no /metrics/job/... PUT
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"peerchaos: push to {stack.prometheus}: the Pushgateway answered")


def test_a_failing_test_still_stops_both_servers_and_removes_their_dir() -> None:
    with pytest.raises(RuntimeError, match="the test failed"), running() as servers:
        processes = list(servers.processes.values())
        root = servers.root
        assert len(processes) == 2 and all(p.poll() is None for p in processes)
        raise RuntimeError("the test failed")
    assert all(p.poll() is not None for p in processes)
    assert not root.exists()
