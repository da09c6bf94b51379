"""At deploy time the local runtime refuses pod and service CIDRs the host already uses.

The "host" here is a network namespace this test creates, holding an address and a route
of its own, so the check reads real `ip -j` output without touching the machine's own
network. Run under the ensemble lock: `up` would start an ensemble if the check let it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import needs_root

pytestmark = [pytest.mark.root, needs_root]

PEERCHAOS = str(Path(sys.executable).parent / "peerchaos")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture()
def host() -> Iterator[str]:
    """A namespace standing for a host with 10.123.4.1/24 on d0 and a route to 172.20/16."""
    name = f"peerchaos-cidr-test-{os.getpid()}"
    ip("netns", "add", name)
    try:
        # A bridge, as the local runtime makes (this kernel may have no dummy driver).
        ip("-n", name, "link", "add", "d0", "type", "bridge")
        ip("-n", name, "addr", "add", "10.123.4.1/24", "dev", "d0")
        ip("-n", name, "link", "set", "d0", "up")
        ip("-n", name, "route", "add", "172.20.0.0/16", "dev", "d0")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)


def in_host(host: str, *command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", host, *command],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


CHECK = """
import sys
from peerchaos.errors import PeerchaosError
from peerchaos.runtime.local.network import check_host_overlap
try:
    check_host_overlap({"pod_cidr": sys.argv[1], "service_cidr": sys.argv[2]})
except PeerchaosError as error:
    print(error)
else:
    print("free")
"""


@pytest.mark.parametrize(
    ("pod", "service", "expected"),
    [
        ("10.244.77.0/24", "10.96.77.0/24", "free"),
        (
            "10.123.4.0/24",
            "10.96.77.0/24",
            "local.pod_cidr 10.123.4.0/24: overlaps the host's address 10.123.4.1/24 on d0 "
            "(choose a free private range)",
        ),
        (
            "10.123.0.0/16",  # holds the host's network rather than sitting inside it
            "10.96.77.0/24",
            "local.pod_cidr 10.123.0.0/16: overlaps the host's address 10.123.4.1/24 on d0",
        ),
        (
            "10.244.77.0/24",
            "172.20.9.0/24",
            "local.service_cidr 172.20.9.0/24: overlaps the host's route 172.20.0.0/16 dev d0",
        ),
    ],
)
def test_the_check_names_the_field_the_cidr_and_what_the_host_has(
    host: str, pod: str, service: str, expected: str
) -> None:
    done = in_host(host, sys.executable, "-c", CHECK, pod, service)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(expected)


def test_up_refuses_before_anything_is_created(host: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "local": {
                    "mode": "netns",
                    "pod_cidr": "10.123.4.0/24",
                    "service_cidr": "10.96.99.0/24",
                }
            }
        )
    )
    state = tmp_path / "state"
    done = in_host(host, PEERCHAOS, "up", "--spec", str(spec), "--state-dir", str(state))
    assert done.returncode == 1, done
    assert done.stderr.splitlines() == [
        "peerchaos: local.pod_cidr 10.123.4.0/24: overlaps the host's address 10.123.4.1/24 "
        "on d0 (choose a free private range)"
    ]
    assert not state.exists()
    links = in_host(host, "ip", "-o", "link", "show").stdout
    assert sorted(line.split(":")[1].strip() for line in links.splitlines()) == ["d0", "lo"]
