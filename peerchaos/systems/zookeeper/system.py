"""ZooKeeper behind the system seam: `SYSTEM`, the object `peerchaos.systems` hands out.

Each member is the function of this package that does the work (the seam's signatures
are `base.System`'s); kazoo is imported only when load or a canary write needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peerchaos.systems.base import Role, System
from peerchaos.systems.zookeeper import (
    attach,
    causes,
    deployments,
    doctor,
    localpod,
    logs,
    manifests,
    settings,
)
from peerchaos.systems.zookeeper.fourletter import answering_server_id, role

if TYPE_CHECKING:
    from peerchaos.load import LoadWorker
    from peerchaos.spec import EnsembleSpec


class ZooKeeper(System):
    """Apache ZooKeeper 3.x: Zab, four-letter words, a JVM per peer."""

    name = "zookeeper"
    title = "ZooKeeper"
    settings_model = settings.ZooKeeperSettings
    top_level_keys = settings.TOP_LEVEL_KEYS
    readiness_kinds = settings.READINESS_KINDS
    container_name = "zookeeper"
    # The bracket keeps the shell that greps from matching its own command line.
    server_process_pattern = "QuorumPeer[M]ain"
    role_fields = ("zxid",)
    vote_phrase = "each peer's own LEADER ELECTION TOOK"
    dns_cache_setting = "jvm_dns_cache_s"
    dns_cache_phrase = "the peers' JVM DNS cache"
    attach_setting_names = attach.SETTING_NAMES
    attach_defaults = attach.DEFAULTS
    attach_hint = attach.HINT

    # -- identity and spec (settings.py) ---------------------------------------------

    def spec_defaults(self) -> dict[str, Any]:
        return {
            key: dict(value) if isinstance(value, dict) else value
            for key, value in settings.SPEC_DEFAULTS.items()
        }

    def check_spec(self, spec: EnsembleSpec) -> None:
        if spec.headless_service.leader_election_port is None:
            raise ValueError("headless_service.leader_election_port is required for zookeeper")

    # objects and processes
    peer_ports = staticmethod(manifests.peer_ports)
    container = staticmethod(manifests.container)
    check_container = staticmethod(localpod.check_container)
    local_command = staticmethod(localpod.local_command)
    local_ready = staticmethod(localpod.local_ready)
    local_checks = staticmethod(doctor.local_checks)

    # observing (fourletter.py, client.py)
    def role(self, host: str, port: int, timeout_s: float) -> Role:
        found = role(host, port, timeout_s)
        zxid = None if found.zxid is None else hex(found.zxid)
        return Role(found.mode, found.epoch, {"zxid": zxid})

    def successor(self, followers: list[str], ordinals: dict[str, int]) -> str:
        # ZooKeeper elects the peer with the newest zxid, then the highest myid (ordinal
        # + 1); followers in sync share the zxid: the follower with the highest ordinal.
        return max(followers, key=lambda name: ordinals.get(name, -1))

    def answering_ordinal(self, host: str, port: int, timeout_s: float) -> int | None:
        myid = answering_server_id(host, port, timeout_s)
        return None if myid is None else myid - 1

    def load_worker_class(self) -> type[LoadWorker]:
        from peerchaos.systems.zookeeper.client import ZooKeeperWorker

        return ZooKeeperWorker

    def canary_write(self, host: str, port: int, timeout_s: float) -> None:
        from peerchaos.systems.zookeeper.client import canary_write

        canary_write(host, port, timeout_s)

    # ground truth, causes and caches
    parse_logs = staticmethod(logs.parse_logs)
    log_state = staticmethod(logs.log_state)
    leader_serving = staticmethod(logs.serving_as_leader)
    split_log_line = staticmethod(logs.split_line)
    version_from_logs = staticmethod(logs.version_from_logs)
    trial_causes = staticmethod(causes.trial_causes)
    dns_caches = staticmethod(settings.jvm_caches)
    environment = staticmethod(settings.environment)

    # attaching (attach.py, deployments.py)
    attach_container = staticmethod(attach.find_container)
    attach_identity = staticmethod(attach.identity)
    attach_settings = staticmethod(deployments.settings)
    attach_live = staticmethod(attach.live)
    attach_findings = staticmethod(attach.findings)
    readiness_kind = staticmethod(deployments.readiness_kind)
    seen_spec = staticmethod(attach.seen_spec)
    seen_lines = staticmethod(attach.seen_lines)


SYSTEM = ZooKeeper()
