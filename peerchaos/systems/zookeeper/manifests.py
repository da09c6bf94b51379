"""ZooKeeper's part of the rendered objects: its container and its peer ports.

The template (`manifests/container.yaml.j2`, data beside this module) renders to one
mapping, which `peerchaos.manifests` puts into the StatefulSet's pod template.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from peerchaos.systems.base import MARKER
from peerchaos.systems.files import render_container

if TYPE_CHECKING:
    from peerchaos.spec import EnsembleSpec

TEMPLATES = Path(__file__).parent / "manifests"


def peer_ports(spec: EnsembleSpec) -> list[tuple[str, int]]:
    """The quorum port (`server`) and the election port, as the tutorial names them."""
    return [
        ("server", spec.headless_service.server_port),
        ("leader-election", spec.headless_service.leader_election_port),
    ]


def container(spec: EnsembleSpec) -> dict[str, Any]:
    return render_container(
        TEMPLATES,
        spec=spec,
        zk=spec.zookeeper,
        jvm_dns=spec.zookeeper.jvm_dns_security(),
        peer_ports=peer_ports(spec),
        marker=MARKER,
    )
