"""`peerchaos trend` on synthetic and real run directories, a broken one among them.

The exit code is what a cron job or CronJob sees: 0 when the newest run is fine, 1 when
it cannot be judged (unfinished, interrupted, torn, unreadable), breaks an SLO or is
markedly worse than the previous runs, 2 for bad arguments. Every run goes through the
real `peerchaos` command group, as cron runs it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from peerchaos.cli import main
from peerchaos.errors import UsageError
from peerchaos.report.trend import Rule, check_regressions, collect, parse_slo

DATA = Path(__file__).parent / "data" / "report"
KILL = DATA / "zk-leader-kill" / "20261126T215121Z-e0cb"
DAY = 86400.0
KILL_STARTED = 1795729881.1989849


def metrics(
    election: tuple[float, float] | None,
    write: tuple[float, float] = (0.5, 0.8),
    dns: tuple[float, float] = (0.0, 0.05),
) -> dict[str, Any]:
    def dist(pair: tuple[float, float] | None) -> dict[str, Any]:
        if pair is None:
            return {"n": 0, "p50": None, "p95": None, "max": None}
        return {"n": 5, "p50": pair[0], "p95": pair[1], "max": pair[1]}

    return {
        "election_time_s": dist(election),
        "write_recovery_s": dist(write),
        "dns_convergence_s": dist(dns),
    }


def fake_run(
    experiment: Path,
    days_before: float,
    found: dict[str, Any],
    status: str = "completed",
    reasons: tuple[str, ...] = (),
) -> Path:
    started = KILL_STARTED - days_before * DAY
    run_id = f"run-{int(started)}"
    path = experiment / run_id
    path.mkdir(parents=True)
    summary = {
        "experiment": experiment.name,
        "run_id": run_id,
        "status": status,
        "metrics": found,
        "failure_reasons": list(reasons),
        "checks": {"valid": True},
    }
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "meta.json").write_text(json.dumps({"experiment": experiment.name, "started": started}))
    return path


def stable_history(experiment: Path, runs: int = 4) -> None:
    for i in range(runs):
        fake_run(experiment, days_before=10 - i, found=metrics((0.5 + i * 0.01, 0.7)))


def run_trend(*args: str) -> Result:
    return CliRunner().invoke(main, ["trend", *args])


def test_a_steady_experiment_passes_and_gets_its_page(tmp_path: Path) -> None:
    experiment = tmp_path / "zk-leader-kill"
    stable_history(experiment)
    fake_run(experiment, days_before=1, found=metrics((0.55, 0.75)))
    result = run_trend(str(experiment), "--slo", "election_time_s.p95<=2")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "SLO election_time_s.p95<=2: newest run" in result.stdout and "— met" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == str(experiment / "trend.html")
    for name in ("trend.html", "trend.md", "trend.png"):
        assert (experiment / name).stat().st_size > 500
    html = (experiment / "trend.html").read_text()
    assert html.count('class="badge pass"') == 5
    assert "data:image/png;base64," in html


def test_broken_and_partial_runs_are_skipped_with_one_line_each(tmp_path: Path) -> None:
    experiment = tmp_path / "zk-leader-kill"
    stable_history(experiment)
    broken = fake_run(experiment, days_before=3, found=metrics((0.5, 0.7)))
    (broken / "summary.json").write_text('{"metrics": {"election_time_s": ')
    interrupted = fake_run(
        experiment, days_before=2, found=metrics((0.5, 0.7)), status="interrupted"
    )
    empty = experiment / "20261101T000000Z-dead"  # dated by its id, before all the others
    empty.mkdir()
    fake_run(experiment, days_before=1, found=metrics((0.5, 0.7)))  # the newest is fine
    result = run_trend(str(experiment))
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    assert warnings == [
        f"peerchaos: trend: skipping {empty}: no summary.json",
        f"peerchaos: trend: skipping {broken}: summary.json is not valid JSON (line 1)",
        f"peerchaos: trend: skipping {interrupted}: status interrupted (partial run)",
    ]
    md = (experiment / "trend.md").read_text()
    assert "## Skipped" in md and broken.name in md


def test_a_broken_slo_fails_the_job(tmp_path: Path) -> None:
    experiment = tmp_path / "exp"
    stable_history(experiment)
    result = run_trend(
        str(experiment), "--slo", "election_time_s.p95<=0.5", "--slo", "write_recovery_s.max<5"
    )
    assert result.exit_code == 1
    assert "SLO election_time_s.p95<=0.5: newest run" in result.stdout
    assert "— BROKEN" in result.stdout
    assert result.stderr.startswith("peerchaos: trend: newest run run-")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_markedly_worse_newest_run_fails_the_job(tmp_path: Path) -> None:
    experiment = tmp_path / "exp"
    stable_history(experiment)
    fake_run(experiment, days_before=1, found=metrics((0.6, 1.2)))  # 1.7x the median p95
    result = run_trend(str(experiment))
    assert result.exit_code == 1, result.output
    assert (
        "election_time_s p95 1.200 s is 1.7x the median 0.700 s of the 4 previous runs"
        in result.stdout
    )
    assert "MARKEDLY WORSE" in (experiment / "trend.html").read_text()
    assert run_trend(str(experiment), "--factor", "2").exit_code == 0


def test_not_markedly_worse_without_a_baseline_or_by_a_hair(tmp_path: Path) -> None:
    few = tmp_path / "few"
    stable_history(few, runs=2)
    fake_run(few, days_before=1, found=metrics((0.6, 5.0)))
    assert run_trend(str(few)).exit_code == 0  # two previous runs are no baseline
    hair = tmp_path / "hair"
    stable_history(hair)
    # DNS p95 from 0.05 to 0.12: 2.4x, but only 0.07 s: noise, not a regression.
    fake_run(hair, days_before=1, found=metrics((0.5, 0.7), dns=(0.0, 0.12)))
    assert run_trend(str(hair)).exit_code == 0


def test_a_newest_run_that_measured_nothing_fails_the_job(tmp_path: Path) -> None:
    experiment = tmp_path / "exp"
    stable_history(experiment)
    fake_run(
        experiment,
        days_before=1,
        found=metrics(None),
        status="failed",
        reasons=("the steady state was not met before the method (nothing was tested)",),
    )
    result = run_trend(str(experiment), "--slo", "election_time_s.p95<=2")
    assert result.exit_code == 1
    assert "no data in the newest run" in result.stdout
    assert "although earlier runs had — BROKEN" in result.stdout


def test_the_real_fixture_run_against_a_synthetic_history(tmp_path: Path) -> None:
    experiment = tmp_path / "zk-leader-kill"
    stable_history(experiment)
    shutil.copytree(KILL, experiment / KILL.name)
    runs, skipped = collect(experiment)
    assert not skipped and runs[-1].run_id == KILL.name and not runs[-1].passed
    (finding,) = [f for f in check_regressions(runs, Rule()) if f.metric == "election_time_s"]
    assert finding.breached  # p95 3.017 s against a median of 0.7 s
    result = run_trend(str(experiment), "--out", str(experiment / "trend"))
    assert result.exit_code == 1
    assert (experiment / "trend" / "trend.html").exists()
    html = (experiment / "trend" / "trend.html").read_text()
    assert 'class="badge fail"' in html
    # The --out folder inside the experiment is not taken for a broken run next time.
    again = run_trend(str(experiment), "--out", str(experiment / "trend"))
    assert "skipping" not in again.stderr


def test_the_real_fixture_alone_breaks_its_slo(tmp_path: Path) -> None:
    experiment = tmp_path / "zk-leader-kill"
    shutil.copytree(KILL, experiment / KILL.name)
    assert run_trend(str(experiment)).exit_code == 0  # one run: nothing to compare with
    breach = run_trend(str(experiment), "--slo", "election_time_s.p95<=2")
    assert breach.exit_code == 1
    assert "has 3.017 — BROKEN" in breach.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slo", "election_time_s<=2"], "--slo 'election_time_s<=2': expected METRIC.STAT"),
        (["--slo", "elction_time_s.p95<=2"], "no run has a metric elction_time_s"),
        (["--factor", "0.9"], "trend: --factor: must be greater than 1 and at most 1000"),
        (["--factor", "nan"], "trend: --factor: must be a finite number (got 'nan')"),
        (["--factor", "inf"], "trend: --factor: must be a finite number (got 'inf')"),
        (["--factor", "-2"], "trend: --factor: must be greater than 1"),
        (["--min-delta", "nan"], "trend: --min-delta: must be a finite number (got 'nan')"),
        (["--min-delta", "-0.1"], "trend: --min-delta: must be between 0 and 3600 (got '-0.1')"),
        (["--min-runs", "0"], "trend: --min-runs: must be between 1 and 1000 (got '0')"),
        (["--min-runs", "2.5"], "trend: --min-runs: must be a whole number (got '2.5')"),
    ],
)
def test_bad_arguments_exit_2_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    experiment = tmp_path / "exp"
    stable_history(experiment, runs=1)
    result = run_trend(str(experiment), *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("peerchaos: ") and message in lines[0]


def test_nothing_to_read_exits_2_and_an_empty_newest_run_fails(tmp_path: Path) -> None:
    missing = run_trend(str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "no such directory" in missing.stderr
    (tmp_path / "exp").mkdir()
    none = run_trend(str(tmp_path / "exp"))
    assert none.exit_code == 2
    assert none.stderr.splitlines() == [
        f"peerchaos: trend {tmp_path / 'exp'}: no run directories in it"
    ]
    (tmp_path / "exp" / "run-1").mkdir()
    empty = run_trend(str(tmp_path / "exp"))
    assert empty.exit_code == 1
    assert empty.stderr.splitlines() == [
        "peerchaos: trend: newest run run-1 cannot be judged: no summary.json "
        f"({tmp_path / 'exp' / 'run-1'})"
    ]


def test_a_newest_run_interrupted_with_a_torn_summary_fails_the_job(tmp_path: Path) -> None:
    # The check: the nightly job died mid-run; the gate must not look green.
    experiment = tmp_path / "zk-leader-kill"
    stable_history(experiment)
    newest = fake_run(experiment, days_before=1, found=metrics((0.5, 0.7)), status="interrupted")
    (newest / "summary.json").write_text('{"status": "interrupted", "metrics": {"elec')
    result = run_trend(str(experiment), "--slo", "election_time_s.p95<=2")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"peerchaos: trend: newest run {newest.name} cannot be judged: summary.json is not "
        f"valid JSON (line 1) ({newest})"
    ]
    html = (experiment / "trend.html").read_text()
    assert f"Newest run {newest.name} cannot be judged" in html
    assert "— met" not in result.stdout  # an older run's figures are not passed off as its


@pytest.mark.parametrize(
    ("status", "reason"),
    [("running", "status running (partial run)"), ("interrupted", "status interrupted")],
)
def test_a_newest_run_that_never_finished_fails_the_job(
    tmp_path: Path, status: str, reason: str
) -> None:
    experiment = tmp_path / "exp"
    stable_history(experiment)
    newest = fake_run(experiment, days_before=1, found=metrics((0.5, 0.7)), status=status)
    result = run_trend(str(experiment))
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"peerchaos: trend: newest run {newest.name} cannot be judged: {reason}")


def test_a_newest_run_killed_before_its_summary_fails_the_job(tmp_path: Path) -> None:
    experiment = tmp_path / "exp"
    stable_history(experiment)
    newest = fake_run(experiment, days_before=1, found=metrics((0.5, 0.7)))
    (newest / "summary.json").unlink()
    (newest / "meta.json").write_text(json.dumps({"status": "running", "started": KILL_STARTED}))
    result = run_trend(str(experiment))
    assert result.exit_code == 1
    assert "cannot be judged: no summary.json (meta.json: status running)" in result.stderr


SHAPES = [
    ([1, 2], "summary.json: must hold a JSON object (got list)"),
    ({"metrics": [1]}, "summary.json: metrics must be a dict (got list)"),
    ({"metrics": {"election_time_s": 3}}, "summary.json: metrics.election_time_s must map"),
    (
        {"metrics": {"election_time_s": {"p95": "fast"}}},
        "summary.json: metrics.election_time_s.p95 must be a finite number or null (got 'fast')",
    ),
    (
        {"metrics": {"election_time_s": {"p95": float("nan")}}},
        "summary.json: metrics.election_time_s.p95 must be a finite number or null (got nan)",
    ),
    (
        {"metrics": {"election_time_s": {"n": -1}}},
        "summary.json: metrics.election_time_s.n must be a count (got -1)",
    ),
    ({"metrics": {}, "failure_reasons": "many"}, "summary.json: failure_reasons must be a list"),
    ({"metrics": {}, "failure_reasons": [3]}, "failure_reasons must be a list of strings"),
    ({"metrics": {}, "checks": "yes"}, "summary.json: checks must be a dict (got str)"),
    ({"metrics": {}, "checks": {"valid": 2}}, "checks.valid must be true, false or unknown"),
    ({"metrics": {}, "status": 7}, "summary.json: status must be a str (got int)"),
    ({"metrics": {}, "deviated": "no"}, "summary.json: deviated must be a bool (got str)"),
]


@pytest.mark.parametrize(("summary", "message"), SHAPES, ids=[m for _, m in SHAPES])
def test_a_summary_of_the_wrong_shape_is_one_line_naming_file_and_key(
    tmp_path: Path, summary: Any, message: str
) -> None:
    experiment = tmp_path / "exp"
    stable_history(experiment)
    odd = fake_run(experiment, days_before=1, found={})
    (odd / "summary.json").write_text(json.dumps(summary))
    newest = run_trend(str(experiment))
    assert newest.exit_code == 1, newest.output
    (line,) = newest.stderr.splitlines()
    assert line.startswith(f"peerchaos: trend: newest run {odd.name} cannot be judged: ")
    assert message in line
    # The same summary in an older run: skipped with a warning, the newest one judged.
    fake_run(experiment, days_before=0.5, found=metrics((0.5, 0.7)))
    older = run_trend(str(experiment))
    assert older.exit_code == 0, older.output
    (warning,) = older.stderr.splitlines()
    assert warning.startswith(f"peerchaos: trend: skipping {odd}: ") and message in warning


def test_slo_parsing() -> None:
    slo = parse_slo(" write_recovery_s.max < 5 ")
    assert (slo.metric, slo.stat, slo.op, slo.threshold) == ("write_recovery_s", "max", "<", 5.0)
    assert slo.holds(4.9) and not slo.holds(5.0)
    assert parse_slo("dns_convergence_cached_s.p50>=0").holds(0.0)
    with pytest.raises(UsageError):
        parse_slo("election_time_s.p99<=2")
