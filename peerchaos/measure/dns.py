"""DNS convergence of one trial, per (probe, view, name), against the runtime's truth.

For each stream of answers (a probe's raw view, or its TTL-honouring cached view):
- `affected`: the name's expected answer changed during the trial; names the fault did
  not change are kept but left out of the distributions;
- `convergence_s`: from the fault to the first moment the view equals the truth and stays
  equal to the window's end; `converged: false` with `convergence_s: null` and
  `censored_at_s` (the window) when it never does;
- `stale_window_s`: time the view held an address no live pod holds (a pod that died in
  this trial or an earlier one); `nxdomain_s`: time it answered NXDOMAIN;
- `truth_s`: the DNS ground truth — when the name's truth changed to its final value —
  and `lag_s`, the view's convergence after it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from peerchaos.measure.dnstruth import Answer, Timeline, Truth
from peerchaos.measure.stats import Value


def _answer(event: dict[str, Any]) -> Answer:
    return str(event["rcode"]), tuple(sorted(event.get("addresses") or ()))


def streams(events: list[dict[str, Any]]) -> dict[tuple[str, str, str], Timeline]:
    """(view, name, probe) -> the view's answers as a timeline."""
    found: dict[tuple[str, str, str], Timeline] = defaultdict(Timeline)
    for e in events:
        if e["kind"] == "dns":
            found[(e["view"], e["name"], str(e["probe"]))].add(e["t"], _answer(e))
    return dict(found)


def convergence(
    view: Timeline, truth: Truth, name: str, t_fault: float, until: float, service_ips: set[str]
) -> dict[str, Any] | None:
    """One stream's figures for one trial; None when the name has no truth to compare."""
    if name not in truth.names:
        return None
    expected = truth.names[name]
    cuts = sorted(
        {t_fault, until}
        | {t for t, _ in view.changes if t_fault < t < until}
        | {t for t, _ in expected.changes if t_fault < t < until}
    )
    mismatch_until: float | None = None  # end of the last interval where view != truth
    last_mismatch = False
    stale = nxdomain = 0.0
    for start, end in itertools.pairwise(cuts):
        seen, want = view.at(start), expected.at(start)
        last_mismatch = seen != want
        if last_mismatch:
            mismatch_until = end
        if seen is None:
            continue
        held = set(seen[1]) - service_ips
        if held - truth.live_ips(start):
            stale += end - start
        if seen[0] == "NXDOMAIN":
            nxdomain += end - start
    changes = truth.changes_in(name, t_fault, until)
    result: dict[str, Any] = {
        "affected": bool(changes),
        "stale_window_s": stale,
        "nxdomain_s": nxdomain,
        "final": _as_dict(expected.at(until)),
        "view_final": _as_dict(view.at(until)),
        "truth_s": changes[-1][0] - t_fault if changes else None,
    }
    if last_mismatch:
        result.update(converged=False, convergence_s=None, censored_at_s=until - t_fault)
    else:
        converged_at = mismatch_until if mismatch_until is not None else t_fault
        result.update(converged=True, convergence_s=converged_at - t_fault)
    truth_s = result["truth_s"]
    result["lag_s"] = (
        result["convergence_s"] - truth_s if result["converged"] and truth_s is not None else None
    )
    return result


def _as_dict(answer: Answer | None) -> dict[str, Any] | None:
    return None if answer is None else {"rcode": answer[0], "addresses": list(answer[1])}


def trial_dns(
    found: dict[tuple[str, str, str], Timeline],
    truth: Truth | None,
    t_fault: float,
    until: float,
) -> dict[str, Any]:
    """Per-stream figures and, per view and affected name, the slowest probe's value."""
    dns: dict[str, dict[str, Any]] = defaultdict(dict)
    per_view: dict[str, dict[str, Value]] = {"raw": {}, "cached": {}}
    if truth is None:
        return {"dns": {}, "per_view": per_view}
    service_ips = set(truth.cluster.cluster_ips.values())
    for (view, name, probe), answers in sorted(found.items()):
        figures = convergence(answers, truth, name, t_fault, until, service_ips)
        if figures is None:
            continue
        dns[f"{view}:{name}"][probe] = figures
    for key, probes in dns.items():
        view, name = key.split(":", 1)
        affected = [p for p in probes.values() if p["affected"]]
        if not affected or view not in per_view:
            continue
        if any(not p["converged"] for p in affected):
            window = max(p.get("censored_at_s") or 0.0 for p in affected)
            per_view[view][name] = Value.cut_short(window)
        else:
            # The name has converged when every probe has seen the truth.
            per_view[view][name] = Value.reached(max(p["convergence_s"] for p in affected))
    return {"dns": dict(dns), "per_view": per_view}
