"""peerchaos as a Chaos Toolkit extension: actions, probes and the run's control.

`chaos discover peerchaos --no-install` lists every activity through `discover()`.
"""

from __future__ import annotations

from typing import Any

from chaoslib.discovery.discover import (
    discover_actions,
    discover_probes,
    initialize_discovery_result,
)

from peerchaos import __version__
from peerchaos.systems import available


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Every peerchaos activity, for `chaos discover`."""
    # The discovery's target: the systems peerchaos can break.
    target = ", ".join(available())
    result = initialize_discovery_result("peerchaos", __version__, target)
    result["activities"].extend(discover_actions("peerchaos.ctk.actions"))
    result["activities"].extend(discover_probes("peerchaos.ctk.probes"))
    return result
