"""`write_reports` and `peerchaos report`: the pages, the verdict, and partial runs.

A report must come out of any run directory, so the partial cases (no summary, broken
JSON, no journal, no trials, no events) are as important as the complete one.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from peerchaos.report import write_reports
from peerchaos.report.commands import report
from peerchaos.report.evidence import load
from peerchaos.report.verdict import format_tolerance, judge
from peerchaos.rundir import RunDir

DATA = Path(__file__).parent / "data" / "report"
KILL = DATA / "zk-leader-kill" / "20261126T215121Z-e0cb"
PAUSE = DATA / "zk-leader-pause" / "20261126T215413Z-15fa"


def copy_run(source: Path, tmp_path: Path) -> RunDir:
    target = tmp_path / source.parent.name / source.name
    shutil.copytree(source, target)
    return RunDir(target)


@pytest.fixture(scope="module")
def kill_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunDir, dict[str, Path]]:
    run = copy_run(KILL, tmp_path_factory.mktemp("report"))
    return run, write_reports(run)


def test_a_complete_run_gets_every_figure_and_both_pages(
    kill_report: tuple[RunDir, dict[str, Path]],
) -> None:
    run, written = kill_report
    plots = sorted(k for k in written if k.startswith("plots/"))
    assert plots == ["plots/distributions.png", "plots/timeline.png"] + [
        f"plots/trial-{i}.png" for i in range(1, 6)
    ]
    for path in written.values():
        assert path.is_file() and path.stat().st_size > 1000
        assert path.parent in (run.path, run.path / "plots")
    assert written["report.html"] == run.path / "report.html"


def test_html_is_self_contained_with_the_verdict_first(
    kill_report: tuple[RunDir, dict[str, Path]],
) -> None:
    _, written = kill_report
    html = written["report.html"].read_text()
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert len(sources) == 7
    assert all(src.startswith("data:image/png;base64,") and len(src) > 10_000 for src in sources)
    assert html.index('id="verdict"') < html.index('id="figures"') < html.index('id="trials"')
    assert "Failed: probe new-leader-within-2s after the method: 3.017" in html
    assert "A killed ZooKeeper leader is replaced quickly" in html
    assert "ZooKeeper</dt><dd>3.8.0" in html
    assert 'href="events.jsonl"' in html and 'href="peers/zk-0.log"' in html
    assert "&#34;" not in html.split("</style>")[0]  # the stylesheet is not escaped


def test_markdown_links_the_plots_it_names(kill_report: tuple[RunDir, dict[str, Path]]) -> None:
    run, written = kill_report
    md = written["report.md"].read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(links) == sorted(k for k in written if k.startswith("plots/"))
    assert all((run.path / link).is_file() for link in links)
    assert "## Verdict: FAILED" in md
    assert "| new-leader-within-2s | within [0, 2.000] | 0.000 (met) | 3.017 (NOT met) |" in md
    assert "| durability | **true** |" in md


def test_the_verdict_of_the_fixture() -> None:
    evidence = load(RunDir(KILL))
    verdict = judge(evidence.summary, evidence.journal, evidence.status)
    assert verdict.outcome == "failed"
    assert verdict.hypothesis == "not met after the method"
    assert "the steady state deviated after the method" in verdict.reasons
    assert [row.name for row in verdict.checks] == [
        "durability",
        "linearizable-writes",
        "sequential",
    ]
    assert all(row.valid is True for row in verdict.checks)
    rows = {row.name: row for row in verdict.tolerances}
    assert rows["new-leader-within-2s"].after == "3.017"
    assert rows["new-leader-within-2s"].after_met is False
    assert rows["no-lost-writes"].after is None  # the after-phase stopped at the first miss


def test_verdicts_of_passed_unknown_and_interrupted_runs() -> None:
    checks = {
        "valid": "unknown",
        "details": {
            "results": {
                "linearizable-writes": {"valid": "unknown", "details": {"reason": "time budget"}},
                "durability": {"valid": True, "details": {"lost_count": 0}},
            }
        },
    }
    summary = {"status": "completed", "checks": checks, "metrics": {}}
    journal = {
        "status": "completed",
        "deviated": False,
        "steady_states": {
            "before": {"steady_state_met": True, "probes": []},
            "after": {"steady_state_met": True, "probes": []},
        },
    }
    passed = judge(summary, journal, "completed")
    assert passed.outcome == "passed" and passed.hypothesis == "met"
    assert [row.valid for row in passed.checks] == ["unknown", True]
    assert judge(summary, None, "completed").hypothesis == "unknown (no journal)"
    interrupted = {
        **summary,
        "status": "interrupted",
        "failure_reasons": ["interrupted during the method (SIGTERM)"],
    }
    stopped = judge(interrupted, None, "interrupted")
    assert stopped.outcome == "incomplete"
    assert stopped.headline == (
        "Incomplete run (interrupted): interrupted during the method (SIGTERM)"
    )
    assert judge({}, None, "unknown").outcome == "incomplete"
    false_check = {"details": {"results": {"durability": {"valid": False, "details": {}}}}}
    failed = judge({**summary, "checks": false_check}, journal, "completed")
    assert failed.outcome == "failed" and failed.headline == "Failed: check durability is false"


def test_tolerances_read_as_people_write_them() -> None:
    assert format_tolerance(True) == "= true"
    assert format_tolerance({"type": "range", "range": [0, 2.0]}) == "within [0, 2.000]"
    assert format_tolerance([1, 5]) == "within [1, 5]"
    assert format_tolerance({"type": "regex", "pattern": "^ok$"}) == "matches /^ok$/"


def partial_runs(tmp_path: Path) -> dict[str, RunDir]:
    """Run dirs as an interrupted or hand-copied run leaves them."""
    runs = {}
    only_events = tmp_path / "only-events"
    only_events.mkdir()
    shutil.copyfile(KILL / "events.jsonl", only_events / "events.jsonl")
    runs["only events"] = RunDir(only_events)

    broken = copy_run(KILL, tmp_path / "broken")
    broken.summary.write_text('{"experiment": "zk-leader-kill", "trials": [')
    (broken.path / "journal.json").write_text("not json")
    broken.ground_truth.write_text("[]")
    with broken.events.open("a") as f:
        # A record without a time, then the line a writer killed mid-write leaves (a torn
        # line in the middle is no longer read past: it is an error naming file:line).
        f.write('{"no": "time"}\n{"t": 1, "kind"')
    runs["broken json"] = broken

    no_trials = copy_run(PAUSE, tmp_path / "no-trials")
    summary = json.loads(no_trials.summary.read_text())
    no_trials.summary.write_text(json.dumps({**summary, "trials": [], "metrics": {}}))
    (no_trials.path / "journal.json").unlink()
    shutil.rmtree(no_trials.peers)
    runs["no trials, no journal, no logs"] = no_trials

    only_history = tmp_path / "only-history"
    only_history.mkdir()
    shutil.copyfile(PAUSE / "history.jsonl", only_history / "history.jsonl")
    runs["only history"] = RunDir(only_history)

    odd = copy_run(PAUSE, tmp_path / "odd")
    odd_trial = {
        "fault": "kill",
        "t_fault": "soon",
        "dns": [1],
        "ground_truth": 5,
        "dns_convergence_s": [3],
        "election_time_s": "fast",
    }
    odd.summary.write_text(
        json.dumps(
            {
                "metrics": [1],
                "trials": [odd_trial, 7],
                "checks": "yes",
                "failure_reasons": "many",
            }
        )
    )
    with odd.events.open("a") as f:
        f.write('{"t": 5, "kind": "role", "mode": "leader"}\n{"t": 6, "kind": "dns"}\n')
        f.write('{"t": 7, "kind": "fault", "fault": "kill"}\n')
    runs["odd shapes"] = odd

    empty = tmp_path / "empty-files"
    empty.mkdir()
    for name in ("events.jsonl", "history.jsonl", "summary.json", "meta.json"):
        (empty / name).write_text("")
    runs["empty files"] = RunDir(empty)
    return runs


def test_partial_runs_still_get_a_report(tmp_path: Path) -> None:
    reports = {}
    for what, run in partial_runs(tmp_path).items():
        written = reports[what] = write_reports(run)
        html = written["report.html"].read_text()
        md = written["report.md"].read_text()
        assert 'id="verdict"' in html and "## Verdict" in md, what
        assert re.findall(r'<img src="(?!data:image/png;base64,)', html) == [], what
        assert "Notes" in html, f"{what}: the page says what is missing"
    only_events = reports["only events"]
    assert "plots/timeline.png" in only_events  # events alone still draw the timeline
    assert "Incomplete run (no summary.json)" in only_events["report.html"].read_text()


def test_regenerating_removes_stale_zoom_panels(tmp_path: Path) -> None:
    run = copy_run(PAUSE, tmp_path)
    (run.path / "plots").mkdir()
    (run.path / "plots" / "trial-9.png").write_bytes(b"old")
    (run.path / "plots" / "mine.png").write_bytes(b"not ours")
    written = write_reports(run)
    assert not (run.path / "plots" / "trial-9.png").exists()
    assert (run.path / "plots" / "mine.png").exists()
    assert "plots/trial-2.png" in written and "plots/trial-3.png" not in written


def test_report_command_prints_the_page_and_fails_in_one_line(tmp_path: Path) -> None:
    run = copy_run(PAUSE, tmp_path)
    result = CliRunner().invoke(report, [str(run.path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(run.path / "report.html")
    missing = CliRunner().invoke(report, [str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert missing.stderr.strip().splitlines() == [
        f"peerchaos: run dir {tmp_path / 'nope'}: no such directory"
    ]


def test_a_re_elected_victim_is_named_not_left_blank() -> None:
    from peerchaos.report.trialrows import DASH, trial_rows

    trial = {"fault": {"fault": "kill", "pod": "zk-2"}, "t_fault": 10.0, "election_time_s": None}
    blank, named = trial_rows([trial, {**trial, "victim_re_elected": True}], 0.0)
    assert blank["new_leader"] == DASH
    assert named["new_leader"] == "the victim, re-elected" and named["election"] == DASH
