"""The system seam (Jepsen's *db*): everything one stateful system tells the rest of peerchaos.

A system (`peerchaos/systems/<name>/`, registered in `peerchaos.systems`) is one object
of a `System` subclass. Nothing outside its folder knows its process, ports, protocol or
log lines; runtimes, nemesis, observers, measure, checkers, report and the Chaos Toolkit
activities ask it through these members only.

Identity and spec
- `name`, `title`: registry name (the spec's `system:`) and how a report names it.
- `settings_model`: the pydantic model of its spec group (`<name>: {...}` in a spec);
  `top_level_keys`: which of its settings an older spec may still write at the top level.
- `spec_defaults() -> dict`: the spec values that depend on the system — `name`, `image`,
  `headless_service` (`name`, `server_port`, `leader_election_port`), `client_service`
  (`name`, `port`), `readiness_probe.kind`. A spec's own values win.
- `readiness_kinds`: what `readiness_probe.kind` may be (the first is the default).
- `check_spec(spec)`: raise ValueError (one line) for a spec it cannot run (e.g. a
  missing peer port).
- `settings(spec: dict) -> dict`: its settings from a spec dump (`meta.json`'s `spec`),
  the group's values or, for a run recorded before the group existed, the top-level keys.

Kubernetes objects and processes
- `peer_ports(spec) -> list[(port name, port)]`: the headless Service's ports.
- `container(spec) -> dict`: the StatefulSet's container (image, ports named as
  `peer_ports` and `client`, env, command, a readiness probe that fails while
  `MARKER` exists, the `datadir` volume mount).
- `container_name`: the container faults exec into and logs are read from.
- `server_process_pattern`: a `grep` pattern (no single quote) that matches the server's
  `/proc/<pid>/cmdline` but not the shell that greps for it (a pause is a SIGSTOP of it).
- `check_container(container: dict) -> None`: raise `SpecError` (one line) when the local
  runtime could not start this container (e.g. its env lacks the peer list).
- `local_command(pod: LocalPod) -> list[str]`: write the pod's config files under
  `pod.pod_dir` and return the command the local runtime spawns for it.
- `async local_ready(kind, host, port, timeout_s) -> bool`: one local readiness attempt of
  that kind (the runtime checks the unready marker first); raises nothing.
- `local_network_modes`: the local runtime's network modes it runs in (a process that
  resolves only through resolv.conf needs `netns`).
- `local_checks(files: Path | None) -> list[doctor.Check]`: what the machine needs to
  run it locally (`peerchaos doctor`); `files` overrides where its jars/binaries live.

Observing
- `role(host, port, timeout_s) -> Role`: one question to a peer at its client port (the
  role probe asks it every 10 ms, `ensemble.roles` and `wait_until_ready` once); never
  raises: `unreachable` on no answer. Modes: `leader`, `follower`, `observer`,
  `standalone` (serving: `SERVING_MODES`), `candidate`, `looking`, `not-serving`,
  `unknown`, `unreachable`; the epoch must grow with every election (a new leader is
  one of a newer epoch than any before the fault).
- `role_fields`: the names of `Role.detail` every role event carries (None when unknown).
- `successor(followers, ordinals) -> str`: the follower that would win the next election.
- `answering_ordinal(host, port, timeout_s) -> int | None`: which pod ordinal answered a
  fresh connection to `host:port` (a client Service), None when nothing said so.
- `load_worker_class() -> type[load.LoadWorker]`: the client for load and the final reads.
- `canary_write(host, port, timeout_s) -> None`: one unique write; raises when not acked.

Ground truth from its logs
- `parse_logs(folder) -> list[event]` from `<pod>.log` files, by time. Event kinds:
  `peer_state` (`state`, `phase`: the system's own words), `election_took` (one peer's
  vote: `role`, `took_ms`; none if the system logs no votes), `process_start`, and any
  kinds its causes read (`dial`, `lost_leader` for ZooKeeper). Each has `t` and `pod`.
- `log_state(peer_state event) -> str`: its lane state — `leader`, `follower` (both
  serve), `syncing` (joining a leader, not serving yet) or `looking` (following no
  leader: ZooKeeper's LOOKING, a Raft candidate); the report draws exactly these.
- `leader_serving(events) -> list[event]`: the moments a leader started serving.
- `split_log_line(line) -> (t, message) | None`: whether a line is in a format it reads.
- `version_from_logs(folder) -> str | None`: the server version its logs name.
- `vote_phrase`: how the report names a vote event ("each peer's own …");
  `looking_word`: its word for a peer following no leader (etcd: candidate).
- `linearizable_reads`: it promises linearizable reads (etcd does, ZooKeeper does not:
  a follower may serve a stale one), so every run checks the reads too.

Causes and caches
- `trial_causes(truth_events, truth, t_fault, until, spec, elected, victims, replicas,
  re_elected, runtime_events) -> list[cause]`: each cause a dict with `kind` and `text`.
  `spec` is the spec dump with `settings()` merged in at the top level.
- `dns_caches(settings) -> (answers_s, failed_lookups_s)`: how long the peers cache DNS
  (inf: forever); `dns_cache_setting` names the setting, `dns_cache_phrase` the cache.
- `environment(settings) -> {"timing": text, "dns_cache": text}`: the report's words.

Attaching to a StatefulSet peerchaos did not deploy (`runtime/kubernetes/attach.py`,
`derive.py`: the generic half; settings are `{name: Found}` and must include
`client_port`)
- `attach_container(statefulset) -> container | None`: its container, if any;
  `attach_hint` says in words what makes a container look like it.
- `attach_identity(container) -> (deployment shape, version | None)`.
- `attach_settings(container, headless_ports) -> {name: Found}`: what the manifest says.
- `attach_live(ip, pod, container, settings) -> ({name: Found}, notes)`: what a running
  server answers about itself (wins over the manifest); ({}, []) when it cannot ask.
- `attach_findings(container, found, where) -> Findings`: the settings only this system
  has (recorded beside the others), notes, and problems that forbid attaching.
- `readiness_kind(probe) -> str`: which of `readiness_kinds` an attached probe asks.
- `attach_setting_names`, `attach_defaults`: the order settings are recorded in, and the
  values assumed (and noted) when nothing showed one.
- `seen_spec(values: {name: value}) -> dict`: spec fields from the seen values (its
  group, the Services' ports); merged into the generic fields of `EnsembleSeen.spec()`.
- `seen_lines(seen: dict, value) -> list[str]`: its lines of `peerchaos kube attach`;
  `value(name, unit="", default="")` shows a setting with its source.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from peerchaos.doctor import Check
    from peerchaos.load import LoadWorker
    from peerchaos.measure.dnstruth import Truth
    from peerchaos.spec import EnsembleSpec
    from peerchaos.strict import Strict

# The file a fault creates to make a peer unready; every readiness probe checks it.
MARKER = "/tmp/peerchaos-unready"
# Modes that serve clients; anything else (candidate, looking, not-serving, unreachable,
# unknown) does not.
SERVING_MODES = frozenset({"leader", "follower", "standalone", "observer"})


@dataclass(frozen=True)
class Role:
    """A peer's answer: mode, epoch (ZooKeeper's zxid epoch, Raft's term), details."""

    mode: str
    epoch: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def serving(self) -> bool:
        return self.mode in SERVING_MODES


@dataclass(frozen=True)
class Found:
    """One value and where it was read (`env ZOO_TICK_TIME`, `--tick_time flag`, …)."""

    value: Any
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source}


@dataclass
class Findings:
    """What an attached container's system-specific settings add to the ensemble seen."""

    settings: dict[str, Found] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LocalPod:
    """One incarnation of a local pod, as the system's process needs it."""

    name: str
    ordinal: int
    env: dict[str, str]  # the container's env, as rendered
    client_port: int
    pod_dir: Path  # kept across incarnations (the PVC): data and config live here
    tag: str  # carried on the command line, so the process is recognisable as this pod's
    # Loopback mode: the pod's own 127.x address to bind to (None: its netns, listen on
    # all) and a hosts file holding the cluster's A records, for a process that cannot
    # be pointed at a DNS server.
    bind_address: str | None = None
    hosts_file: Path | None = None


class System(ABC):
    """One stateful system behind the seam; see the module docstring for each member."""

    name: str
    title: str
    settings_model: type[Strict]
    top_level_keys: tuple[str, ...] = ()
    readiness_kinds: tuple[str, ...]
    container_name: str
    server_process_pattern: str
    role_fields: tuple[str, ...] = ()
    vote_phrase: str = "each peer's own vote"
    # The report's word for a peer following no leader (the `looking` lane state).
    looking_word: str = "looking"
    # Whether it promises linearizable reads: then every run's checks include reads.
    linearizable_reads: bool = False
    dns_cache_setting: str | None = None
    dns_cache_phrase: str = "the peers' DNS cache"
    # The local runtime's network modes it can run in (`local.mode`).
    local_network_modes: tuple[str, ...] = ("netns", "loopback")
    attach_setting_names: tuple[str, ...] = ()
    attach_defaults: dict[str, Any] = {}
    attach_hint: str = ""

    # -- identity and spec ---------------------------------------------------------------

    @abstractmethod
    def spec_defaults(self) -> dict[str, Any]: ...

    def check_spec(self, spec: EnsembleSpec) -> None:
        """Raise ValueError (one line) for a spec this system cannot run."""
        return  # by default, every spec the generic checks accept

    def settings(self, spec: dict[str, Any]) -> dict[str, Any]:
        group = spec.get(self.name)
        if isinstance(group, dict):
            return dict(group)
        return {key: spec[key] for key in self.top_level_keys if key in spec}

    # -- Kubernetes objects and processes ------------------------------------------------

    @abstractmethod
    def peer_ports(self, spec: EnsembleSpec) -> list[tuple[str, int]]: ...

    @abstractmethod
    def container(self, spec: EnsembleSpec) -> dict[str, Any]: ...

    @abstractmethod
    def check_container(self, container: dict[str, Any]) -> None: ...

    @abstractmethod
    def local_command(self, pod: LocalPod) -> list[str]: ...

    @abstractmethod
    async def local_ready(self, kind: str, host: str, port: int, timeout_s: float) -> bool: ...

    @abstractmethod
    def local_checks(self, files: Path | None = None) -> list[Check]: ...

    # -- observing -----------------------------------------------------------------------

    @abstractmethod
    def role(self, host: str, port: int, timeout_s: float) -> Role: ...

    @abstractmethod
    def successor(self, followers: list[str], ordinals: dict[str, int]) -> str: ...

    @abstractmethod
    def answering_ordinal(self, host: str, port: int, timeout_s: float) -> int | None: ...

    @abstractmethod
    def load_worker_class(self) -> type[LoadWorker]: ...

    @abstractmethod
    def canary_write(self, host: str, port: int, timeout_s: float) -> None: ...

    # -- ground truth ------------------------------------------------------------------

    @abstractmethod
    def parse_logs(self, folder: Path) -> list[dict[str, Any]]: ...

    @abstractmethod
    def log_state(self, event: dict[str, Any]) -> str: ...

    @abstractmethod
    def leader_serving(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    @abstractmethod
    def split_log_line(self, line: str) -> tuple[float, str] | None: ...

    @abstractmethod
    def version_from_logs(self, folder: Path) -> str | None: ...

    # -- causes and caches -------------------------------------------------------------

    @abstractmethod
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
    ) -> list[dict[str, Any]]: ...

    def dns_caches(self, settings: dict[str, Any]) -> tuple[float, float]:
        return (0.0, 0.0)

    @abstractmethod
    def environment(self, settings: dict[str, Any]) -> dict[str, str]: ...

    # -- attaching -----------------------------------------------------------------------

    @abstractmethod
    def attach_container(self, statefulset: dict[str, Any]) -> dict[str, Any] | None: ...

    @abstractmethod
    def attach_identity(self, container: dict[str, Any]) -> tuple[str, str | None]: ...

    @abstractmethod
    def attach_settings(
        self, container: dict[str, Any], headless_ports: list[dict[str, Any]]
    ) -> dict[str, Found]: ...

    @abstractmethod
    def attach_live(
        self, ip: str | None, pod: str, container: dict[str, Any], settings: dict[str, Found]
    ) -> tuple[dict[str, Found], list[str]]: ...

    @abstractmethod
    def attach_findings(
        self, container: dict[str, Any], found: dict[str, Found], where: str
    ) -> Findings: ...

    @abstractmethod
    def readiness_kind(self, probe: dict[str, Any] | None) -> str: ...

    @abstractmethod
    def seen_spec(self, values: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def seen_lines(self, seen: dict[str, Any], value: Callable[..., str]) -> list[str]: ...
