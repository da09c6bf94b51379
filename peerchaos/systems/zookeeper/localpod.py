"""A local pod's ZooKeeper: myid, zoo.cfg and the JVM command from the container's env,
and the readiness attempts the local runtime's prober makes (`ruok`, `quorum`).

The env is the one the StatefulSet's container carries (ZOO_SERVERS, ZOO_TICK_TIME,
JVMFLAGS, PEERCHAOS_JVM_DNS, ...), read as the official image's entrypoint reads it.
"""

from __future__ import annotations

from peerchaos.errors import SpecError
from peerchaos.systems.base import LocalPod
from peerchaos.systems.zookeeper.config import PeerConfig, java_command, servers_from_env, zoo_cfg
from peerchaos.systems.zookeeper.fourletter import ask_async, parse_srvr


def check_container(container: dict) -> None:
    """The local runtime needs the peer list to write zoo.cfg."""
    names = {item.get("name") for item in container.get("env") or []}
    if "ZOO_SERVERS" not in names:
        raise SpecError("StatefulSet: container env lacks ZOO_SERVERS (the peer list)")


def local_command(pod: LocalPod) -> list[str]:
    """Write myid and zoo.cfg for this incarnation; return the JVM command line."""
    env = pod.env
    data_dir = pod.pod_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "myid").write_text(f"{pod.ordinal + 1}\n")
    extra = tuple(env.get("ZOO_CFG_EXTRA", "").split())
    peer = PeerConfig(
        myid=pod.ordinal + 1,
        servers=servers_from_env(env["ZOO_SERVERS"]),
        tick_time_ms=int(env.get("ZOO_TICK_TIME", 2000)),
        init_limit=int(env.get("ZOO_INIT_LIMIT", 10)),
        sync_limit=int(env.get("ZOO_SYNC_LIMIT", 5)),
        client_port=pod.client_port,
        data_dir=data_dir,
        bind_address=pod.bind_address,
        # quorumListenOnAllIPs comes from the PeerConfig itself, per network mode.
        extra=tuple(item for item in extra if not item.startswith("quorumListenOnAllIPs")),
    )
    conf_dir = pod.pod_dir / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "zoo.cfg").write_text(zoo_cfg(peer))
    props = {"java.net.preferIPv4Stack": "true", "peerchaos.pod": pod.tag}
    if env.get("PEERCHAOS_JVM_DNS"):
        # As the StatefulSet's command does: the JVM's DNS caches are security properties.
        security = conf_dir / "jvm-dns.security"
        security.write_text("\n".join(env["PEERCHAOS_JVM_DNS"].split()) + "\n")
        props["java.security.properties"] = str(security)
    if pod.hosts_file is not None:
        props["jdk.net.hosts.file"] = str(pod.hosts_file)
    return java_command(conf_dir, env.get("JVMFLAGS", ""), props)


async def local_ready(kind: str, host: str, port: int, timeout_s: float) -> bool:
    """ruok: the server answers `imok`; quorum: `srvr` says leader, follower or standalone."""
    try:
        if kind == "ruok":
            return (await ask_async(host, port, "ruok", timeout_s)).strip() == "imok"
        role = parse_srvr(await ask_async(host, port, "srvr", timeout_s))
        return role.mode in ("leader", "follower", "standalone")
    except (OSError, TimeoutError):
        return False
