"""The node bridge keeps its MAC address when pods come and go.

A Linux bridge without a MAC of its own takes the lowest of its ports' and changes it
when that port leaves; a killed pod's veth leaving then moved the gateway's, the DNS
server's and the Service IPs' MAC under the other pods, whose ARP entries went stale:
DNS lookups and elections stalled 5 s after some kills (seen as `late_to_look` and as
stale addresses with a 1 s JVM cache). The local runtime now gives the bridge a fixed one.
"""

from __future__ import annotations

from pathlib import Path

from peerchaos.runtime.local import network as net
from peerchaos.runtime.local.runtime import LocalRuntime

from conftest import needs_root, needs_zookeeper, settle, wait_until

pytestmark = [needs_zookeeper, needs_root]


def test_killing_pods_never_moves_the_bridges_mac(healthy: LocalRuntime) -> None:
    node = net.NodeNetwork("netns", net.short_id(healthy.state.root), "", "")
    address = Path(f"/sys/class/net/{node.bridge}/address")
    fixed = address.read_text().strip()
    assert fixed == node.bridge_mac
    assert Path(f"/sys/class/net/{node.bridge}/addr_assign_type").read_text().strip() == "3"  # set
    for pod in [p.name for p in healthy.pods()]:
        old_ip = next(p.ip for p in healthy.pods() if p.name == pod)
        healthy.kill(pod)
        wait_until(
            lambda pod=pod, old_ip=old_ip: any(
                p.name == pod and p.ip not in (None, old_ip) for p in healthy.pods()
            ),
            30,
            f"{pod} back with a new IP",
        )
        assert address.read_text().strip() == fixed
        settle(healthy)
