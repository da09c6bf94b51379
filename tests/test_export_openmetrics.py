"""`peerchaos export --format openmetrics` and `--textfile` on the recorded real runs.

The output is parsed with prometheus_client's own OpenMetrics parser (the textfile with
its Prometheus text parser, the format node_exporter reads) and every sample is compared
with the run's summary.json: reached statistics as the same float, censored ones never as
a number but as their lower bound, counts as n and n_censored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as text_format_families

from peerchaos.cli import main
from peerchaos.export import load_run, run_registry, write_textfile

from conftest import REPO

RUNS = sorted(p.parent for p in (REPO / "tests/data").glob("*/*/*/summary.json"))
STATS = ("p50", "p95", "max")


def samples(families: Iterable[Any]) -> dict[tuple[str, frozenset], float]:
    """(sample name, labels) -> value, over every family."""
    found = {}
    for family in families:
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in found, key  # no sample twice
            found[key] = sample.value
    return found


def export_text(run: Path) -> str:
    result = CliRunner().invoke(main, ["export", str(run)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def figure_labels(key: str, experiment: str) -> tuple[str, dict[str, str]]:
    if key == "dns_convergence_s":
        return "dns_convergence", {"experiment": experiment, "view": "raw"}
    if key == "dns_convergence_cached_s":
        return "dns_convergence", {"experiment": experiment, "view": "cached"}
    return key.removesuffix("_s"), {"experiment": experiment}


def test_there_are_recorded_runs_to_export() -> None:
    assert len(RUNS) >= 5, RUNS
    censored = [r for r in RUNS if "p95_at_least" in (r / "summary.json").read_text()]
    assert censored, "no recorded run with a censored statistic"


@pytest.mark.parametrize("run", RUNS, ids=lambda p: p.parent.name)
def test_every_figure_is_the_summarys_and_censored_ones_are_lower_bounds(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    text = export_text(run)
    assert text.endswith("# EOF\n")
    families = list(text_string_to_metric_families(text))
    names = {family.name for family in families}
    assert "peerchaos_election_time_seconds" in names
    found = samples(families)
    experiment = summary["experiment"]
    for key, dist in summary["metrics"].items():
        figure, labels = figure_labels(key, experiment)
        for stat in STATS:
            where = frozenset({**labels, "stat": stat}.items())
            reached = found.get((f"peerchaos_{figure}_seconds", where))
            bound = found.get((f"peerchaos_{figure}_at_least_seconds", where))
            if dist.get(f"{stat}_censored"):
                assert reached is None, (key, stat)  # never a number it did not reach
                assert bound == dist[f"{stat}_at_least"], (key, stat)
            else:
                assert reached == dist[stat], (key, stat)
                assert bound is None, (key, stat)
        count = frozenset(labels.items())
        assert found[(f"peerchaos_{figure}_samples", count)] == dist["n"]
        assert found[(f"peerchaos_{figure}_censored_samples", count)] == dist["n_censored"]
    run_labels = frozenset({"experiment": experiment}.items())
    passed = summary["status"] == "completed" and not summary["failure_reasons"]
    assert found[("peerchaos_run_passed", run_labels)] == int(passed)
    assert found[("peerchaos_checks_valid", run_labels)] == int(summary["checks"]["valid"])
    for name, result in summary["checks"]["details"]["results"].items():
        where = frozenset({"experiment": experiment, "check": name}.items())
        assert found[("peerchaos_check_valid", where)] == int(result["valid"])
    meta = json.loads((run / "meta.json").read_text())
    assert found[("peerchaos_run_timestamp_seconds", run_labels)] == meta["ended"]
    assert found[("peerchaos_run_trials", run_labels)] == len(summary["trials"])
    info = [labels for (name, labels), _ in found.items() if name == "peerchaos_run_info"]
    assert dict(info[0])["run_id"] == run.name


@pytest.mark.parametrize("run", RUNS, ids=lambda p: p.parent.name)
def test_per_name_dns_adds_up_to_the_runs_distribution(run: Path) -> None:
    """The per-name family ranks exactly the values the run's DNS distributions rank."""
    summary = json.loads((run / "summary.json").read_text())
    found = samples(text_string_to_metric_families(export_text(run)))
    for view, key in (("raw", "dns_convergence_s"), ("cached", "dns_convergence_cached_s")):
        for suffix, field in (("samples", "n"), ("censored_samples", "n_censored")):
            per_name = sum(
                v
                for (name, labels), v in found.items()
                if name == f"peerchaos_dns_convergence_by_name_{suffix}"
                and dict(labels)["view"] == view
            )
            assert per_name == summary["metrics"][key][field], (view, suffix)
    names = {
        dict(labels)["name"]
        for (name, labels), _ in found.items()
        if name.startswith("peerchaos_dns_convergence_by_name")
    }
    affected = {n for t in summary["trials"] for n in t.get("dns_convergence_s") or {}}
    affected |= {n for t in summary["trials"] for n in t.get("dns_convergence_cached_s") or {}}
    assert names == affected


def test_the_textfile_is_prometheus_text_and_replaced_atomically(tmp_path: Path) -> None:
    """node_exporter may read the file at any moment: it must see a whole file, old or new,
    never a half-written one, and no temporary file may be left beside it."""
    first, second = RUNS[0], RUNS[-1]
    registries = [run_registry(load_run(first)), run_registry(load_run(second))]
    path = write_textfile(registries[0], tmp_path, load_run(first).experiment)
    assert path.name == f"peerchaos_{load_run(first).experiment}.prom"
    seen: list[str] = []
    stop = threading.Event()

    def read_all_the_time() -> None:
        while not stop.is_set():
            seen.append(path.read_text())

    reader = threading.Thread(target=read_all_the_time)
    reader.start()
    try:
        for i in range(40):
            write_textfile(registries[i % 2], tmp_path, load_run(first).experiment)
    finally:
        stop.set()
        reader.join()
    assert len(seen) > 10
    whole = {generate_latest(registry).decode() for registry in registries}
    assert len(whole) == 2
    for text in [*seen, path.read_text()]:
        assert text in whole, text[-200:]  # the old file or the new one, never a part
    families = {f.name for f in text_format_families(path.read_text())}
    assert "peerchaos_election_time_seconds" in families
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_the_cli_writes_the_textfile(tmp_path: Path) -> None:
    run = RUNS[0]
    result = CliRunner().invoke(main, ["export", str(run), "--textfile", str(tmp_path)])
    assert result.exit_code == 0, result.output
    experiment = json.loads((run / "summary.json").read_text())["experiment"]
    written = tmp_path / f"peerchaos_{experiment}.prom"
    assert result.stdout == f"wrote {written} ({experiment} {run.name})\n"
    families = {f.name for f in text_format_families(written.read_text())}
    assert "peerchaos_election_time_seconds" in families
