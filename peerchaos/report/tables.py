"""The report's tables as plain rows of strings: metrics, trials, DNS per name, environment.

Both pages (HTML and Markdown) render the same rows, so a figure reads the same in a
pull-request comment as in the browser. Every measured figure sits beside its ground
truth and the difference, as DESIGN.md asks.
"""

from __future__ import annotations

import json
import time
from typing import Any

from peerchaos.report.evidence import Evidence

DASH = "—"
METRIC_LABELS = {
    "election_time_s": "election time (probes)",
    "ground_truth_leader_serving_s": "leader serving (peer logs, ground truth)",
    "write_recovery_s": "write recovery",
    "read_recovery_s": "read recovery",
    "dns_convergence_s": "DNS convergence (raw, per name)",
    "dns_convergence_cached_s": "DNS convergence (cached, per name)",
}
RAW_FILES = (
    "summary.json",
    "events.jsonl",
    "history.jsonl",
    "ground_truth.json",
    "journal.json",
    "meta.json",
)


def seconds(value: Any, signed: bool = False) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return DASH
    return f"{value:+.3f} s" if signed else f"{value:.3f} s"


def clock(t: Any) -> str:
    if not isinstance(t, int | float):
        return DASH
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def metric_rows(summary: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for name, dist in (summary.get("metrics") or {}).items():
        if not isinstance(dist, dict):
            continue
        rows.append(
            {
                "metric": METRIC_LABELS.get(name, name),
                "n": str(dist.get("n", 0)),
                "p50": seconds(dist.get("p50")),
                "p95": seconds(dist.get("p95")),
                "max": seconds(dist.get("max")),
            }
        )
    return rows


def _target(fault: dict[str, Any]) -> str:
    if fault.get("pod"):
        return str(fault["pod"])
    if fault.get("groups"):
        return " | ".join(",".join(g) for g in fault["groups"])
    return str(fault.get("service") or DASH)


def _max(values: list[Any]) -> float | None:
    numbers = [v for v in values if isinstance(v, int | float)]
    return max(numbers) if numbers else None


def _dns_streams(trial: dict[str, Any], view: str, key: str) -> list[Any]:
    return [
        probe.get(key)
        for stream, probes in (trial.get("dns") or {}).items()
        if stream.startswith(view + ":")
        for probe in probes.values()
    ]


def trial_rows(trials: list[dict[str, Any]], t0: float | None) -> list[dict[str, str]]:
    rows = []
    for i, trial in enumerate(trials, 1):
        fault = trial.get("fault") or {}
        truth = trial.get("ground_truth") or {}
        t_fault = trial.get("t_fault")
        leader = trial.get("new_leader")
        epoch = trial.get("new_epoch")
        rows.append(
            {
                "trial": str(i) + ("" if trial.get("observed", True) else " (not observed)"),
                "fault": f"{fault.get('fault', '?')} {_target(fault)}",
                "at": seconds(t_fault - t0 if t0 is not None and t_fault is not None else None),
                "election": seconds(trial.get("election_time_s")),
                "election_log": seconds(truth.get("leader_serving_s")),
                "election_error": seconds(truth.get("election_time_error_s"), signed=True),
                "new_leader": (
                    f"{leader} (epoch {epoch})"
                    if leader
                    # Not a missing figure: the definition leaves the victim out.
                    else "the victim, re-elected"
                    if trial.get("victim_re_elected")
                    else DASH
                ),
                "write": seconds(trial.get("write_recovery_s")),
                "read": seconds(trial.get("read_recovery_s")),
                "dns_raw": seconds(_max(list((trial.get("dns_convergence_s") or {}).values()))),
                "dns_cached": seconds(
                    _max(list((trial.get("dns_convergence_cached_s") or {}).values()))
                ),
                "stale": seconds(_max(_dns_streams(trial, "raw", "stale_window_s"))),
                "stale_cached": seconds(_max(_dns_streams(trial, "cached", "stale_window_s"))),
                "endpoint_change": seconds(truth.get("first_endpoint_change_s")),
                "dual_leader": seconds(trial.get("dual_leader_s")),
                "victim_back": seconds(trial.get("victim_serving_again_s")),
                "write_after_heal": seconds(trial.get("write_recovery_after_heal_s")),
            }
        )
    return rows


def short_name(name: str) -> str:
    return name.removesuffix(".svc.cluster.local")


def dns_rows(trials: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Per trial and name: worst probe's convergence, stale window and NXDOMAIN time."""
    rows = []
    for i, trial in enumerate(trials, 1):
        dns = trial.get("dns") or {}
        names = sorted({stream.split(":", 1)[1] for stream in dns if ":" in stream})
        for name in names:
            raw = (dns.get(f"raw:{name}") or {}).values()
            cached = (dns.get(f"cached:{name}") or {}).values()
            rows.append(
                {
                    "trial": str(i),
                    "name": short_name(name),
                    "raw": seconds(_max([p.get("convergence_s") for p in raw])),
                    "cached": seconds(_max([p.get("convergence_s") for p in cached])),
                    "stale": seconds(_max([p.get("stale_window_s") for p in raw])),
                    "stale_cached": seconds(_max([p.get("stale_window_s") for p in cached])),
                    "nxdomain": seconds(_max([p.get("nxdomain_s") for p in raw])),
                }
            )
    return rows


def environment(evidence: Evidence) -> list[tuple[str, str]]:
    spec = evidence.meta.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    probe = spec.get("readiness_probe")
    probe = probe if isinstance(probe, dict) else {}
    journal = evidence.journal or {}
    rows = [
        ("experiment", evidence.experiment),
        ("run", evidence.run.run_id),
        ("status", evidence.status),
        ("runtime", str(evidence.summary.get("runtime") or evidence.meta.get("runtime") or DASH)),
        ("ZooKeeper", evidence.zookeeper_version or "unknown (no peer logs)"),
    ]
    if spec:
        rows += [
            (
                "ensemble",
                f"{spec.get('name')}: {spec.get('replicas')} peers, "
                f"podManagementPolicy {spec.get('pod_management_policy')}",
            ),
            (
                "timing",
                f"tickTime {spec.get('tick_time_ms')} ms, initLimit "
                f"{spec.get('init_limit')}, syncLimit {spec.get('sync_limit')}",
            ),
            (
                "readiness probe",
                f"{probe.get('kind')} every {probe.get('period_s')} s, timeout "
                f"{probe.get('timeout_s')} s, failureThreshold "
                f"{probe.get('failure_threshold')}",
            ),
            (
                "DNS",
                f"TTL {spec.get('dns_ttl_s')} s, JVM cache "
                f"{_or(spec.get('jvm_dns_cache_s'), ' s', 'the JVM default')}, "
                f"publishNotReadyAddresses {spec.get('publish_not_ready_addresses')}",
            ),
        ]
    started = evidence.meta.get("started")
    ended = evidence.meta.get("ended")
    rows.append(("started", clock(started)))
    if isinstance(started, int | float) and isinstance(ended, int | float):
        rows.append(("duration", f"{ended - started:.1f} s"))
    if "ops" in evidence.summary:
        rows.append(("client ops", str(evidence.summary["ops"])))
    if journal:
        rows.append(
            (
                "Chaos Toolkit",
                f"chaoslib {journal.get('chaoslib-version', '?')} on "
                f"{journal.get('node', '?')} ({journal.get('platform', '?')})",
            )
        )
    return rows


def _or(value: Any, unit: str, default: str) -> str:
    return default if value is None else f"{value}{unit}"


def spec_json(evidence: Evidence) -> str:
    spec = evidence.meta.get("spec")
    return json.dumps(spec, indent=2) if spec else ""


def raw_files(evidence: Evidence) -> list[dict[str, str]]:
    """The run's own files, linked relative to the report (which sits in the run dir)."""
    path = evidence.run.path
    found = [path / name for name in RAW_FILES]
    found += sorted(evidence.run.peers.glob("*.log")) if evidence.run.peers.is_dir() else []
    files = []
    for file in found:
        if file.is_file():
            size = file.stat().st_size
            human = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"
            files.append({"href": file.relative_to(path).as_posix(), "size": human})
    return files
