"""ZooKeeper behind the system seam: `SYSTEM`, the object `peerchaos.systems` hands out.

Each member says in a line which module of this package does the work; kazoo and the
kubernetes client are imported only when a member needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peerchaos.systems.base import Findings, Found, LocalPod, Role, System
from peerchaos.systems.zookeeper import attach, localpod, logs, manifests, settings
from peerchaos.systems.zookeeper.fourletter import answering_server_id, role

if TYPE_CHECKING:
    from peerchaos.doctor import Check
    from peerchaos.load import LoadWorker
    from peerchaos.measure.dnstruth import Truth
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
        from peerchaos.systems.zookeeper.doctor import local_checks

        return local_checks(files)

    # -- observing (fourletter.py, client.py) -------------------------------------------

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

    # -- causes and caches (causes.py, dials.py, settings.py) ------------------------------

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
        from peerchaos.systems.zookeeper.causes import trial_causes

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

    def dns_caches(self, values: dict[str, Any]) -> tuple[float, float]:
        return settings.jvm_caches(values)

    def environment(self, values: dict[str, Any]) -> dict[str, str]:
        return settings.environment(values)

    # -- attaching (attach.py, deployments.py) -------------------------------------------

    def attach_container(self, statefulset: dict[str, Any]) -> dict[str, Any] | None:
        return attach.find_container(statefulset)

    def attach_identity(self, container: dict[str, Any]) -> tuple[str, str | None]:
        return attach.identity(container)

    def attach_settings(
        self, container: dict[str, Any], headless_ports: list[dict[str, Any]]
    ) -> dict[str, Found]:
        from peerchaos.systems.zookeeper.deployments import settings as manifest_settings

        return manifest_settings(container, headless_ports)

    def attach_live(
        self, ip: str | None, pod: str, container: dict[str, Any], found: dict[str, Found]
    ) -> tuple[dict[str, Found], list[str]]:
        return attach.live(ip, pod, container, found)

    def attach_findings(
        self, container: dict[str, Any], found: dict[str, Found], where: str
    ) -> Findings:
        return attach.findings(container, found, where)

    def readiness_kind(self, probe: dict[str, Any] | None) -> str:
        from peerchaos.systems.zookeeper.deployments import readiness_kind

        return readiness_kind(probe)

    def seen_spec(self, values: dict[str, Any]) -> dict[str, Any]:
        return attach.seen_spec(values)

    def seen_lines(self, seen: dict[str, Any], value: Callable[..., str]) -> list[str]:
        return attach.seen_lines(seen, value)


SYSTEM = ZooKeeper()
