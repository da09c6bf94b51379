"""The nightly job with PEERCHAOS_PUSHGATEWAY: a real run, pushed, answered by PromQL.

`scripts/nightly.sh` runs one experiment through `chaos run` on the local runtime (real
ZooKeeper, Ray, DNS) under cron's bare environment, then pushes the run it just made to
a real Pushgateway that a real Prometheus scrapes. The election time Prometheus answers
must be the one in the run's summary.json, and the job's exit status stays chaos's. It
starts an ensemble: run it under the machine-wide lock.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, needs_root, needs_zookeeper
from prometheus_stack import needs_prometheus, running

pytestmark = [
    pytest.mark.zookeeper,
    pytest.mark.root,
    needs_zookeeper,
    needs_root,
    needs_prometheus,
]

# A pod and service CIDR of its own (test_nightly.py uses 10.244.50.0/24); two trials, as
# there.
OVERRIDES = {
    "jvm_dns_cache_s": 1,
    "local": {"pod_cidr": "10.244.51.0/24", "service_cidr": "10.96.51.0/24"},
}
NIGHTLY_VARS = f"spec_overrides:json={json.dumps(OVERRIDES, separators=(',', ':'))} trials:int=2"


def test_the_nightly_job_pushes_its_run_to_prometheus(tmp_path: Path) -> None:
    results = tmp_path / "results"
    with running() as stack:
        env = {
            "PATH": "/usr/bin:/bin",  # cron's
            "HOME": os.environ.get("HOME", "/root"),
            "RESULTS_DIR": str(results),
            "NIGHTLY_VARS": NIGHTLY_VARS,
            "PEERCHAOS_PUSHGATEWAY": stack.pushgateway,
        }
        done = subprocess.run(
            ["bash", str(REPO / "scripts/nightly.sh")],
            env=env,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=280,
        )
        output = done.stdout + done.stderr
        (run,) = [p for p in (results / "zk-leader-kill").iterdir() if p.is_dir()]
        summary = json.loads((run / "summary.json").read_text())
        journal = json.loads((run / "journal.json").read_text())
        passed = journal["status"] == "completed" and not journal["deviated"]
        passed = passed and not summary["failure_reasons"]
        assert (done.returncode == 0) == passed, output  # chaos's status, push or not
        assert f"pushed zk-leader-kill {run.name} to {stack.pushgateway}" in output

        selector = 'experiment="zk-leader-kill",job="peerchaos"'
        info = stack.wait_for(f'peerchaos_run_info{{{selector},run_id="{run.name}"}}')
        assert info[0]["metric"]["outcome"] == ("passed" if passed else "failed")
        # What Prometheus answers is exactly what the summary holds: a reached statistic as
        # the same float, a censored one only as its lower bound, no data as no sample (a
        # killed leader that wins the next epoch itself gives no election time).
        for figure in ("election_time", "full_redundancy"):
            dist = summary["metrics"][f"{figure}_s"]
            samples = stack.query(f"peerchaos_{figure}_samples{{{selector}}}")
            assert float(samples[0]["value"][1]) == dist["n"]
            for stat in ("p50", "p95", "max"):
                where = f'{selector},stat="{stat}"'
                reached = stack.query(f"peerchaos_{figure}_seconds{{{where}}}")
                bound = stack.query(f"peerchaos_{figure}_at_least_seconds{{{where}}}")
                if dist.get(f"{stat}_censored"):
                    assert reached == [] and float(bound[0]["value"][1]) == dist[f"{stat}_at_least"]
                elif dist[stat] is None:
                    assert reached == [] and bound == [], (figure, stat)
                else:
                    assert [float(s["value"][1]) for s in reached] == [dist[stat]], (figure, stat)
        passed_metric = stack.query(f"peerchaos_run_passed{{{selector}}}")
        assert float(passed_metric[0]["value"][1]) == int(passed)
