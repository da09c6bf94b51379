"""The README's cron line, run once as cron would run it: a real nightly job end to end.

The line comes from the ```cron block of README.md, so the documented command is the
tested one. Two substitutions only, both paths a reader replaces too: the placeholder
`/path/to/peerchaos` becomes this repository, and the log `results/nightly.log` goes to
the test's temp dir instead of the repository. Everything else — `cd`, `bash
scripts/nightly.sh`, the append redirect — runs as written, under `/bin/sh` with cron's
bare environment (PATH=/usr/bin:/bin), which is what catches a script that only works
from a login shell.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, needs_root, needs_zookeeper

pytestmark = [pytest.mark.zookeeper, pytest.mark.root, needs_zookeeper, needs_root]

PLACEHOLDER = "/path/to/peerchaos"
LOG = "results/nightly.log"
# A pod and service CIDR of its own, so this ensemble never meets another test's. Passed
# through NIGHTLY_VARS (the cron line carries no --var); spec_overrides replaces the
# experiment's own, so its jvm_dns_cache_s: 1 is repeated here. Two trials are enough to
# show the whole path and keep the machine's load down.
OVERRIDES = {
    "jvm_dns_cache_s": 1,
    "local": {"pod_cidr": "10.244.50.0/24", "service_cidr": "10.96.50.0/24"},
}
NIGHTLY_VARS = f"spec_overrides:json={json.dumps(OVERRIDES, separators=(',', ':'))} trials:int=2"


def cron_line() -> str:
    """The one schedule line of the README's ```cron block."""
    blocks = re.findall(r"```cron\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert len(blocks) == 1, "README.md needs exactly one ```cron block"
    lines = [line for line in blocks[0].splitlines() if line.strip() and line[0] != "#"]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_cron_line_is_a_cron_line() -> None:
    fields = cron_line().split(None, 5)
    assert len(fields) == 6
    from peerchaos.jobs import check_schedule

    check_schedule(" ".join(fields[:5]))
    # cron turns an unescaped % into a newline: the command must not contain one.
    assert "%" not in fields[5]
    assert PLACEHOLDER in fields[5] and "scripts/nightly.sh" in fields[5] and LOG in fields[5]


def test_the_readme_cron_line_runs_a_nightly_job(tmp_path: Path) -> None:
    command = cron_line().split(None, 5)[5]
    command = command.replace(PLACEHOLDER, shlex.quote(str(REPO)))
    log = tmp_path / "nightly.log"
    command = command.replace(LOG, shlex.quote(str(log)))
    results = tmp_path / "results"
    env = {
        # What cron gives a job (Debian's cron: no login shell, no profile).
        "PATH": "/usr/bin:/bin",
        "SHELL": "/bin/sh",
        "HOME": os.environ.get("HOME", "/root"),
        "LOGNAME": "root",
        "RESULTS_DIR": str(results),
        "NIGHTLY_VARS": NIGHTLY_VARS,
    }
    started = time.time()
    done = subprocess.run(
        ["/bin/sh", "-c", command], env=env, cwd="/", capture_output=True, timeout=280
    )
    output = log.read_text()
    assert done.stdout == b"" and done.stderr == b""  # all of it went to the log

    assert (results / "zk-leader-kill").is_dir(), output
    (run,) = [p for p in (results / "zk-leader-kill").iterdir() if p.is_dir()]
    for name in ("summary.json", "report.html", "journal.json"):
        assert (run / name).stat().st_size > 0, name
    journal = json.loads((run / "journal.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    # The job's status is chaos's: 0 exactly when the hypothesis held and no check failed.
    passed = journal["status"] == "completed" and not journal["deviated"]
    passed = passed and not summary["failure_reasons"]
    assert (done.returncode == 0) == passed, output
    assert f"chaos exited {done.returncode}" in output
    # NIGHTLY_VARS reached chaos: two trials, in this test's own netns CIDR (10.244.50.x;
    # loopback mode would have used 127.x, as it would without sbin on PATH).
    faults = [t["fault"] for t in summary["trials"] if t.get("fault")]
    assert len(faults) == 2, summary["trials"]
    assert all(f["ip"].startswith("10.244.50.") for f in faults), faults

    # The trend ran over the experiment's runs and wrote its pages beside them.
    for name in ("trend.html", "trend.md", "trend.png"):
        assert (results / "zk-leader-kill" / name).stat().st_size > 0, name
    assert str(results / "zk-leader-kill" / "trend.html") in output
    assert run.name in output  # the trend's table lists this run
    # Nothing written into the repository's root (Chaos Toolkit's journal and log go there
    # by default).
    for name in ("journal.json", "chaostoolkit.log"):
        leftover = REPO / name
        assert not leftover.exists() or leftover.stat().st_mtime < started, name
