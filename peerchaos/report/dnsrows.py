"""The DNS table: per trial and name, when each view matched the runtime's truth.

A name the fault changed (`affected`) gets a row: per view (raw answers, and through
the cache) whether it converged and when — "> X s never" when it did not within the
trial — its stale window (answers holding an address no live pod holds), NXDOMAIN time,
when the name's truth changed (`truth_s`, the DNS ground truth) and how far the view
lagged it. With several DNS probes the worst one is shown. Names the fault did not
change are listed as unaffected on one line per trial, never mixed into the figures —
with their stale windows, because a cache can still hold a pod that died earlier.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure.stats import Value
from peerchaos.report.trialrows import dns_text
from peerchaos.report.values import DASH, dict_of, number, seconds, worst

VIEWS = ("raw", "cached")


def short_name(name: str) -> str:
    return name.removesuffix(".svc.cluster.local")


def _entries(trial: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """name -> view -> the probes' entries."""
    names: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for stream, probes in dict_of(trial.get("dns")).items():
        view, _, name = stream.partition(":")
        if name and view in VIEWS:
            entries = [e for e in dict_of(probes).values() if isinstance(e, dict)]
            names.setdefault(name, {v: [] for v in VIEWS})[view] += entries
    return names


def _convergence(entry: dict[str, Any], window: Any) -> Value | None:
    if entry.get("converged") is False:
        bound = entry.get("censored_at_s", window)
        return Value(None, True, float(bound) if number(bound) else None)
    found = entry.get("convergence_s")
    return Value(float(found)) if number(found) else None


def _max(entries: list[dict[str, Any]], key: str) -> float | None:
    found = [e[key] for e in entries if number(e.get(key))]
    return max(found) if found else None


def _converged(entries: list[dict[str, Any]]) -> str:
    flags = [e.get("converged") for e in entries if isinstance(e.get("converged"), bool)]
    if not flags:
        return DASH
    return "yes" if all(flags) else "no"


def _affected_row(trial_no: str, name: str, views: dict[str, list[Any]], window: Any) -> dict:
    row: dict[str, Any] = {"kind": "affected", "trial": trial_no, "name": short_name(name)}
    for view in VIEWS:
        entries = views[view]
        row[view] = dns_text(worst([_convergence(e, window) for e in entries]))
        row[f"{view}_converged"] = _converged(entries)
        row[f"stale_{view}"] = seconds(_max(entries, "stale_window_s"))
        row[f"nxdomain_{view}"] = seconds(_max(entries, "nxdomain_s"))
        row[f"lag_{view}"] = seconds(_max(entries, "lag_s"))
    row["truth"] = seconds(_max(views["raw"] + views["cached"], "truth_s"))
    return row


def _unaffected_row(trial_no: str, names: dict[str, dict[str, list[Any]]]) -> dict | None:
    if not names:
        return None
    parts = []
    for name, views in sorted(names.items()):
        stale = [
            f"{view} stale {seconds(found)}"
            for view in VIEWS
            if (found := _max(views[view], "stale_window_s"))
        ]
        parts.append(short_name(name) + (f" ({', '.join(stale)})" if stale else ""))
    return {"kind": "unaffected", "trial": trial_no, "names": ", ".join(parts)}


def dns_rows(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per trial: a row per affected name, then one row listing the unaffected names."""
    rows = []
    for i, trial in enumerate(trials, 1):
        names = _entries(trial)
        affected = {
            n: v
            for n, v in names.items()
            if any(e.get("affected", True) for view in VIEWS for e in v[view])
        }
        for name, views in sorted(affected.items()):
            rows.append(_affected_row(str(i), name, views, trial.get("window_s")))
        unaffected = _unaffected_row(str(i), {n: v for n, v in names.items() if n not in affected})
        if unaffected:
            rows.append(unaffected)
    return rows
