"""Network partitions between pods: iptables rules inside each pod's own namespace.

Each pod drops packets *from* the pods outside its group (as Jepsen's partitioner
does), so both directions are cut and the host — the node, the clients, DNS — still
reaches every pod. The rules live in namespaces the runtime owns, so they vanish with
them; `heal` flushes them. After a pod is recreated with a new IP the rules are written
again for the new address.
"""

from __future__ import annotations

import subprocess

from peerchaos.errors import PeerchaosError, UsageError


def validate_groups(groups: list[list[str]], pods: list[str]) -> list[list[str]]:
    """Groups must name known pods, each at most once; pods not named form one more group."""
    seen: set[str] = set()
    for group in groups:
        for pod in group:
            if pod not in pods:
                raise UsageError(f"partition: unknown pod {pod!r} (pods: {', '.join(pods)})")
            if pod in seen:
                raise UsageError(f"partition: pod {pod!r} is in more than one group")
            seen.add(pod)
    rest = [pod for pod in pods if pod not in seen]
    full = [list(group) for group in groups if group] + ([rest] if rest else [])
    if len(full) < 2:
        raise UsageError("partition: needs at least two groups of pods")
    return full


def blocked_sources(groups: list[list[str]], ips: dict[str, str | None]) -> dict[str, list[str]]:
    """For each pod, the addresses of the pods it must not hear from."""
    result: dict[str, list[str]] = {}
    for group in groups:
        others = [ips[pod] for other in groups if other is not group for pod in other]
        for pod in group:
            result[pod] = sorted(ip for ip in others if ip)
    return result


def ruleset(sources: list[str]) -> str:
    """An iptables-restore input that replaces the filter table of one namespace."""
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f"-A INPUT -s {ip}/32 -j DROP" for ip in sources]
    return "\n".join([*lines, "COMMIT", ""])


def apply_rules(netns: str, sources: list[str]) -> None:
    """Replace the namespace's rules atomically (one iptables-restore)."""
    result = subprocess.run(
        ["ip", "netns", "exec", netns, "iptables-restore"],
        input=ruleset(sources),
        capture_output=True,
        text=True,
        timeout=20,
    )
    if result.returncode != 0:
        raise PeerchaosError(f"partition {netns}: iptables-restore failed: {result.stderr.strip()}")
