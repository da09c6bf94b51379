"""The per-trial table: one row of figures per fault, each beside the peers' logs.

A row names the fault (every pod of a multi-pod fault: it is one trial), when it landed
(`at_s`, seconds after the run started) and each figure of the trial — censored ones as
"> X s". Two marks keep a reader from over-trusting a number: `AFTER_EFFECTS` on a trial
that did not start from a clean ensemble (what the previous one left, see the notes),
`GAP` on a figure whose span a probe gap overlapped.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure.stats import Value
from peerchaos.report.values import (
    DASH,
    dict_of,
    list_of,
    number,
    seconds,
    share,
    trial_figure,
    value_text,
    worst,
)

AFTER_EFFECTS = "†"  # the trial did not start independent of the previous one
GAP = "*"  # a probe gap overlapped the figure's measured span
LEGEND = (
    f"{AFTER_EFFECTS} the trial did not start from a clean ensemble (after-effects: see its "
    f"notes); {GAP} a probe gap overlapped the figure's span."
)


def fault_text(fault: Any) -> str:
    """ "kill zk-1 (leader)", "pause zk-0, zk-1", "partition zk-0 | zk-1,zk-2"."""
    if not isinstance(fault, dict):
        return f"{fault or '?'}"
    pods = [str(p) for p in list_of(fault.get("pods")) if p] or (
        [str(fault["pod"])] if fault.get("pod") else []
    )
    if list_of(fault.get("groups")):
        target = " | ".join(",".join(map(str, g)) for g in fault["groups"] if isinstance(g, list))
    elif pods:
        target = ", ".join(pods)
    else:
        target = str(fault.get("service") or DASH)
    text = f"{fault.get('fault', '?')} {target}"
    aimed = fault.get("target")
    if isinstance(aimed, str) and aimed and aimed not in pods:
        text += f" ({aimed})"
    if fault.get("source") == "external":
        text += " [external]"
    return text


def independent(trial: dict[str, Any]) -> bool | None:
    """False when the trial recorded after-effects; None when the summary predates them."""
    effects = trial.get("after_effects")
    if not isinstance(effects, dict) or "independent" not in effects:
        return None
    return bool(effects["independent"])


def _gapped(trial: dict[str, Any], key: str, text: str) -> str:
    gaps = trial.get("figures_with_gaps")
    if isinstance(gaps, list) and key in gaps and text != DASH:
        return f"{text} {GAP}"
    return text


def dns_worst(trial: dict[str, Any], view: str) -> Value | None:
    """The slowest affected name of a view (worst probe); one never converged outranks all."""
    values: list[Value | None] = []
    window = trial.get("window_s")
    for stream, probes in dict_of(trial.get("dns")).items():
        if not stream.startswith(view + ":"):
            continue
        for entry in dict_of(probes).values():
            if not isinstance(entry, dict) or not entry.get("affected", True):
                continue
            converged = entry.get("converged", number(entry.get("convergence_s")))
            if converged and number(entry.get("convergence_s")):
                values.append(Value(float(entry["convergence_s"])))
            elif entry.get("converged") is False:
                bound = entry.get("censored_at_s", window)
                values.append(Value(None, True, float(bound) if number(bound) else None))
    if not values:  # no per-probe detail (an older summary): the per-name figures
        key = "dns_convergence_s" if view == "raw" else "dns_convergence_cached_s"
        values = [Value(float(v)) for v in dict_of(trial.get(key)).values() if number(v)]
    return worst(values)


def dns_text(value: Value | None) -> str:
    text = value_text(value)
    return f"{text} never" if value is not None and value.censored else text


def stale_max(trial: dict[str, Any], view: str) -> Any:
    """The longest stale window of any name in the view (unaffected names too: a cached
    address of a pod that died in an earlier trial is stale all the same)."""
    found = [
        entry.get("stale_window_s")
        for stream, probes in dict_of(trial.get("dns")).items()
        if stream.startswith(view + ":")
        for entry in dict_of(probes).values()
        if isinstance(entry, dict) and number(entry.get("stale_window_s"))
    ]
    return max(found) if found else None


def _new_leader(trial: dict[str, Any]) -> str:
    leader, epoch = trial.get("new_leader"), trial.get("new_epoch")
    if leader:
        return f"{leader} (epoch {epoch})" if epoch is not None else str(leader)
    if trial.get("victim_re_elected"):
        return "the victim, re-elected"  # not a missing figure: the definition leaves it out
    if trial.get("election_expected") is False:
        return "none due"
    return DASH


def _at(trial: dict[str, Any], t0: float | None) -> str:
    if number(trial.get("at_s")):
        return seconds(trial["at_s"])
    t_fault = trial.get("t_fault")
    return seconds(t_fault - t0 if t0 is not None and number(t_fault) else None)


def _election(trial: dict[str, Any]) -> str:
    text = trial_figure(trial, "election_time_s")
    if text == DASH and trial.get("election_expected") is False:
        return "none due"
    return _gapped(trial, "election_time_s", text)


def trial_row(i: int, trial: dict[str, Any], t0: float | None) -> dict[str, str]:
    truth = dict_of(trial.get("ground_truth"))
    ops = dict_of(trial.get("client_ops"))
    number_text = str(i) + ("" if trial.get("observed", True) else " (not observed)")
    if independent(trial) is False:
        number_text += f" {AFTER_EFFECTS}"
    figure = {
        key: _gapped(trial, key, trial_figure(trial, key))
        for key in (
            "full_redundancy_s",
            "zero_tolerance_s",
            "client_unavailability_s",
            "write_recovery_s",
            "read_recovery_s",
        )
    }
    return {
        "trial": number_text,
        "fault": fault_text(trial.get("fault")),
        "at": _at(trial, t0),
        "election": _election(trial),
        "election_log": seconds(truth.get("leader_serving_s")),
        "election_error": seconds(truth.get("election_time_error_s"), signed=True),
        "new_leader": _new_leader(trial),
        "redundancy": figure["full_redundancy_s"],
        "redundancy_log": seconds(truth.get("full_redundancy_s")),
        "zero_tolerance": figure["zero_tolerance_s"],
        "unavailable": figure["client_unavailability_s"],
        "failed_share": share(ops.get("failed_share")),
        "info_share": share(ops.get("info_share")),
        "write": figure["write_recovery_s"],
        "read": figure["read_recovery_s"],
        "victim_back": seconds(trial.get("victim_serving_again_s")),
        "dns_raw": dns_text(dns_worst(trial, "raw")),
        "dns_cached": dns_text(dns_worst(trial, "cached")),
        "stale": seconds(stale_max(trial, "raw")),
        "stale_cached": seconds(stale_max(trial, "cached")),
        "dual_leader": seconds(trial.get("dual_leader_s")),
        "write_after_heal": seconds(trial.get("write_recovery_after_heal_s")),
    }


def trial_rows(trials: list[dict[str, Any]], t0: float | None) -> list[dict[str, str]]:
    return [trial_row(i, trial, t0) for i, trial in enumerate(trials, 1)]
