"""ZooKeeper's spec settings and defaults: tickTime and the limits, heap, the JVM's DNS caches.

A spec holds them in its `zookeeper:` group; an older spec writes them at the top level,
which still works (`TOP_LEVEL_KEYS`, lifted into the group by `peerchaos.spec`).

The JVM caches DNS answers (`networkaddress.cache.ttl`, 30 s without a security manager)
and failed lookups (`networkaddress.cache.negative.ttl`, 10 s in java.security); both are
security properties, so peerchaos writes them to a java.security.properties file.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from peerchaos.strict import Strict


class ZooKeeperSettings(Strict):
    """The `zookeeper:` group of a spec."""

    tick_time_ms: int = Field(2000, ge=10, le=60000)
    init_limit: int = Field(10, ge=1, le=1000)
    sync_limit: int = Field(5, ge=1, le=1000)
    # How long the peers' JVMs cache DNS lookups, answers and failures alike (-1: forever).
    # None = the JVM's own defaults: answers 30 s (no security manager), failed lookups
    # 10 s (java.security) — and ZooKeeper keeps a peer's old address when a lookup fails.
    jvm_dns_cache_s: int | None = Field(None, ge=-1, le=3600)
    # Failed lookups only, when they should differ from jvm_dns_cache_s.
    jvm_dns_negative_cache_s: int | None = Field(None, ge=-1, le=3600)
    heap_mb: int = Field(256, ge=32, le=8192)

    def jvm_dns_security(self) -> str:
        """The JVM DNS cache settings as java.security lines (space-separated), or ""."""
        return jvm_dns_security(self.jvm_dns_cache_s, self.jvm_dns_negative_cache_s)


# Every setting may still be written at the top level of a spec, as before the group.
TOP_LEVEL_KEYS = tuple(ZooKeeperSettings.model_fields)

# The spec values that are ZooKeeper's: the kubernetes.io tutorial's ensemble.
SPEC_DEFAULTS: dict[str, Any] = {
    "name": "zk",
    "image": "zookeeper:3.8",
    "headless_service": {"name": "zk-hs", "server_port": 2888, "leader_election_port": 3888},
    "client_service": {"name": "zk-cs", "port": 2181},
    "readiness_probe": {"kind": "ruok"},
}
# ruok: the server process answers "imok" (the tutorial's probe).
# quorum: `srvr` reports leader/follower/standalone, i.e. the peer is in a quorum.
READINESS_KINDS = ("ruok", "quorum")

JVM_POSITIVE_DEFAULT_S = 30  # without a security manager, OpenJDK caches answers 30 s
JVM_NEGATIVE_DEFAULT_S = 10  # java.security's networkaddress.cache.negative.ttl


def jvm_dns_security(cache_s: int | None, negative_s: int | None) -> str:
    """The JVM DNS cache settings as java.security lines (space-separated), or ""."""
    lines = []
    if cache_s is not None:
        lines.append(f"networkaddress.cache.ttl={cache_s}")
    negative = cache_s if negative_s is None else negative_s
    if negative is not None:
        lines.append(f"networkaddress.cache.negative.ttl={negative}")
    return " ".join(lines)


def cache_seconds(value: Any, default: int) -> float:
    """A JVM DNS cache setting in seconds: None is the JVM default, -1 is forever."""
    if value is None:
        return float(default)
    return math.inf if int(value) < 0 else float(value)


def jvm_caches(settings: dict[str, Any]) -> tuple[float, float]:
    """(answers, failed lookups) the peers' JVMs cache DNS for, as the settings say:
    `jvm_dns_cache_s` sets both unless `jvm_dns_negative_cache_s` is given."""
    positive = settings.get("jvm_dns_cache_s")
    negative = settings.get("jvm_dns_negative_cache_s")
    negative = positive if negative is None else negative
    return (
        cache_seconds(positive, JVM_POSITIVE_DEFAULT_S),
        cache_seconds(negative, JVM_NEGATIVE_DEFAULT_S),
    )


def _or(value: Any, unit: str, default: str) -> str:
    return default if value is None else f"{value}{unit}"


def environment(settings: dict[str, Any]) -> dict[str, str]:
    """The report's words for the timing and the JVM's DNS caches."""
    return {
        "timing": (
            f"tickTime {settings.get('tick_time_ms')} ms, initLimit "
            f"{settings.get('init_limit')}, syncLimit {settings.get('sync_limit')}"
        ),
        "dns_cache": (
            f"JVM cache {_or(settings.get('jvm_dns_cache_s'), ' s', 'the JVM default (30 s)')}, "
            "JVM negative cache "
            f"{_or(settings.get('jvm_dns_negative_cache_s'), ' s', 'the JVM default (10 s)')}"
        ),
    }
