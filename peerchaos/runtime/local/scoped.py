"""A local ensemble for the length of a `with` block: up (a leader, an acked write), then gone.

Tests and benchmarks use it: one real ensemble, and nothing left behind after it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.spec import EnsembleSpec


@contextlib.contextmanager
def local_ensemble(
    spec: EnsembleSpec,
    state_dir: str | Path | None = None,
    restart_delay_s: float = 0.3,
    timeout_s: float = 60.0,
) -> Iterator[LocalRuntime]:
    """An ensemble that is up — leader elected, a write through the client Service acked —
    for the length of a `with` block, and gone (with its temp state dir) after it."""
    from peerchaos.ensemble import canary_write, wait_for_leader
    from peerchaos.manifests import render

    temp = None if state_dir else Path(tempfile.mkdtemp(prefix="pc-ensemble-"))
    # A dir inside the temp one: apply creates it, with its marker.
    root = state_dir if temp is None else temp / "state"
    runtime = LocalRuntime(root, spec.local, restart_delay_s=restart_delay_s)
    try:
        runtime.apply(render(spec))
        wait_for_leader(runtime, timeout_s)
        canary_write(runtime, timeout_s / 2)
        yield runtime
    finally:
        runtime.teardown()
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
