"""ZooKeeper's half of attaching: what an existing ZooKeeper container tells about itself.

The generic half (`peerchaos/runtime/kubernetes/attach.py`, `derive.py`) reads the
StatefulSet, its Services and one running pod; this module reads the ZooKeeper settings
from the container (`deployments.py`: the tutorial's flags, Bitnami's and the official
image's ZOO_* settings), a running server's `conf` answer, and what only ZooKeeper has:
the four-letter-word whitelist, the JVM's DNS caches, client TLS. It also turns the seen
values back into spec fields and `peerchaos kube attach` lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peerchaos.systems.base import Findings, Found
from peerchaos.systems.zookeeper import deployments as zk
from peerchaos.systems.zookeeper.fourletter import ask

CONF_TIMEOUT_S = 0.5
# The order settings are recorded and shown in.
SETTING_NAMES = (
    "client_port",
    "server_port",
    "election_port",
    "tick_time_ms",
    "init_limit",
    "sync_limit",
)
# What a value nothing shows is assumed to be (the spec's defaults).
DEFAULTS = {
    "tick_time_ms": 2000,
    "init_limit": 10,
    "sync_limit": 5,
    "client_port": 2181,
    "server_port": 2888,
    "election_port": 3888,
}
HINT = "image, ZOO_* environment or ports 2181/2888/3888"


def find_container(statefulset: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template's ZooKeeper container."""
    containers = statefulset["spec"]["template"]["spec"].get("containers") or []
    return next((c for c in containers if zk.looks_like_zookeeper(c)), None)


def identity(container: dict[str, Any]) -> tuple[str, str | None]:
    """(deployment shape, ZooKeeper version from the image tag)."""
    version = zk.version_of(str(container.get("image", "")))
    return zk.shape_of(container), ".".join(map(str, version)) if version else None


def _words(container: dict[str, Any], found: dict[str, Found]) -> frozenset[str] | str:
    whitelist = found.get("whitelist")
    version = zk.version_of(str(container.get("image", "")))
    return zk.enabled_words(whitelist.value if whitelist else None, version)


def live(
    ip: str | None, pod: str, container: dict[str, Any], settings: dict[str, Found]
) -> tuple[dict[str, Found], list[str]]:
    """A running server's `conf` answer, when it answers `conf` and can be reached."""
    if not (zk.answers(_words(container, settings), "conf") and ip):
        return {}, []
    port = settings["client_port"].value if "client_port" in settings else 2181
    try:
        reply = ask(ip, int(port), "conf", CONF_TIMEOUT_S)
    except OSError as error:
        note = (
            f"conf: pod {pod} at {ip}:{port} did not answer ({error}); the values come "
            "from the manifest"
        )
        return {}, [note]
    return {
        key: Found(found.value, f"{found.source} of pod {pod}")
        for key, found in zk.parse_conf(reply).items()
    }, []


def findings(container: dict[str, Any], found: dict[str, Found], where: str) -> Findings:
    """The JVM's DNS caches and the four-letter words; client TLS forbids attaching."""
    env = zk.env_of(container)
    shape = zk.shape_of(container)
    positive, negative, dns_notes = zk.jvm_dns(env)
    whitelist = found.get("whitelist")
    words = _words(container, found)
    source = whitelist.source if whitelist else "ZooKeeper's default"
    result = Findings(
        settings={
            "jvm_dns_cache_s": positive,
            "jvm_dns_negative_cache_s": negative,
            "four_letter_words": Found(
                words if words == zk.ALL_WORDS else sorted(words),
                source + "; srvr is always answered",
            ),
        },
        notes=list(dns_notes),
    )
    if zk.tls_only(env):
        result.problems.append(
            f"{where}: ZOO_TLS_CLIENT_ENABLE={env['ZOO_TLS_CLIENT_ENABLE']} removes the plain "
            "client port, and peerchaos's role probe asks each peer `srvr` over plain TCP; "
            "set ZOO_TLS_CLIENT_ENABLE=no"
        )
    if not zk.answers(words, "conf"):
        result.notes.append(
            f"the four-letter word conf is not answered ({source}): the probe "
            "connections_to_unready_peers cannot tell which peer answered; add conf to "
            f"{zk.whitelist_setting(shape)}"
        )
    return result


def seen_spec(values: dict[str, Any]) -> dict[str, Any]:
    """The spec fields the seen values give (ports, tickTime, the limits, DNS caches)."""
    dns = (values.get("jvm_dns_cache_s"), values.get("jvm_dns_negative_cache_s"))
    positive, negative = (None if v == "unknown" else v for v in dns)
    if positive is not None and negative is None:
        negative = 10  # java.security's default, which the spec would otherwise tie
    return {
        "zookeeper": {
            "tick_time_ms": values["tick_time_ms"],
            "init_limit": values["init_limit"],
            "sync_limit": values["sync_limit"],
            "jvm_dns_cache_s": positive,
            "jvm_dns_negative_cache_s": negative,
        },
        "headless_service": {
            "server_port": values["server_port"],
            "leader_election_port": values["election_port"],
        },
        "client_service": {"port": values["client_port"]},
    }


def seen_lines(seen: dict[str, Any], value: Callable[..., str]) -> list[str]:
    """`peerchaos kube attach`'s ZooKeeper lines, each value with where it was read."""
    words = seen["settings"]["four_letter_words"]
    return [
        f"  client port {value('client_port')}",
        f"  server port {value('server_port')}, election port {value('election_port')}",
        f"  tickTime {value('tick_time_ms', ' ms')}",
        f"  initLimit {value('init_limit')}, syncLimit {value('sync_limit')}",
        "  four-letter words "
        + ("all" if words["value"] == "*" else ",".join(words["value"]))
        + f" ({words['source']})",
        f"  JVM DNS cache: answers {value('jvm_dns_cache_s', ' s', '30 s')}, failed lookups "
        f"{value('jvm_dns_negative_cache_s', ' s', '10 s')}",
    ]
