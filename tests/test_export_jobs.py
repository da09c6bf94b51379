"""The CronJob with a Pushgateway: `peerchaos jobs --pushgateway URL`.

The rendered objects validate against upstream Kubernetes schemas (kubernetes-validate,
strict); the container's command is run by sh with stand-in `chaos` and `peerchaos`
executables and the environment the manifest gives it: it pushes the run chaos just made,
then runs the trend, and ends with chaos's status whatever the push did.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from click.testing import CliRunner

from peerchaos import jobs
from peerchaos.cli import main
from peerchaos.errors import SpecError

NAMESPACE = "chaos-nightly"
GATEWAY = "http://pushgateway.monitoring.svc:9091"


def cronjob(**fields: Any) -> dict[str, Any]:
    objects = jobs.render(jobs.JobRequest(namespace=NAMESPACE, **fields))
    (found,) = [obj for obj in objects if obj["kind"] == "CronJob"]
    return found


def container(job: dict[str, Any]) -> dict[str, Any]:
    (found,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return found


def test_the_cronjob_with_a_pushgateway_validates_and_sets_the_variable() -> None:
    job = cronjob(pushgateway=GATEWAY)
    kubernetes_validate.validate(job, kubernetes_validate.latest_version(), strict=True)
    assert container(job)["env"] == [{"name": "PEERCHAOS_PUSHGATEWAY", "value": GATEWAY}]
    assert "env" not in container(cronjob())  # no push unless asked for
    script = container(job)["command"][2]
    assert container(cronjob())["command"] == container(job)["command"]  # env alone decides
    assert '--push "$PEERCHAOS_PUSHGATEWAY"' in script


@pytest.mark.parametrize(
    "url", ["pushgateway:9091", "http://", "grpc://pushgateway:9091", "http://pg:9091/?x=1"]
)
def test_a_bad_pushgateway_is_one_line(url: str) -> None:
    with pytest.raises(SpecError) as caught:
        jobs.render_text(jobs.JobRequest(namespace=NAMESPACE, pushgateway=url))
    assert str(caught.value).startswith("pushgateway: ") and "\n" not in str(caught.value)
    result = CliRunner().invoke(main, ["jobs", "--namespace", NAMESPACE, "--pushgateway", url])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("peerchaos: pushgateway: ")


def stand_ins(tmp_path: Path, chaos_rc: int, export_rc: int) -> None:
    """`chaos` and `peerchaos` that log their arguments, one call per line."""
    tools = {
        "chaos": f"exit {chaos_rc}",
        "peerchaos": f'[ "$1" = export ] && exit {export_rc}; exit 0',
    }
    for name, ending in tools.items():
        tool = tmp_path / name
        tool.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path}/calls"\n{ending}\n')
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize(("chaos_rc", "export_rc"), [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_the_job_pushes_the_new_run_and_keeps_chaoss_status(
    tmp_path: Path, chaos_rc: int, export_rc: int
) -> None:
    stand_ins(tmp_path, chaos_rc, export_rc)
    job = container(cronjob(pushgateway=GATEWAY))
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    env.update({item["name"]: item["value"] for item in job["env"]})
    started = int(time.time())
    done = subprocess.run(job["command"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == chaos_rc, done.stderr
    chaos, export, trend = (tmp_path / "calls").read_text().splitlines()
    assert chaos.startswith("--no-log-file run --journal-path /tmp/journal.json")
    words = export.split()
    assert words[:3] == ["export", "/results/zk-leader-kill", "--newest-since"]
    assert started <= int(words[3]) <= time.time()  # taken before chaos ran
    assert words[4:] == ["--push", GATEWAY]
    assert trend == "trend /results/zk-leader-kill"
    assert ("peerchaos export exited 1" in done.stderr) is (export_rc == 1)


def test_without_the_variable_nothing_is_pushed(tmp_path: Path) -> None:
    stand_ins(tmp_path, 0, 0)
    env = {k: v for k, v in os.environ.items() if k != "PEERCHAOS_PUSHGATEWAY"}
    env["PATH"] = f"{tmp_path}:{os.environ['PATH']}"
    done = subprocess.run(
        container(cronjob())["command"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [call.split()[0] for call in calls] == ["--no-log-file", "trend"]
