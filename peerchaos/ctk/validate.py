"""Pre-flight checks of an experiment's peerchaos activities, before anything is touched.

Chaos Toolkit checks that functions exist and arguments bind; this checks what only
peerchaos knows: targets, numbers, statistics, faults the runtime cannot inject, and
faults that would take out a majority without `allow_quorum_loss`.
"""

from __future__ import annotations

from typing import Any

from peerchaos import nemesis
from peerchaos.ctk.config import number
from peerchaos.ctk.session import Session
from peerchaos.errors import SpecError, UnsupportedFault

FAULT_OF = {
    "kill_peer": "kill",
    "make_peer_unready": "unready",
    "pause_peer": "pause",
    "partition_peer": "partition",
    "heal_partition": "partition",
    "delete_endpoints": "endpoints",
    "restore_endpoints": "endpoints",
}
NUMBERS = {"trials": (int, 1, 1000), "duration_s": (float, 0, 3600), "settle_s": (float, 0, 3600)}


def _activities(experiment: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    blocks = [
        ("steady-state-hypothesis", hypothesis.get("probes") or []),
        ("method", experiment.get("method") or []),
        ("rollbacks", experiment.get("rollbacks") or []),
    ]
    for section, activities in blocks:
        for activity in activities:
            if isinstance(activity, dict):
                found.append((f"{section} '{activity.get('name', '?')}'", activity))
    return found


def validate_activities(experiment: dict[str, Any], session: Session) -> None:
    """Raise one line for the first peerchaos activity that cannot run as written."""
    spec = session.config.spec
    pods = spec.pod_names()
    caps = session.runtime.capabilities()
    for where, activity in _activities(experiment):
        provider = activity.get("provider") or {}
        if not str(provider.get("module", "")).startswith("peerchaos.ctk"):
            continue
        func = provider.get("func", "")
        args = provider.get("arguments") or {}
        fault = FAULT_OF.get(func)
        if fault and not caps.supports(fault):
            reason = caps.reasons.get(fault, "not supported")
            raise UnsupportedFault(f"{where}: {func}: {reason} ({session.runtime.name} runtime)")
        if fault == "endpoints" and not spec.selectorless.enabled:
            raise SpecError(f"{where}: {func} needs selectorless.enabled: true in the spec")
        for key, (kind, low, high) in NUMBERS.items():
            if key in args and not str(args[key]).startswith("${"):
                number(args[key], kind, low, high, f"{where}: {key}")
        target = args.get("target")
        if target is not None and not str(target).startswith("${"):
            nemesis.check_target(str(target), pods, where)
            if fault in ("kill", "unready", "pause", "partition"):
                victims = (len(pods) - 1) // 2 if target == "minority" else 1
                nemesis.quorum_guard(victims, len(pods), session.config.allow_quorum_loss, where)
        stat = args.get("stat")
        if stat is not None and stat not in ("last", "p50", "p95", "max"):
            raise SpecError(f"{where}: stat must be last, p50, p95 or max (got {stat!r})")
