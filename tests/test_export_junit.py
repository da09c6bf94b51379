"""`peerchaos export --format junit` on the recorded real runs, and on runs whose probes
raised or whose checker answered false.

The XML is parsed and held to the shape CI dashboards read (the common JUnit schema:
testsuites > testsuite > testcase > failure | skipped, with their attributes and counts).
The probes that raise are the real measured probes, run by chaoslib as `chaos run` runs
them, over a real run's summary; the false check is the real durability checker over a
real history whose final read of one key came back empty.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from peerchaos.checker import check_all
from peerchaos.cli import main
from peerchaos.history import read_jsonl

from conftest import REPO

RUNS = sorted(p.parent for p in (REPO / "tests/data").glob("*/*/*/journal.json"))
FAILED = REPO / "tests/data/report/zk-leader-kill/20261126T215121Z-e0cb"
STALE = REPO / "tests/data/report/zk-leader-kill-stale/20261201T093939Z-d5f3"
CACHED_STALE = REPO / "tests/data/measure/cached-stale/20261201T095254Z-3fb8"
MULTI_POD = REPO / "tests/data/measure/multi-pod-kill/20261201T095512Z-227a"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
CASE_CHILDREN = {"failure", "error", "skipped", "system-out", "system-err"}


def check_junit_shape(root: ET.Element) -> None:
    """The common JUnit XML schema's structure, attributes and counts."""
    assert root.tag == "testsuites"
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    suites = list(root)
    assert suites and all(suite.tag == "testsuite" for suite in suites)
    for suite in suites:
        for attribute in ("name", "tests", "failures", "errors", "skipped", "time"):
            assert attribute in suite.attrib, attribute
        assert TIMESTAMP.fullmatch(suite.attrib["timestamp"]), suite.attrib["timestamp"]
        assert suite.attrib["hostname"]
        assert float(suite.attrib["time"]) >= 0
        children = [child.tag for child in suite]
        assert children.count("properties") <= 1 and children[0] in ("properties", "testcase")
        cases = suite.findall("testcase")
        assert set(children) <= {"properties", "testcase", "system-out", "system-err"}
        counts = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
        for case in cases:
            assert case.attrib["name"] and case.attrib["classname"]
            assert float(case.attrib["time"]) >= 0
            tags = [child.tag for child in case]
            assert set(tags) <= CASE_CHILDREN, tags
            outcomes = [t for t in tags if t in ("failure", "error", "skipped")]
            assert len(outcomes) <= 1, tags
            for outcome in outcomes:
                counts[{"failure": "failures", "error": "errors"}.get(outcome, outcome)] += 1
            for failure in case.findall("failure"):
                assert failure.attrib["message"] and failure.attrib["type"]
            for skipped in case.findall("skipped"):
                assert skipped.attrib["message"]
        for key, count in counts.items():
            assert int(suite.attrib[key]) == count, (key, suite.attrib[key], count)
            totals[key] += count
    for key, count in totals.items():
        assert int(root.attrib[key]) == count, key


def junit(run: Path) -> ET.Element:
    result = CliRunner().invoke(main, ["export", str(run), "--format", "junit"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<?xml")
    root = ET.fromstring(result.stdout)
    check_junit_shape(root)
    return root


def cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {
        (c.attrib["classname"].rsplit(".", 1)[1], c.attrib["name"]): c
        for c in root.iter("testcase")
    }


@pytest.mark.parametrize("run", RUNS, ids=lambda p: p.parent.name)
def test_every_probe_and_check_is_a_testcase(run: Path) -> None:
    journal = json.loads((run / "journal.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    found = cases(junit(run))
    assert len(found) >= 1
    declared = [p["name"] for p in journal["experiment"]["steady-state-hypothesis"]["probes"]]
    for phase in ("before", "after"):
        for name in declared:
            assert (f"steady_state_{phase}", name) in found, (phase, name)
        for probe in journal["steady_states"][phase]["probes"]:
            case = found[(f"steady_state_{phase}", probe["activity"]["name"])]
            if probe["status"] == "skipped":
                assert case.find("skipped").attrib["message"] == probe["output"]
            elif probe["tolerance_met"]:
                assert list(case) == []
    for name, result in summary["checks"]["details"]["results"].items():
        case = found[("checks", name)]
        assert (case.find("failure") is not None) is (result["valid"] is False)
    suite = junit(run).find("testsuite")
    assert suite.attrib["name"] == f"peerchaos.{summary['experiment']}"


def test_before_the_method_measured_probes_are_skipped_with_no_fault_yet() -> None:
    found = cases(junit(STALE))
    skipped = found[("steady_state_before", "new-leader-within-2s-median")].find("skipped")
    assert skipped.attrib["message"] == "no fault yet"
    assert list(found[("steady_state_after", "new-leader-within-2s-median")]) == []


def test_a_missed_tolerance_fails_with_the_tolerance_and_the_measured_value() -> None:
    journal = json.loads((FAILED / "journal.json").read_text())
    (missed,) = [p for p in journal["steady_states"]["after"]["probes"] if not p["tolerance_met"]]
    found = cases(junit(FAILED))
    failure = found[("steady_state_after", missed["activity"]["name"])].find("failure")
    low, high = missed["activity"]["tolerance"]["range"]
    assert failure.attrib["type"] == "ToleranceNotMet"
    assert f"within [{low}, {high:.3f}]" in failure.attrib["message"]
    assert f"measured {missed['output']:.3f}" in failure.attrib["message"]
    assert json.loads(failure.text)["output"] == missed["output"]  # the full value too
    # Chaos Toolkit stopped the hypothesis there: the probes after it never ran.
    names = [p["name"] for p in journal["experiment"]["steady-state-hypothesis"]["probes"]]
    after = names[names.index(missed["activity"]["name"]) + 1 :]
    assert after
    for name in after:
        message = found[("steady_state_after", name)].find("skipped").attrib["message"]
        assert message.startswith("not run after the method")


def steady_state_of(
    summary: dict[str, Any],
    probes: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> dict[str, Any]:
    """The hypothesis after the method as `chaos run` records it: chaoslib runs the real
    probes; the control's session (the seam) holds `summary`, as after a method."""
    from chaoslib.hypothesis import run_steady_state_hypothesis

    from peerchaos.ctk import session as sessions
    from peerchaos.ctk.config import read_config

    session = sessions.Session(
        config=read_config({}),
        runtime=None,
        state_dir=tmp_path,
        owns_state_dir=False,
        summary=summary,
        method_started=True,
    )
    monkeypatch.setattr(sessions, "_current", session)
    experiment = {
        "title": "export test",
        "steady-state-hypothesis": {"title": "measured", "probes": probes},
        "method": [],
    }
    return run_steady_state_hypothesis(experiment, {}, {}, None, None)


def measured_probe(probe: str, func: str, high: float, **arguments: Any) -> dict[str, Any]:
    return {
        "type": "probe",
        "name": probe,
        "tolerance": {"type": "range", "range": [0, high]},
        "provider": {
            "type": "python",
            "module": "peerchaos.ctk.probes",
            "func": func,
            "arguments": arguments,
        },
    }


def with_after_state(
    source: Path, tmp_path: Path, probes: list[dict[str, Any]], state: dict[str, Any]
) -> Path:
    run = tmp_path / source.parent.name / source.name
    shutil.copytree(source, run)
    journal = json.loads((run / "journal.json").read_text())
    journal["experiment"]["steady-state-hypothesis"]["probes"] = probes
    journal["steady_states"]["before"]["probes"] = []
    journal["steady_states"]["after"] = state
    (run / "journal.json").write_text(json.dumps(journal))
    return run


def test_a_probe_that_raised_censored_fails_with_its_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = json.loads((CACHED_STALE / "summary.json").read_text())
    probes = [
        measured_probe(
            "cached-dns-within-15s",
            "dns_convergence",
            15.0,
            name="headless",
            view="cached",
            stat="max",
        ),
        measured_probe("new-leader-within-2s", "election_time", 2.0, stat="max"),
    ]
    state = steady_state_of(summary, probes, monkeypatch, tmp_path)
    assert state["probes"][0]["status"] == "failed"  # chaoslib's record of the raise
    run = with_after_state(CACHED_STALE, tmp_path, probes, state)
    found = cases(junit(run))
    failure = found[("steady_state_after", "cached-dns-within-15s")].find("failure")
    assert failure.attrib["type"] == "ProbeFailed"
    message = failure.attrib["message"]
    assert message.startswith("probe failed: dns_convergence zk-hs.default.svc.cluster.local")
    assert "> " in message and "not reached before its trial's window ended" in message
    assert "ActivityFailed" not in message and "(tolerance within [0, 15.000])" in message
    skipped = found[("steady_state_after", "new-leader-within-2s")].find("skipped")
    assert skipped.attrib["message"].startswith("not run after the method")


def test_a_probe_with_no_data_fails_with_its_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = json.loads((MULTI_POD / "summary.json").read_text())
    no_trials = {**summary, "trials": []}  # a run whose faults the probes never saw
    probes = [measured_probe("new-leader-within-2s", "election_time", 2.0, stat="max")]
    state = steady_state_of(no_trials, probes, monkeypatch, tmp_path)
    run = with_after_state(MULTI_POD, tmp_path, probes, state)
    failure = cases(junit(run))[("steady_state_after", "new-leader-within-2s")].find("failure")
    message = failure.attrib["message"]
    assert message.startswith("probe failed: election_time max: no data (")


def test_a_false_check_fails_with_what_it_found(tmp_path: Path) -> None:
    run = tmp_path / MULTI_POD.parent.name / MULTI_POD.name
    shutil.copytree(MULTI_POD, run)
    history = list(read_jsonl(run / "history.jsonl"))
    (index,) = [
        i for i, op in enumerate(history) if op.type == "ok" and op.final and op.key.endswith("/k0")
    ]
    # The final read found the key absent: every acknowledged write of it is lost.
    history[index] = dataclasses.replace(history[index], value=None)
    summary = json.loads((run / "summary.json").read_text())
    summary["checks"] = check_all(history, time_budget_s=5).to_dict()
    (run / "summary.json").write_text(json.dumps(summary))
    lost = summary["checks"]["details"]["results"]["durability"]["details"]["lost_count"]
    assert lost > 0
    failure = cases(junit(run))[("checks", "durability")].find("failure")
    assert failure.attrib["type"] == "CheckFailed"
    assert failure.attrib["message"].startswith("tolerance valid = true not met: measured false")
    assert f"lost_count {lost}" in failure.attrib["message"]
    assert json.loads(failure.text)["lost_count"] == lost


def test_a_run_without_a_journal_has_its_checks(tmp_path: Path) -> None:
    run = tmp_path / MULTI_POD.name
    shutil.copytree(MULTI_POD, run)
    (run / "journal.json").unlink()  # e.g. a `peerchaos observe` run
    found = cases(junit(run))
    summary = json.loads((run / "summary.json").read_text())
    assert set(found) == {("checks", name) for name in summary["checks"]["details"]["results"]}
