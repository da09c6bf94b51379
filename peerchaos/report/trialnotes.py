"""What each trial's numbers mean, in words: causes, after-effects, probe gaps, votes.

The figures say how long; the notes say why and how far to trust it. Causes are the
findings the peers' own logs support (a peer dialling an address no pod holds any more,
connect timeouts, a quorum that waited for the victim), each already a sentence in the
summary. After-effects name what the previous trial left behind. Probe gaps name when a
probe was silent and which figures it touched. Each peer's logged vote (the system's
`vote_phrase`; ZooKeeper's per-peer election line) is shown as what it is — that peer's
vote — never as the election's duration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from peerchaos.report.trialrows import AFTER_EFFECTS, fault_text, independent
from peerchaos.report.values import DASH, dict_of, list_of, number, seconds, trial_figure
from peerchaos.systems import get_system
from peerchaos.systems.base import System

FIGURE_NAMES = {
    "election_time_s": "election time",
    "full_redundancy_s": "full redundancy",
    "zero_tolerance_s": "zero tolerance",
    "peer_outage_s": "peer outage",
    "dns_convergence_s": "DNS convergence",
    "dns_convergence_cached_s": "DNS convergence (cached)",
}


@dataclass
class TrialNotes:
    trial: str
    title: str
    independent: bool | None
    causes: list[str] = field(default_factory=list)
    after_effects: list[str] = field(default_factory=list)
    gaps: str = ""
    outages: str = ""
    votes: str = ""

    @property
    def empty(self) -> bool:
        return not (self.causes or self.after_effects or self.gaps or self.outages or self.votes)


def _causes(trial: dict[str, Any]) -> list[str]:
    found = []
    for cause in list_of(trial.get("causes")):
        if isinstance(cause, dict):
            text = cause.get("text") or str(cause.get("kind") or "").replace("_", " ")
            if text:
                found.append(str(text))
        elif isinstance(cause, str):
            found.append(cause)
    return found


def _after_effects(trial: dict[str, Any]) -> list[str]:
    effects = dict_of(trial.get("after_effects"))
    notes = [str(n) for n in list_of(effects.get("notes")) if n]
    if independent(trial) is False and not notes:
        notes.append("did not start independent of the previous trial")
    return notes


def _gaps(trial: dict[str, Any]) -> str:
    gaps = [g for g in list_of(trial.get("probe_gaps")) if isinstance(g, dict)]
    if not gaps:
        return ""
    parts = []
    for gap in gaps:
        who = f"{gap.get('probe', '?')} probe" + (f" of {gap['pod']}" if gap.get("pod") else "")
        when = ""
        if number(gap.get("from_s")):
            when = f" from {seconds(gap['from_s'], signed=True)}"
        silent = " (silent)" if gap.get("silent") else ""
        parts.append(f"{who} silent {seconds(gap.get('s'))}{when}{silent}")
    text = "probe gaps: " + "; ".join(parts)
    touched = [FIGURE_NAMES.get(k, str(k)) for k in list_of(trial.get("figures_with_gaps"))]
    if touched:
        text += " — overlapping " + ", ".join(touched)
    return text


def _outages(trial: dict[str, Any]) -> str:
    probed = dict_of(trial.get("peer_outage_s"))
    if not probed:
        return ""
    censored = dict_of(trial.get("peer_outage_censored"))
    logged = dict_of(dict_of(trial.get("ground_truth")).get("peer_outage_s"))
    window = trial.get("window_s")
    parts = []
    for pod in sorted(probed):
        if censored.get(pod):
            text = f"> {window:.3f} s" if number(window) else "> ? s"
        else:
            text = seconds(probed[pod])
        parts.append(f"{pod} {text} (logs {seconds(logged.get(pod))})")
    return "peer outage (probes, logs): " + ", ".join(parts)


def _votes(trial: dict[str, Any], phrase: str) -> str:
    votes = list_of(dict_of(trial.get("ground_truth")).get("votes"))
    parts = [
        f"{v.get('pod', '?')} {v['ms']} ms"
        + (f" at {seconds(v.get('at_s'), signed=True)}" if number(v.get("at_s")) else "")
        for v in votes
        if isinstance(v, dict) and number(v.get("ms"))
    ]
    if not parts:
        return ""
    return f"votes ({phrase}, not the election): " + ", ".join(parts)


def trial_notes(trials: list[dict[str, Any]], system: System | None = None) -> list[TrialNotes]:
    """The notes of each trial that has any, in trial order (`system`: whose votes)."""
    phrase = (system or get_system()).vote_phrase
    found = []
    for i, trial in enumerate(trials, 1):
        mark = f" {AFTER_EFFECTS}" if independent(trial) is False else ""
        title = f"{fault_text(trial.get('fault'))}"
        redundancy = trial_figure(trial, "full_redundancy_s")
        if redundancy != DASH:
            title += f": full redundancy after {redundancy}"
        if trial.get("victim_re_elected"):
            title += "; the restarted victim won the election again"
        notes = TrialNotes(
            trial=f"{i}{mark}",
            title=title,
            independent=independent(trial),
            causes=_causes(trial),
            after_effects=_after_effects(trial),
            gaps=_gaps(trial),
            outages=_outages(trial),
            votes=_votes(trial, phrase),
        )
        if not notes.empty:
            found.append(notes)
    return found
