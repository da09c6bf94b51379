"""etcd behind the system seam: `SYSTEM`, the object `peerchaos.systems` hands out.

Each member is the function of this package that does the work (the seam's signatures
are `base.System`'s); etcd3gw is imported only when load or a canary write needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peerchaos.systems.base import Found, System
from peerchaos.systems.etcd import (
    attach,
    causes,
    doctor,
    gateway,
    localpod,
    logs,
    manifests,
    settings,
)

if TYPE_CHECKING:
    from peerchaos.load import LoadWorker


class Etcd(System):
    """etcd 3.4+: Raft, the HTTP/JSON gateway, one Go process per member."""

    name = "etcd"
    title = "etcd"
    settings_model = settings.EtcdSettings
    readiness_kinds = settings.READINESS_KINDS
    container_name = "etcd"
    # The bracket keeps the shell that greps from matching its own command line; `[^c]`
    # (the NUL after the binary's name, or its first flag) leaves etcdctl alone — the
    # readiness probe runs it in the same container.
    server_process_pattern = "bin/etc[d][^c]"
    role_fields = ("member_id", "leader_id", "raft_index")
    vote_phrase = "each member's own vote"
    looking_word = "candidate"
    # etcd's reads are linearizable by default (ReadIndex through the leader).
    linearizable_reads = True
    dns_cache_phrase = "etcd's DNS cache (none: Go resolves on every dial)"
    # A Go program finds peers through resolv.conf only; the loopback mode's hosts file
    # is for JVMs, so etcd needs the pods' own network namespaces.
    local_network_modes = ("netns",)
    attach_setting_names = attach.SETTING_NAMES
    attach_defaults = attach.DEFAULTS
    attach_hint = attach.HINT

    def spec_defaults(self) -> dict[str, Any]:
        return {
            key: dict(value) if isinstance(value, dict) else value
            for key, value in settings.SPEC_DEFAULTS.items()
        }

    # objects and processes
    peer_ports = staticmethod(manifests.peer_ports)
    container = staticmethod(manifests.container)
    check_container = staticmethod(localpod.check_container)
    local_command = staticmethod(localpod.local_command)
    local_ready = staticmethod(localpod.local_ready)
    local_checks = staticmethod(doctor.local_checks)

    # observing
    role = staticmethod(gateway.role)
    answering_ordinal = staticmethod(gateway.answering_ordinal)

    def successor(self, followers: list[str], ordinals: dict[str, int]) -> str:
        # Raft elects whichever follower's randomised timeout fires first: no follower
        # is predictable. Name one deterministically (the highest ordinal).
        return max(followers, key=lambda name: ordinals.get(name, -1))

    def load_worker_class(self) -> type[LoadWorker]:
        from peerchaos.systems.etcd.client import EtcdWorker

        return EtcdWorker

    def canary_write(self, host: str, port: int, timeout_s: float) -> None:
        from peerchaos.systems.etcd.client import canary_write

        canary_write(host, port, timeout_s)

    # ground truth and causes
    parse_logs = staticmethod(logs.parse_logs)
    log_state = staticmethod(logs.log_state)
    leader_serving = staticmethod(logs.serving_as_leader)
    split_log_line = staticmethod(logs.split_line)
    version_from_logs = staticmethod(logs.version_from_logs)
    trial_causes = staticmethod(causes.trial_causes)
    environment = staticmethod(settings.environment)

    # attaching
    attach_container = staticmethod(attach.find_container)
    attach_identity = staticmethod(attach.identity)
    attach_settings = staticmethod(attach.settings)
    attach_findings = staticmethod(attach.findings)
    readiness_kind = staticmethod(attach.readiness_kind)
    seen_spec = staticmethod(attach.seen_spec)
    seen_lines = staticmethod(attach.seen_lines)

    def attach_live(
        self, ip: str | None, pod: str, container: dict[str, Any], found: dict[str, Found]
    ) -> tuple[dict[str, Found], list[str]]:
        # The gateway names no Raft timing; the container's options are what there is.
        return {}, []


SYSTEM = Etcd()
