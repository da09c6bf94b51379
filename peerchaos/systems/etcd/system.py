"""etcd behind the system seam: `SYSTEM`, the object `peerchaos.systems` hands out.

Each member says in a line which module of this package does the work; etcd3gw is
imported only when a member needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peerchaos.systems.base import Findings, Found, LocalPod, Role, System
from peerchaos.systems.etcd import attach, gateway, localpod, logs, manifests, settings

if TYPE_CHECKING:
    from peerchaos.doctor import Check
    from peerchaos.load import LoadWorker
    from peerchaos.measure.dnstruth import Truth
    from peerchaos.spec import EnsembleSpec


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

    # -- identity and spec (settings.py) ---------------------------------------------

    def spec_defaults(self) -> dict[str, Any]:
        return {
            key: dict(value) if isinstance(value, dict) else value
            for key, value in settings.SPEC_DEFAULTS.items()
        }

    # -- objects and processes (manifests.py, localpod.py, doctor.py) ------------------

    def peer_ports(self, spec: EnsembleSpec) -> list[tuple[str, int]]:
        return manifests.peer_ports(spec)

    def container(self, spec: EnsembleSpec) -> dict[str, Any]:
        return manifests.container(spec)

    def check_container(self, container: dict[str, Any]) -> None:
        localpod.check_container(container)

    def local_command(self, pod: LocalPod) -> list[str]:
        return localpod.local_command(pod)

    async def local_ready(self, kind: str, host: str, port: int, timeout_s: float) -> bool:
        return await localpod.local_ready(kind, host, port, timeout_s)

    def local_checks(self, files: Path | None = None) -> list[Check]:
        from peerchaos.systems.etcd.doctor import local_checks

        return local_checks(files)

    # -- observing (gateway.py, client.py) ----------------------------------------------

    def role(self, host: str, port: int, timeout_s: float) -> Role:
        return gateway.role(host, port, timeout_s)

    def successor(self, followers: list[str], ordinals: dict[str, int]) -> str:
        # Raft elects whichever follower's randomised timeout fires first: no follower
        # is predictable. Name one deterministically (the highest ordinal).
        return max(followers, key=lambda name: ordinals.get(name, -1))

    def answering_ordinal(self, host: str, port: int, timeout_s: float) -> int | None:
        return gateway.answering_ordinal(host, port, timeout_s)

    def load_worker_class(self) -> type[LoadWorker]:
        from peerchaos.systems.etcd.client import EtcdWorker

        return EtcdWorker

    def canary_write(self, host: str, port: int, timeout_s: float) -> None:
        from peerchaos.systems.etcd.client import canary_write

        canary_write(host, port, timeout_s)

    # -- ground truth (logs.py) ----------------------------------------------------------

    def parse_logs(self, folder: Path) -> list[dict[str, Any]]:
        return logs.parse_logs(folder)

    def log_state(self, event: dict[str, Any]) -> str:
        return logs.log_state(event)

    def leader_serving(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return logs.serving_as_leader(events)

    def split_log_line(self, line: str) -> tuple[float, str] | None:
        return logs.split_line(line)

    def version_from_logs(self, folder: Path) -> str | None:
        return logs.version_from_logs(folder)

    # -- causes (causes.py, settings.py) -------------------------------------------------

    def trial_causes(
        self,
        truth_events: list[dict[str, Any]],
        truth: Truth | None,
        t_fault: float,
        until: float,
        spec: dict[str, Any],
        elected: dict[str, Any],
        victims: list[str],
        replicas: int,
        re_elected: bool,
        runtime_events: list[dict[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        from peerchaos.systems.etcd.causes import trial_causes

        return trial_causes(
            truth_events,
            truth,
            t_fault,
            until,
            spec,
            elected,
            victims,
            replicas,
            re_elected,
            runtime_events,
        )

    def environment(self, values: dict[str, Any]) -> dict[str, str]:
        return settings.environment(values)

    # -- attaching (attach.py) -----------------------------------------------------------

    def attach_container(self, statefulset: dict[str, Any]) -> dict[str, Any] | None:
        return attach.find_container(statefulset)

    def attach_identity(self, container: dict[str, Any]) -> tuple[str, str | None]:
        return attach.identity(container)

    def attach_settings(
        self, container: dict[str, Any], headless_ports: list[dict[str, Any]]
    ) -> dict[str, Found]:
        return attach.settings(container, headless_ports)

    def attach_live(
        self, ip: str | None, pod: str, container: dict[str, Any], found: dict[str, Found]
    ) -> tuple[dict[str, Found], list[str]]:
        # The gateway names no Raft timing; the container's options are what there is.
        return {}, []

    def attach_findings(
        self, container: dict[str, Any], found: dict[str, Found], where: str
    ) -> Findings:
        return attach.findings(container, found, where)

    def readiness_kind(self, probe: dict[str, Any] | None) -> str:
        return attach.readiness_kind(probe)

    def seen_spec(self, values: dict[str, Any]) -> dict[str, Any]:
        return attach.seen_spec(values)

    def seen_lines(self, seen: dict[str, Any], value: Callable[..., str]) -> list[str]:
        return attach.seen_lines(seen, value)


SYSTEM = Etcd()
