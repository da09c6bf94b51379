"""What the benchmarks share: the fast spec on a pod network of their own, brought up."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import yaml

from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.runtime.local.scoped import local_ensemble
from peerchaos.spec import EnsembleSpec, parse_spec

FAST_SPEC = Path(__file__).parents[1] / "workloads" / "specs" / "fast.yaml"
# Apart from the default and the tests' networks, so a benchmark can run beside them.
NETWORK = {"pod_cidr": "10.244.30.0/24", "service_cidr": "10.96.30.0/24"}


def bench_spec() -> EnsembleSpec:
    """fast.yaml with a 1 s JVM DNS cache (faults are chained within seconds)."""
    data = yaml.safe_load(FAST_SPEC.read_text())
    return parse_spec({**data, "jvm_dns_cache_s": 1, "local": NETWORK}, str(FAST_SPEC))


@contextlib.contextmanager
def ensemble() -> Iterator[LocalRuntime]:
    with local_ensemble(bench_spec()) as runtime:
        yield runtime
