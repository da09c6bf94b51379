"""What a ZooKeeper container's manifest says about the server it runs, for attaching.

The deployments people run configure ZooKeeper in three ways, and each value peerchaos
needs is read where that deployment puts it (each with the source it came from):
- the kubernetes.io tutorial: `start-zookeeper --client_port=… --tick_time=…` flags in
  the container command (the script's defaults otherwise: 2181/2888/3888, 2000/10/5);
- the Bitnami chart: `ZOO_PORT_NUMBER`, `ZOO_TICK_TIME`, `ZOO_INIT_LIMIT`,
  `ZOO_SYNC_LIMIT`, `ZOO_4LW_COMMANDS_WHITELIST`, `ZOO_SERVERS` as `host:2888:3888::id`,
  `ZOO_CFG_<key>` (image defaults 2181, 2000/10/5, whitelist `srvr, mntr`);
- the official `zookeeper` image: `ZOO_TICK_TIME`, `ZOO_INIT_LIMIT`, `ZOO_SYNC_LIMIT`,
  `ZOO_4LW_COMMANDS_WHITELIST`, `ZOO_SERVERS` as `server.N=host:2888:3888;2181`,
  `ZOO_CFG_EXTRA` (image defaults 2000/5/2, no whitelist).
A running server's `conf` answer, when peerchaos can reach one, is read too (`parse_conf`).

Two facts of ZooKeeper itself matter: `srvr` is always answered (the server adds it to
any whitelist, since zkServer.sh needs it), and without a whitelist 3.4.10+ answers all
words but wchp/wchc while 3.5.3+ answers `srvr` only. The JVM's DNS caches are security
properties: `-Dsun.net.inetaddr.ttl` sets the answer cache (nothing in java.security
does), but `-Dsun.net.inetaddr.negative.ttl` loses to java.security's 10 s and
`-Dnetworkaddress.cache.*` as system properties are ignored.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from peerchaos.systems.base import MARKER, Found

JVM_OPTION_VARIABLES = ("JVMFLAGS", "SERVER_JVMFLAGS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")
ALL_WORDS = "*"


# Image defaults per deployment shape: what the server runs with when nothing is set.
DEFAULTS = {
    "kubernetes.io tutorial": {"tick_time_ms": 2000, "init_limit": 10, "sync_limit": 5},
    "bitnami": {"tick_time_ms": 2000, "init_limit": 10, "sync_limit": 5},
    "official image": {"tick_time_ms": 2000, "init_limit": 5, "sync_limit": 2},
}
PORT_DEFAULTS = {"client_port": 2181, "server_port": 2888, "election_port": 3888}
PORT_NAMES = {
    "client_port": ("client", "tcp-client", "zookeeper", "zk-client"),
    "server_port": ("server", "follower", "tcp-follower", "quorum", "peer"),
    "election_port": ("leader-election", "election", "tcp-election"),
}
FLAGS = {
    "client_port": "client_port",
    "server_port": "server_port",
    "election_port": "election_port",
    "tick_time_ms": "tick_time",
    "init_limit": "init_limit",
    "sync_limit": "sync_limit",
}
ENV = {
    "tick_time_ms": "ZOO_TICK_TIME",
    "init_limit": "ZOO_INIT_LIMIT",
    "sync_limit": "ZOO_SYNC_LIMIT",
}
CFG_KEYS = {
    "client_port": "clientPort",
    "tick_time_ms": "tickTime",
    "init_limit": "initLimit",
    "sync_limit": "syncLimit",
}


def env_of(container: dict[str, Any]) -> dict[str, str]:
    """The container's literal environment (values from Secrets or fields are not seen)."""
    return {
        item["name"]: str(item["value"])
        for item in container.get("env") or []
        if isinstance(item, dict) and "name" in item and item.get("value") is not None
    }


def command_line(container: dict[str, Any]) -> str:
    return " ".join(
        str(part) for part in (container.get("command") or []) + (container.get("args") or [])
    )


def shape_of(container: dict[str, Any]) -> str:
    """Which of the deployments people use this container is (or "unknown")."""
    image, env, line = str(container.get("image", "")), env_of(container), command_line(container)
    if "start-zookeeper" in line or "kubernetes-zookeeper" in image:
        return "kubernetes.io tutorial"
    if "bitnami" in image or "/opt/bitnami" in line or "ZOO_PORT_NUMBER" in env:
        return "bitnami"
    name = image.rsplit("/", 1)[-1].split("@", 1)[0]
    if name.split(":", 1)[0] == "zookeeper" or "docker-entrypoint.sh" in line:
        return "official image"
    return "unknown"


def looks_like_zookeeper(container: dict[str, Any]) -> bool:
    ports = {p.get("containerPort") for p in container.get("ports") or []}
    return (
        "zookeeper" in str(container.get("image", "")).lower()
        or "zookeeper" in str(container.get("name", "")).lower()
        or any(key.startswith("ZOO_") for key in env_of(container))
        or {2181, 2888, 3888} <= ports
    )


def version_of(image: str) -> tuple[int, ...] | None:
    """The ZooKeeper version in an image tag (`3.9.3-debian-12-r8`, `1.0-3.4.10`: the
    last x.y[.z] in the tag); None for `latest` or a digest."""
    tag = image.rsplit("/", 1)[-1].split("@", 1)[0]
    if ":" not in tag:
        return None
    found = re.findall(r"(?<![\d.])(3\.\d+(?:\.\d+)?)(?![\d.])", tag.split(":", 1)[1])
    return tuple(int(part) for part in found[-1].split(".")) if found else None


def flags_of(line: str) -> dict[str, str]:
    """`--key=value` flags of a command line (as the tutorial's start-zookeeper takes them)."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    return dict(re.findall(r"--([a-z_]+)=(\S+)", " ".join(words)))


def zoo_servers(value: str) -> list[tuple[str, int, int, int | None]]:
    """(host, quorum port, election port, client port) of each `ZOO_SERVERS` entry, in
    the official image's form (`server.1=h:2888:3888[:participant][;2181]`) or
    Bitnami's (`h:2888:3888[:participant]::1`, separated by spaces, commas or `;`)."""
    servers = []
    official = "server." in value
    entries = value.split() if official else re.split(r"[\s,;]+", value)
    for entry in entries:
        text = entry.split("=", 1)[1] if official and "=" in entry else entry
        address, _, client = text.partition(";")
        address = address.split("::", 1)[0]
        match = re.match(r"^([^:\s]+):(\d+):(\d+)", address)
        if match:
            port = re.search(r"(\d+)$", client)
            servers.append(
                (
                    match.group(1),
                    int(match.group(2)),
                    int(match.group(3)),
                    int(port.group(1)) if port else None,
                )
            )
    return servers


def cfg_extra(env: dict[str, str], shape: str) -> dict[str, str]:
    """zoo.cfg lines set through the environment: Bitnami's `ZOO_CFG_<key>` variables and
    the official image's `ZOO_CFG_EXTRA` ("key=value key=value"); both come after the
    other settings in zoo.cfg, so they win."""
    lines = {}
    for name, value in env.items():
        if shape == "bitnami" and name.startswith("ZOO_CFG_") and name != "ZOO_CFG_EXTRA":
            lines[name.removeprefix("ZOO_CFG_").replace("_", ".")] = value
    for item in env.get("ZOO_CFG_EXTRA", "").split():
        key, _, value = item.partition("=")
        lines[key] = value
    return lines


def _integer(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d+", text.strip()) else None


def settings(container: dict[str, Any], service_ports: list[dict[str, Any]]) -> dict[str, Found]:
    """Ports, tickTime and the limits, and the four-letter-word whitelist as the
    container's manifest sets them (`service_ports`: the headless Service's, a last
    hint for the peer ports). A value nothing sets is the shape's default, or missing."""
    env, shape = env_of(container), shape_of(container)
    flags = flags_of(command_line(container)) if shape == "kubernetes.io tutorial" else {}
    extra = cfg_extra(env, shape)
    servers = zoo_servers(env.get("ZOO_SERVERS", ""))
    found: dict[str, Found] = {}

    def put(key: str, value: Any, source: str) -> None:
        if key not in found and value is not None:
            found[key] = Found(value, source)

    for key, cfg in CFG_KEYS.items():
        where = "ZOO_CFG_EXTRA" if f"{cfg}=" in env.get("ZOO_CFG_EXTRA", "") else f"ZOO_CFG_{cfg}"
        put(key, _integer(extra.get(cfg, "")), f"env {where}")
    for key, flag in FLAGS.items():
        put(key, _integer(flags.get(flag, "")), f"--{flag} flag")
    for key, name in ENV.items():
        put(key, _integer(env.get(name, "")), f"env {name}")
    if shape == "bitnami":
        put("client_port", _integer(env.get("ZOO_PORT_NUMBER", "")), "env ZOO_PORT_NUMBER")
    if servers:
        put("server_port", servers[0][1], "env ZOO_SERVERS")
        put("election_port", servers[0][2], "env ZOO_SERVERS")
        put("client_port", servers[0][3], "env ZOO_SERVERS")
    for key, names in PORT_NAMES.items():
        for port in container.get("ports") or []:
            if port.get("name") in names:
                put(key, port.get("containerPort"), f"container port {port['name']}")
        for port in service_ports:
            if port.get("name") in names or port.get("targetPort") in names:
                put(key, port.get("port"), f"headless Service port {port.get('name')}")
    if shape != "unknown":
        for key, value in {**PORT_DEFAULTS, **DEFAULTS.get(shape, {})}.items():
            put(key, value, f"{shape} default")
    whitelist = extra.get("4lw.commands.whitelist", env.get("ZOO_4LW_COMMANDS_WHITELIST"))
    if whitelist is not None:
        name = "ZOO_4LW_COMMANDS_WHITELIST" if "ZOO_4LW_COMMANDS_WHITELIST" in env else "zoo.cfg"
        found["whitelist"] = Found(whitelist, f"env {name}")
    elif shape == "bitnami":
        found["whitelist"] = Found("srvr, mntr", "bitnami default")
    return found


def whitelist_setting(shape: str) -> str:
    """What a person changes to enable another four-letter word in this deployment."""
    if shape in ("bitnami", "official image"):
        return "ZOO_4LW_COMMANDS_WHITELIST"
    return "4lw.commands.whitelist in zoo.cfg"


def enabled_words(whitelist: str | None, version: tuple[int, ...] | None) -> frozenset[str] | str:
    """The four-letter words the server answers: `*` for all, else the set."""
    if whitelist is None:
        if version is not None and version < (3, 5, 3):
            return ALL_WORDS  # 3.4.x: all but wchp/wchc, which peerchaos does not use
        return frozenset({"srvr"})
    words = {word.strip() for word in whitelist.split(",") if word.strip()}
    if ALL_WORDS in words:
        return ALL_WORDS
    return frozenset(words | {"srvr"})  # the server adds srvr whatever the list says


def answers(words: frozenset[str] | str, word: str) -> bool:
    return words == ALL_WORDS or word in words


def tls_only(env: dict[str, str]) -> bool:
    """Bitnami's client TLS: `ZOO_TLS_CLIENT_ENABLE` removes the plain clientPort."""
    return env.get("ZOO_TLS_CLIENT_ENABLE", "").lower() in ("yes", "true", "1")


def jvm_dns(env: dict[str, str]) -> tuple[Found, Found, list[str]]:
    """(answer cache, failed-lookup cache) the server's JVM keeps DNS answers for, in
    seconds (None: the JVM default, 30 s / 10 s; "unknown": set in a file not seen), and
    one line per flag that does not do what it looks like."""
    default = "JVM default: no setting seen"
    positive, negative = Found(None, default), Found(None, default)
    notes: list[str] = []
    ours = env.get("PEERCHAOS_JVM_DNS", "")  # peerchaos's own manifests write this
    source = "env PEERCHAOS_JVM_DNS (a java.security.properties file)"
    for key, value in re.findall(r"networkaddress\.cache\.(ttl|negative\.ttl)=(-?\d+)", ours):
        if key == "ttl":
            positive = Found(int(value), source)
        else:
            negative = Found(int(value), source)
    hidden: str | None = None
    for name in JVM_OPTION_VARIABLES:
        for prop, value in re.findall(r"-D([\w.]+)=(\S+)", env.get(name, "")):
            if prop == "sun.net.inetaddr.ttl" and re.fullmatch(r"-?\d+", value):
                if positive.source != source:  # the security property wins
                    positive = Found(int(value), f"env {name} -Dsun.net.inetaddr.ttl")
            elif prop == "sun.net.inetaddr.negative.ttl":
                notes.append(
                    f"env {name}: -Dsun.net.inetaddr.negative.ttl={value} has no effect "
                    "(java.security sets networkaddress.cache.negative.ttl=10, which wins)"
                )
            elif prop.startswith("networkaddress.cache."):
                notes.append(
                    f"env {name}: -D{prop}={value} has no effect (a security property, "
                    "not a system property: it belongs in a java.security.properties file)"
                )
            elif prop == "java.security.properties" and not ours:
                hidden = f"env {name} -Djava.security.properties={value} (the file is not seen)"
    if hidden is not None:
        # That file may set either cache, and a security property wins over any flag.
        positive = negative = Found("unknown", hidden)
    return positive, negative, notes


def readiness_kind(probe: dict[str, Any] | None) -> str:
    """What a readiness probe asks the server, as the spec names it: quorum (`srvr`,
    leader or follower) or ruok (the process answers)."""
    text = " ".join(str(part) for part in ((probe or {}).get("exec") or {}).get("command") or [])
    return "quorum" if ("srvr" in text or "Mode" in text) else "ruok"


def checks_marker(probe: dict[str, Any] | None) -> bool:
    """Whether the probe fails while peerchaos's unready marker file exists."""
    command = ((probe or {}).get("exec") or {}).get("command") or []
    return any(MARKER in str(part) for part in command)


def parse_conf(text: str) -> dict[str, Found]:
    """The values peerchaos needs from a running server's `conf` answer."""
    keys = {
        "clientPort": "client_port",
        "quorumPort": "server_port",
        "electionPort": "election_port",
        "tickTime": "tick_time_ms",
        "initLimit": "init_limit",
        "syncLimit": "sync_limit",
    }
    found: dict[str, Found] = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        number = _integer(value.split("|", 1)[0])  # quorumPort=2888|2889 (multi-address)
        if key in keys and number is not None:
            found[keys[key]] = Found(number, f"conf ({key})")
    return found
