"""etcd's spec settings and defaults: Raft's heartbeat and election timeout, pre-vote.

A spec holds them in its `etcd:` group. The defaults are etcd's own (heartbeat 100 ms,
election timeout 1000 ms, pre-vote off in 3.4). etcd is a Go program: it resolves a
peer's name on every dial and caches no DNS answer, so its DNS caches are zero.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from peerchaos.strict import Strict


class EtcdSettings(Strict):
    """The `etcd:` group of a spec."""

    heartbeat_interval_ms: int = Field(100, ge=10, le=10000)
    # Raft randomises each follower's timeout between 1x and 2x this value.
    election_timeout_ms: int = Field(1000, ge=50, le=50000)
    # Pre-vote keeps a rejoining (partitioned) member from deposing a healthy leader with
    # its inflated term; 3.4 leaves it off, 3.5 turns it on.
    pre_vote: bool = False

    @model_validator(mode="after")
    def _timeout_covers_heartbeats(self) -> EtcdSettings:
        # etcd itself refuses to start otherwise; say so before any pod starts.
        if self.election_timeout_ms < 5 * self.heartbeat_interval_ms:
            raise ValueError(
                f"election_timeout_ms ({self.election_timeout_ms}) must be at least 5 x "
                f"heartbeat_interval_ms ({self.heartbeat_interval_ms}), as etcd requires"
            )
        return self


# The spec values that are etcd's: the shape etcd's own Kubernetes guide uses.
SPEC_DEFAULTS: dict[str, Any] = {
    "name": "etcd",
    "image": "quay.io/coreos/etcd:v3.4.23",
    "headless_service": {"name": "etcd-hs", "server_port": 2380, "leader_election_port": None},
    "client_service": {"name": "etcd-cs", "port": 2379},
    "readiness_probe": {"kind": "health"},
}
# health: `/health` says true — the member knows a leader and a quorum read succeeds.
READINESS_KINDS = ("health",)


def environment(settings: dict[str, Any]) -> dict[str, str]:
    """The report's words for the timing and the DNS cache."""
    heartbeat = settings.get("heartbeat_interval_ms", 100)
    timeout = settings.get("election_timeout_ms", 1000)
    pre_vote = "on" if settings.get("pre_vote") else "off"
    return {
        "timing": f"heartbeat {heartbeat} ms, election timeout {timeout} ms, pre-vote {pre_vote}",
        "dns_cache": "none (etcd resolves a peer's name on every dial)",
    }
