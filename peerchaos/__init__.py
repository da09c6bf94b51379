"""peerchaos: chaos and failover experiments for stateful peers (ZooKeeper) on Kubernetes."""

from typing import Any

__version__ = "0.1.0"


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit's discovery entry point (`chaos discover peerchaos`)."""
    from peerchaos.ctk import discover as discover_activities

    return discover_activities(discover_system)
