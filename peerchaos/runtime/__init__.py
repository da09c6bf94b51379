"""Runtimes: where pods live. Everything above this package is written once.

`open_runtime` turns a locator — plain data a runtime gives out with `locator()` — back
into a runtime, so a Ray actor on another machine (or in a pod) watches the same one.
"""

from __future__ import annotations

from typing import Any

from peerchaos.errors import UsageError
from peerchaos.runtime.base import Runtime

RUNTIMES = ("local", "kubernetes")


def open_runtime(locator: dict[str, Any]) -> Runtime:
    """The runtime a `locator()` describes."""
    kind = locator.get("runtime")
    if kind == "local":
        from peerchaos.runtime.local.runtime import LocalRuntime

        return LocalRuntime(locator["state_dir"])
    if kind == "kubernetes" and locator.get("attach"):
        from peerchaos.runtime.kubernetes.attached import open_attached

        return open_attached(locator)
    if kind == "kubernetes":
        from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime
        from peerchaos.spec import parse_spec

        return KubernetesRuntime(
            parse_spec(locator["spec"], "runtime locator"),
            locator["state_dir"],
            kubeconfig=locator.get("kubeconfig"),
            context=locator.get("context"),
            host=locator.get("host"),
        )
    raise UsageError(f"runtime {kind!r}: must be one of {', '.join(RUNTIMES)}")
