"""Pod networking for the local runtime: one network namespace per pod on a node bridge.

Root mode ("netns"): a bridge in the host namespace plays the node; it holds the pod
CIDR's gateway address and the Services' virtual IPs (as kube-proxy's IPVS mode puts
them on a dummy device). Each pod gets a namespace, a veth into the bridge, an address
from the pod CIDR and a route to the service CIDR only — no default route, so a pod can
reach nothing but its peers and the node. Reduced mode ("loopback"): each pod binds its
own 127.0.0.0/8 address; no namespaces, no partitions.

Addresses are allocated round-robin, so a recreated pod gets a new IP, as it does in a
cluster when the pod sandbox is recreated.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from peerchaos.errors import PeerchaosError

NETNS_ETC = Path("/etc/netns")


def run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an iproute2/iptables command; a failure becomes one line naming the command."""
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PeerchaosError(f"{' '.join(cmd)}: {detail[-1] if detail else 'failed'}")
    return result


def host_networks() -> list[tuple[ipaddress.IPv4Network, str]]:
    """Every IPv4 network this host (its current network namespace) already holds: each
    address with its prefix, and each route of every table (the default route aside:
    every network overlaps it, and a more specific route wins over it)."""
    held = []
    for link in json.loads(run(["ip", "-4", "-j", "addr", "show"]).stdout or "[]"):
        for info in link.get("addr_info", []):
            address = f"{info['local']}/{info['prefixlen']}"
            held.append(
                (
                    ipaddress.IPv4Network(address, strict=False),
                    f"address {address} on {link['ifname']}",
                )
            )
    routes = run(["ip", "-4", "-j", "route", "show", "table", "all"]).stdout
    for route in json.loads(routes or "[]"):
        destination = route.get("dst", "default")
        if destination == "default":
            continue
        network = ipaddress.IPv4Network(destination, strict=False)
        where = " ".join(
            f"{word} {route[key]}"
            for word, key in (("dev", "dev"), ("table", "table"))
            if key in route
        )
        kind = f"{route['type']} " if route.get("type", "unicast") != "unicast" else ""
        held.append((network, f"{kind}route {destination} {where}".rstrip()))
    return held


def check_host_overlap(cidrs: dict[str, str]) -> None:
    """Refuse, before anything is created, a pod or service CIDR (netns mode) that overlaps
    an address or route the host already has — another network, another ensemble's bridge."""
    held = host_networks()
    for field_name, cidr in cidrs.items():
        network = ipaddress.IPv4Network(cidr)
        for other, what in held:
            if network.overlaps(other):
                raise PeerchaosError(
                    f"local.{field_name} {cidr}: overlaps the host's {what} "
                    "(choose a free private range)"
                )


def is_root() -> bool:
    return os.geteuid() == 0


def resolve_mode(requested: str) -> str:
    """`auto` means namespaces when root and the tools are there, loopback otherwise."""
    if requested == "auto":
        return "netns" if is_root() and shutil.which("ip") else "loopback"
    if requested == "netns" and not is_root():
        raise PeerchaosError("local.mode netns: network namespaces need root (got a non-root user)")
    return requested


def short_id(state_dir: Path) -> str:
    """A short stable id per state dir, so two ensembles never share device names."""
    return hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:6]


_UID = re.compile(r"^[0-9a-f]{6}$")
# What `ip` accepts and a glob cannot widen: a DNS-label pod name after the prefix.
_DEVICE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def check_uid(uid: str) -> str:
    """A device id is six hex digits; anything else (`*`, `..`) is refused before use."""
    if not isinstance(uid, str) or not _UID.match(uid):
        raise PeerchaosError(f"device id: must be 6 hex digits (got {uid!r})")
    return uid


def check_device(name: str, limit: int) -> str:
    if not _DEVICE.match(name) or len(name) > limit:
        raise PeerchaosError(
            f"device name: must be lowercase letters, digits and '-', at most {limit} "
            f"characters (got {name!r})"
        )
    return name


FIRST_POD_OFFSET = 10


def first_address(cidr: str, ordinal: int) -> str:
    """A pod's address on its first start: `.10 + ordinal`, so hand-written Endpoints
    rendered from the spec name the addresses the pods really start with."""
    return str(ipaddress.IPv4Network(cidr).network_address + FIRST_POD_OFFSET + ordinal)


@dataclass
class AddressPool:
    """Round-robin allocator over a CIDR, skipping reserved and in-use addresses."""

    cidr: str
    first_offset: int = 10
    next_offset: int = 10
    in_use: set[str] = field(default_factory=set)

    def take(self, preferred: str | None = None) -> str:
        net = ipaddress.IPv4Network(self.cidr)
        if preferred and preferred not in self.in_use:
            self.in_use.add(preferred)
            return preferred
        span = net.num_addresses - 2 - self.first_offset
        for _ in range(span):
            if self.next_offset >= net.num_addresses - 1:
                self.next_offset = self.first_offset
            candidate = str(net.network_address + self.next_offset)
            self.next_offset += 1
            if candidate not in self.in_use:
                self.in_use.add(candidate)
                return candidate
        raise PeerchaosError(f"pod CIDR {self.cidr}: no free address left")

    def release(self, address: str) -> None:
        self.in_use.discard(address)


@dataclass
class NodeNetwork:
    """The node side: bridge + gateway + Service VIPs (netns), or loopback addresses."""

    mode: str
    uid: str
    pod_cidr: str
    service_cidr: str

    @property
    def bridge(self) -> str:
        return f"pcbr{self.uid}"

    @property
    def gateway(self) -> str:
        return str(ipaddress.IPv4Network(self.pod_cidr).network_address + 1)

    def service_ip(self, offset: int) -> str:
        return str(ipaddress.IPv4Network(self.service_cidr).network_address + offset)

    def netns_name(self, pod: str) -> str:
        return check_device(f"pc{check_uid(self.uid)}-{pod}", 255)

    def host_end(self, pod: str) -> str:
        # IFNAMSIZ: 15 characters at most for a link name.
        return check_device(f"pv{check_uid(self.uid)}{pod.rsplit('-', 1)[-1]}"[:15], 15)

    @property
    def bridge_mac(self) -> str:
        """A fixed, locally administered MAC for the node bridge, one per ensemble.

        A Linux bridge without one takes the lowest MAC of its ports and changes it when
        that port goes: a killed pod's veth leaving would then move the gateway's, the DNS
        server's and the Services' MAC under every other pod, whose ARP entries go stale
        for seconds (measured: 5 s stalls of DNS lookups and elections after a kill)."""
        digest = hashlib.sha1(f"peerchaos-bridge-{self.uid}".encode()).digest()
        return "02:" + ":".join(f"{b:02x}" for b in digest[:5])

    def setup(self, service_ips: list[str]) -> None:
        if self.mode != "netns":
            return
        prefix = ipaddress.IPv4Network(self.pod_cidr).prefixlen
        run(["ip", "link", "add", self.bridge, "address", self.bridge_mac, "type", "bridge"])
        run(["ip", "addr", "add", f"{self.gateway}/{prefix}", "dev", self.bridge])
        for ip in service_ips:
            run(["ip", "addr", "add", f"{ip}/32", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])

    def add_pod(self, pod: str, ip: str) -> str | None:
        """Create the pod's namespace and veth; returns the namespace name (netns mode)."""
        if self.mode != "netns":
            return None
        ns = self.netns_name(pod)
        # A stale namespace of an earlier incarnation must not survive into this one.
        run(["ip", "netns", "del", ns], check=False)
        run(["ip", "netns", "add", ns])
        host_end = self.host_end(pod)
        run(["ip", "link", "del", host_end], check=False)
        run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns])
        run(["ip", "link", "set", host_end, "master", self.bridge, "up"])
        prefix = ipaddress.IPv4Network(self.pod_cidr).prefixlen
        run(["ip", "-n", ns, "addr", "add", f"{ip}/{prefix}", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run(["ip", "-n", ns, "route", "add", self.service_cidr, "via", self.gateway])
        return ns

    def remove_pod(self, pod: str) -> None:
        if self.mode != "netns":
            return
        ns = self.netns_name(pod)
        run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)

    def write_pod_files(self, pod: str, resolv_conf: str, hosts: str) -> None:
        """/etc/netns/<ns>/ files: `ip netns exec` bind-mounts them over /etc in the pod."""
        if self.mode != "netns":
            return
        folder = NETNS_ETC / self.netns_name(pod)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "resolv.conf").write_text(resolv_conf)
        (folder / "hosts").write_text(hosts)

    def teardown(self, pods: list[str]) -> None:
        if self.mode != "netns":
            return
        for pod in pods:
            self.remove_pod(pod)
        run(["ip", "link", "del", self.bridge], check=False)


def stale_namespaces(uid: str) -> list[str]:
    """Namespaces of this state dir left behind (e.g. the driver was SIGKILLed mid-create)."""
    check_uid(uid)
    result = run(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    return [name for name in names if name.startswith(f"pc{uid}-")]
