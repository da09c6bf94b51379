"""zoo.cfg and JVM command line for one peer, derived from the StatefulSet's container env.

The local runtime reads the same environment the official `zookeeper` image's entrypoint
reads (ZOO_TICK_TIME, ZOO_SERVERS, JVMFLAGS, ...), so both runtimes start the same peer.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

ZOOKEEPER_JARS = Path("/usr/share/java")
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
# zookeeper.jar's manifest lists its dependencies; slf4j-simple gives it a logger at all.
CLASSPATH_JARS = ("zookeeper.jar", "slf4j-simple.jar")


@dataclass(frozen=True)
class PeerConfig:
    """Everything that makes one peer's zoo.cfg."""

    myid: int
    servers: tuple[str, ...]  # "server.N=host:2888:3888" lines, client part stripped
    tick_time_ms: int
    init_limit: int
    sync_limit: int
    client_port: int
    data_dir: Path
    # Loopback mode binds each peer to its own address; netns mode listens on all.
    bind_address: str | None = None
    extra: tuple[str, ...] = ()


def servers_from_env(value: str) -> tuple[str, ...]:
    """`server.1=h:2888:3888;2181 server.2=...` → lines without the `;client` part."""
    return tuple(item.split(";", 1)[0] for item in value.split())


def zoo_cfg(peer: PeerConfig) -> str:
    lines = [
        f"tickTime={peer.tick_time_ms}",
        f"initLimit={peer.init_limit}",
        f"syncLimit={peer.sync_limit}",
        f"dataDir={peer.data_dir}",
        f"clientPort={peer.client_port}",
        "4lw.commands.whitelist=*",
        "admin.enableServer=false",
        *peer.servers,
    ]
    if peer.bind_address:
        lines += [f"clientPortAddress={peer.bind_address}", "quorumListenOnAllIPs=false"]
    else:
        lines.append("quorumListenOnAllIPs=true")
    lines += [line for line in peer.extra if line]
    return "\n".join(lines) + "\n"


def java_command(conf_dir: Path, jvm_flags: str, extra_props: dict[str, str]) -> list[str]:
    """The JVM command for QuorumPeerMain with millisecond-timestamped logging to stderr."""
    classpath = ":".join(str(ZOOKEEPER_JARS / jar) for jar in CLASSPATH_JARS)
    props = {
        "org.slf4j.simpleLogger.showDateTime": "true",
        "org.slf4j.simpleLogger.dateTimeFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
        "org.slf4j.simpleLogger.showThreadName": "true",
        "org.slf4j.simpleLogger.defaultLogLevel": "info",
        "zookeeper.admin.enableServer": "false",
        **extra_props,
    }
    return [
        "java",
        # A small, quick-starting JVM: the peers are many on a 2-core machine.
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xss512k",
        *shlex.split(jvm_flags),
        *(f"-D{key}={value}" for key, value in props.items()),
        "-cp",
        classpath,
        MAIN_CLASS,
        str(conf_dir / "zoo.cfg"),
    ]
