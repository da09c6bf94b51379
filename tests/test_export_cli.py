"""`peerchaos export`: bad input is one line on stderr, never a traceback, and nothing else
is printed, written or pushed; `--newest-since` picks the run a nightly job just made."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from peerchaos.cli import main

from conftest import REPO
from prometheus_stack import free_port

PEERCHAOS = str(Path(sys.executable).parent / "peerchaos")
RUN = REPO / "tests/data/report/zk-leader-kill-stale/20261201T093939Z-d5f3"


def one_line(args: list[str], code: int = 2) -> str:
    result = CliRunner().invoke(main, ["export", *args])
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("peerchaos: ") and "Traceback" not in line
    return line


def copy_run(tmp_path: Path) -> Path:
    run = tmp_path / "zk-leader-kill" / RUN.name
    shutil.copytree(RUN, run)
    return run


def test_a_run_dir_without_a_summary(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    (run / "summary.json").unlink()
    line = one_line([str(run)])
    assert f"run dir {run}: no summary.json" in line and "peerchaos measure" in line


def test_no_such_run_dir_and_a_file_for_a_run_dir(tmp_path: Path) -> None:
    assert "no such directory" in one_line([str(tmp_path / "nope")])
    assert "not a directory" in one_line([str(RUN / "summary.json")])


def test_a_torn_summary(tmp_path: Path) -> None:
    """A summary cut off mid-write (a full disk, a copy interrupted)."""
    run = copy_run(tmp_path)
    text = (run / "summary.json").read_text()
    (run / "summary.json").write_text(text[: len(text) // 2])
    line = one_line([str(run)])
    assert f"{run}/summary.json: not valid JSON" in line and "torn or unfinished" in line
    assert "line " in line  # where it broke off


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(metrics=[]), "metrics: must be an object of figures (got [])"),
        (lambda s: s.pop("experiment"), "experiment: must be a non-empty string (got null)"),
        (
            lambda s: s["metrics"]["election_time_s"].update(p95="fast"),
            'metrics.election_time_s.p95: must be seconds or null (got "fast")',
        ),
        (
            lambda s: s["metrics"]["election_time_s"].update(max_censored=True),
            "metrics.election_time_s.max_at_least: must be seconds (it is censored)",
        ),
        (
            lambda s: s["metrics"].update({"election time": {}}),
            "metrics.election time: must be named like election_time_s",
        ),
        (
            lambda s: s["checks"]["details"]["results"]["durability"].update(valid="maybe"),
            'checks.details.results.durability.valid: must be true, false or "unknown"',
        ),
        (lambda s: s["checks"].update(details="ok"), "checks.details: must be an object"),
        (lambda s: s.update(probe_health=[1]), "probe_health: must be an object"),
        (
            lambda s: s["trials"][0].update(dns_convergence_s=[0.5]),
            "trials[0].dns_convergence_s: must be an object by name (got [0.5])",
        ),
    ],
    ids=[
        "metrics",
        "experiment",
        "stat",
        "censored-bound",
        "key",
        "check",
        "details",
        "probe-health",
        "trial-dns",
    ],
)
def test_a_summary_of_the_wrong_shape(tmp_path: Path, change, message: str) -> None:
    run = copy_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    change(summary)
    (run / "summary.json").write_text(json.dumps(summary))
    assert message in one_line([str(run)])


def test_a_torn_or_mis_shaped_journal(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    text = (run / "journal.json").read_text()
    (run / "journal.json").write_text(text[:1000])
    assert f"{run}/journal.json: not valid JSON" in one_line([str(run), "--format", "junit"])
    journal = json.loads(text)
    journal["steady_states"]["after"] = ["probe"]
    (run / "journal.json").write_text(json.dumps(journal))
    line = one_line([str(run)])
    assert "journal.json: steady_states.after: must be an object with a list of probes" in line


def test_an_unknown_format() -> None:
    line = one_line([str(RUN), "--format", "prometheus"])
    assert line == "peerchaos: --format: must be openmetrics or junit (got 'prometheus')"


def test_push_and_textfile_are_openmetrics_only(tmp_path: Path) -> None:
    line = one_line([str(RUN), "--format", "junit", "--textfile", str(tmp_path)])
    assert "OpenMetrics only" in line


@pytest.mark.parametrize(
    "url", ["pushgateway:9091", "ftp://host:9091", "http://", "http://host:99999", "http://h/?a=1"]
)
def test_a_bad_pushgateway_url(url: str) -> None:
    assert one_line([str(RUN), "--push", url]).startswith("peerchaos: --push: ")


def test_an_unreachable_pushgateway_in_a_real_process(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = subprocess.run(
        [PEERCHAOS, "export", str(RUN), "--push", url, "--textfile", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"peerchaos: push to {url}: unreachable (")
    assert "refused" in line.lower()
    # The textfile (local) was written before the push failed, and says so.
    assert done.stdout.startswith("wrote ")


def test_a_textfile_dir_that_is_not_a_dir(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "metrics.prom"
    not_a_dir.write_text("")
    assert one_line([str(RUN), "--textfile", str(not_a_dir)]) == (
        f"peerchaos: --textfile {not_a_dir}: not a directory"
    )
    assert "no such directory" in one_line([str(RUN), "--textfile", str(tmp_path / "nope")])
    assert not_a_dir.read_text() == ""


def test_newest_since_picks_the_run_started_since_then(tmp_path: Path) -> None:
    older = copy_run(tmp_path)
    newer = older.parent / "20261202T030000Z-beef"
    shutil.copytree(RUN, newer)
    (older.parent / "trend.html").write_text("")  # what else lives in an experiment dir
    since = "1796180400"  # 2026-12-02T03:00:00Z, when the newer one started
    result = CliRunner().invoke(
        main, ["export", str(older.parent), "--newest-since", since, "--format", "junit"]
    )
    assert result.exit_code == 0, result.output
    assert f'value="{newer}"' in result.stdout  # the run_dir property
    line = one_line([str(older.parent), "--newest-since", "1796180401"])
    assert "no run in" in line and "started since then (2 older runs)" in line
    assert "must be seconds since the epoch" in one_line([str(older.parent), "--newest-since", "x"])
