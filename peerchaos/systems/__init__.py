"""The systems behind the seam (`base.System`), by name: `get_system("zookeeper")`.

A spec names its system (`system: zookeeper`, the default); a run directory's
`meta.json` records it in its spec, so a run is re-analysed with the system that made it
(`system_of`). A system is registered here by the module that defines its `SYSTEM`
object; `KNOWN` also lists the systems a spec may name before they are available.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from peerchaos.errors import UsageError

if TYPE_CHECKING:
    from peerchaos.systems.base import System

DEFAULT_SYSTEM = "zookeeper"
# Each available system: the module holding its `SYSTEM`.
MODULES = {
    "zookeeper": "peerchaos.systems.zookeeper.system",
    "etcd": "peerchaos.systems.etcd.system",
}
# What a spec may name; a known system that is not available is refused in one line.
KNOWN = ("zookeeper", "etcd")

_loaded: dict[str, System] = {}


def available() -> tuple[str, ...]:
    """The systems peerchaos can run now."""
    return tuple(MODULES)


def unavailable_reason(name: str) -> str | None:
    """Why a spec cannot name `name` (one line), or None when it can."""
    if name in MODULES:
        return None
    shown = ", ".join(available())
    if name in KNOWN:
        return f"not yet available in this peerchaos (available: {shown})"
    return f"must be one of {shown}"


def get_system(name: str = DEFAULT_SYSTEM) -> System:
    """The system called `name`; UsageError in one line for one that is not available."""
    if name not in _loaded:
        reason = unavailable_reason(name) if isinstance(name, str) else "must be a name"
        if reason is not None:
            raise UsageError(f"system: {reason} (got {name!r})")
        _loaded[name] = importlib.import_module(MODULES[name]).SYSTEM
    return _loaded[name]


def all_systems() -> list[System]:
    """Every available system, in registry order."""
    return [get_system(name) for name in MODULES]


def system_of(spec: Any) -> System:
    """The system a spec dump (`meta.json`'s `spec`) names; older runs: the default."""
    name = spec.get("system") if isinstance(spec, dict) else None
    return get_system(name if isinstance(name, str) and name in MODULES else DEFAULT_SYSTEM)
