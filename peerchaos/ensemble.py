"""The ensemble seen from outside, through any runtime: roles, quorum, DNS, a canary write.

These are the questions a person asks of an ensemble after touching it — who leads, in
which epoch, does a majority follow, what does DNS answer, does a write through the
client Service go through — answered the same way on every runtime, each asked the way
the runtime's system says (`Runtime.system()`, `peerchaos.systems`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.runtime.base import Runtime
from peerchaos.systems import get_system
from peerchaos.systems.base import Role


def roles(runtime: Runtime, timeout_s: float = 0.5) -> dict[str, Role]:
    """Each pod's role as its system answers; pods without an address are `unreachable`."""
    system = get_system(runtime.system())
    return {
        pod: system.role(*address, timeout_s) if address else Role("unreachable")
        for pod, address in runtime.pod_addresses().items()
    }


def current_leader(peer_roles: dict[str, Role]) -> str | None:
    """The one leader, if a majority (itself included) is serving with it, else None.

    A follower may report the old epoch until the first write of the new one (ZooKeeper's
    zxid), so the epoch is read from the leader alone; two leaders at once (a partition)
    give None.
    """
    leaders = [name for name, r in peer_roles.items() if r.mode == "leader"]
    followers = [r for r in peer_roles.values() if r.mode == "follower"]
    if len(leaders) == 1 and 1 + len(followers) > len(peer_roles) // 2:
        return leaders[0]
    if len(peer_roles) == 1:
        name, only = next(iter(peer_roles.items()))
        if only.mode == "standalone":
            return name
    return None


def wait_for_leader(runtime: Runtime, timeout_s: float, exclude: str | None = None) -> str:
    """Block until a leader with a following majority exists (not `exclude`)."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, Role] = {}
    while time.monotonic() < deadline:
        seen = roles(runtime, timeout_s=0.3)
        leader = current_leader(seen)
        if leader is not None and leader != exclude:
            return leader
        time.sleep(0.05)
    last = ", ".join(f"{name} {r.mode}" for name, r in sorted(seen.items()))
    raise PeerchaosError(
        f"ensemble: no leader with a following majority within {timeout_s:g} s (last seen: {last})"
    )


def wait_until_ready(
    runtime: Runtime, timeout_s: float, replicas: int, hold_s: float = 0.5
) -> float:
    """Block until all `replicas` pods are Running and Ready and every peer serves under
    one leader — without a break for `hold_s` (longer than a fast readiness probe's
    period), so a probe that runs next sees the settled ensemble; returns the seconds.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    settled_since: float | None = None
    last = "no pods"
    while time.monotonic() < deadline:
        pods = runtime.pods()
        peer_roles = roles(runtime, timeout_s=0.3)
        ready = len(pods) == replicas and all(p.ready and p.phase == "Running" for p in pods)
        serving = bool(peer_roles) and all(r.serving for r in peer_roles.values())
        now = time.monotonic()
        if ready and serving and current_leader(peer_roles) is not None:
            settled_since = settled_since or now
            if now - settled_since >= hold_s:
                return now - started
        else:
            settled_since = None
        last = ", ".join(
            f"{p.name} {peer_roles[p.name].mode if p.name in peer_roles else '?'}"
            f"{'' if p.ready else ' not-ready'}"
            for p in sorted(pods, key=lambda p: p.ordinal)
        )
        time.sleep(0.05)
    raise PeerchaosError(
        f"ensemble: not every peer serving and ready within {timeout_s:g} s (last seen: {last})"
    )


def canary_write(runtime: Runtime, timeout_s: float = 15.0) -> float:
    """Write a unique value through the client Service; returns the wall time it was acked."""
    system = get_system(runtime.system())
    host, port = runtime.client_service_address()
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt"
    while time.monotonic() < deadline:
        try:
            system.canary_write(host, port, max(0.5, min(5.0, deadline - time.monotonic())))
            return time.time()
        except Exception as error:  # clients raise their own errors and plain timeouts
            last_error = f"{type(error).__name__}: {error}"
            time.sleep(0.1)
    raise PeerchaosError(
        f"client Service {host}:{port}: no acknowledged write within {timeout_s:g} s ({last_error})"
    )


@dataclass(frozen=True)
class DnsAnswer:
    name: str
    rcode: str
    addresses: tuple[str, ...]
    ttl: int | None


def resolve(server: tuple[str, int], name: str, timeout_s: float = 1.0) -> DnsAnswer:
    """Ask the runtime's DNS server for A records of `name`, on the wire."""
    from peerchaos.dnsprobe import query_many

    rcode, addresses, ttl = query_many(server, [name], timeout_s)[name]
    return DnsAnswer(name, rcode, addresses, ttl if addresses else None)


def pick_target(runtime: Runtime, target: str, rng: random.Random | None = None) -> str:
    """A pod name for `leader`, `follower`, `successor`, `random` or a pod name (checked).

    `successor` is the follower that would win the next election, as the system says
    (`System.successor`; ZooKeeper: the follower with the highest ordinal)."""
    names = [pod.name for pod in runtime.pods()]
    if target in names:
        return target
    rng = rng or random.Random()
    if target == "random":
        return rng.choice(names)
    if target in ("leader", "follower", "successor"):
        peer_roles = roles(runtime)
        leader = current_leader(peer_roles)
        if leader is None:
            raise PeerchaosError(f"target {target}: the ensemble has no leader now")
        if target == "leader":
            return leader
        followers = [n for n, r in peer_roles.items() if r.mode == "follower"]
        if not followers:
            raise PeerchaosError(f"target {target}: no peer is following now")
        if target == "successor":
            ordinals = {pod.name: pod.ordinal for pod in runtime.pods()}
            return get_system(runtime.system()).successor(followers, ordinals)
        return rng.choice(sorted(followers))
    raise UsageError(
        f"target {target!r}: expected leader, follower, successor, random or a pod name "
        f"({', '.join(names)})"
    )
