"""Pre-flight checks of an experiment's peerchaos activities, before anything is touched.

Chaos Toolkit checks that functions exist and arguments bind; this checks what only
peerchaos knows: targets, numbers, statistics, faults the runtime cannot inject, and
faults that would take out a majority without `allow_quorum_loss`. Arguments written as
`${key}` are checked as Chaos Toolkit will pass them: substituted from the configuration
first (so `--var trials=-5` fails here, not after deploying); a `${key}` the
configuration does not hold is refused, since the activity would receive the text itself.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from chaoslib import substitute

from peerchaos import nemesis
from peerchaos.ctk.config import number, shown
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
# The limits the activities themselves apply (actions.py, probes.py use the same table).
NUMBERS = {
    "trials": (int, 1, 1000),
    "duration_s": (float, 0, 3600),
    "settle_s": (float, 0, 3600),
    "timeout_s": (float, 1, 3600),
    "connections": (int, 1, 1000),
}
TEXTS = ("target", "service", "stat", "name", "view")
STATS = ("last", "p50", "p95", "max")
MODULES = ("peerchaos.ctk.actions", "peerchaos.ctk.probes", "peerchaos.ctk.measured")


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
                # repr: "method 'kill-the-leader'", and a name holding a newline stays one line
                found.append((f"{section} {activity.get('name', '?')!r}", activity))
    return found


def _function(module: str, func: Any, where: str) -> Any:
    found = getattr(importlib.import_module(module), str(func), None)
    if not callable(found):
        raise SpecError(f"{where}: {module} has no activity {func!r}")
    return found


def _substituted(args: Any, configuration: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise SpecError(f"{where}: arguments must be a mapping (got {args!r})")
    done = substitute(args, configuration, None) or {}
    for key, value in done.items():
        if isinstance(value, str) and "${" in value:
            written = value if value.isprintable() else repr(value)
            raise SpecError(
                f"{where}: {shown(key)}: {written} names no configuration key (add it to the "
                "experiment's configuration or pass --var)"
            )
    return done


def check_argument(key: str, value: Any, where: str) -> Any:
    """One argument within its limits, as the activity would take it."""
    if key in NUMBERS:
        kind, low, high = NUMBERS[key]
        return number(value, kind, low, high, f"{where}: {key}")
    if key in TEXTS and not isinstance(value, str):
        raise SpecError(f"{where}: {key}: must be a string (got {value!r})")
    return value


def validate_activities(experiment: dict[str, Any], session: Session) -> None:
    """Raise one line for the first peerchaos activity that cannot run as written."""
    spec = session.config.spec
    pods = spec.pod_names()
    caps = session.runtime.capabilities()
    for where, activity in _activities(experiment):
        provider = activity.get("provider") or {}
        module = str(provider.get("module", ""))
        if not module.startswith("peerchaos.ctk"):
            continue
        func = provider.get("func", "")
        args = _substituted(provider.get("arguments") or {}, session.config.raw, where)
        if module in MODULES:
            try:
                signature = inspect.signature(_function(module, func, where))
                signature.bind(**args, configuration=None, secrets=None)
            except TypeError as error:
                raise SpecError(f"{where}: {func}: {error}") from None
        for key, value in args.items():
            check_argument(key, value, where)
        fault = FAULT_OF.get(func)
        if fault and not caps.supports(fault):
            reason = caps.reasons.get(fault, "not supported")
            raise UnsupportedFault(f"{where}: {func}: {reason} ({session.runtime.name} runtime)")
        if fault == "endpoints" and not spec.selectorless.enabled:
            raise SpecError(f"{where}: {func} needs selectorless.enabled: true in the spec")
        target = args.get("target")
        if target is not None:
            nemesis.check_target(target, pods, where)
            if fault in ("kill", "unready", "pause", "partition"):
                victims = (len(pods) - 1) // 2 if target == "minority" else 1
                nemesis.quorum_guard(victims, len(pods), session.config.allow_quorum_loss, where)
        stat = args.get("stat")
        if stat is not None and stat not in STATS:
            raise SpecError(f"{where}: stat must be last, p50, p95 or max (got {stat!r})")
        view = args.get("view")
        if view is not None and view not in ("raw", "cached"):
            raise SpecError(f"{where}: view must be raw or cached (got {view!r})")
        service = args.get("service")
        if service not in (None, "", spec.client_service.name):
            raise SpecError(
                f"{where}: service must be the ensemble's client Service "
                f"{spec.client_service.name!r} (got {service!r})"
            )
