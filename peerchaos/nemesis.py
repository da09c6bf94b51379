"""The *faults*: kill, unready, pause, partition — aimed at leader, follower, minority, random.

Each fault ships its heal. A target resolves to pod names at the moment of the fault
(the leader changes); a fault that would take out a majority is refused unless the
experiment allows quorum loss. Trials repeat a fault with a wait for recovery and a
settle period in between, so a run yields a distribution rather than one number.

Back to back (the default), the next fault lands once every peer serves and is ready —
while the peers' DNS caches may still hold a restarted pod's old IP, which is what
users hit. Independent trials (`independent_s`) also wait until that long has passed
since a pod last came back with a new IP. Each injected fault is recorded as a `trial`
marker (its pods, `t_fault`), so one fault on several pods is measured as one trial.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peerchaos import ensemble as ens
from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.progress import status
from peerchaos.runtime.base import Runtime

FAULTS = ("kill", "unready", "pause", "partition", "endpoints")
TARGETS = ("leader", "follower", "successor", "random", "minority")
CAPABILITY = {"kill": "kill", "unready": "unready", "pause": "pause", "partition": "partition"}


def check_target(target: str, pods: list[str], where: str) -> None:
    if target not in TARGETS and target not in pods:
        raise UsageError(
            f"{where}: target must be leader, follower, successor, random, minority or a pod name "
            f"({', '.join(pods)}) (got {target!r})"
        )


def quorum_guard(victims: int, replicas: int, allow_quorum_loss: bool, where: str) -> None:
    """Refuse faults that leave fewer than a majority of peers untouched."""
    left = replicas - victims
    if left <= replicas // 2 and not allow_quorum_loss:
        raise UsageError(
            f"{where}: hitting {victims} of {replicas} peers leaves no majority "
            "(set allow_quorum_loss: true in the configuration to allow it)"
        )


def resolve(runtime: Runtime, target: str, rng: random.Random) -> list[str]:
    """Pod names for a target, now."""
    if target == "minority":
        names = [pod.name for pod in runtime.pods()]
        size = (len(names) - 1) // 2
        if size == 0:
            raise UsageError(f"target minority: {len(names)} peers have no minority to isolate")
        leader = ens.current_leader(ens.roles(runtime))
        # The leader inside the minority is the case worth testing.
        chosen = [leader] if leader else []
        rest = [n for n in names if n not in chosen]
        return chosen + rng.sample(rest, size - len(chosen))
    return [ens.pick_target(runtime, target, rng)]


def inject(runtime: Runtime, fault: str, pods: list[str]) -> float:
    """Inject `fault` into `pods` (a Service name for `endpoints`); returns when it took effect."""
    if fault == "endpoints":
        return runtime.delete_endpoints(pods[0])
    if fault == "partition":
        return runtime.partition([pods])
    action = {"kill": runtime.kill, "unready": runtime.make_unready, "pause": runtime.pause}[fault]
    times = [action(pod) for pod in pods]
    return min(times)


def heal(runtime: Runtime, fault: str, pods: list[str]) -> float | None:
    """Undo `fault`; a kill heals itself (the StatefulSet controller recreates the pod)."""
    if fault == "endpoints":
        return runtime.restore_endpoints(pods[0])
    if fault == "partition":
        return runtime.heal()
    if fault == "unready":
        return max(runtime.make_ready(pod) for pod in pods)
    if fault == "pause":
        return max(runtime.resume(pod) for pod in pods)
    return None


def by_hand(runtime: Runtime, action: str, pod: str) -> float:
    """One fault or heal a person asked for (`peerchaos fault`, `peerchaos kube fault`)."""
    if action == "partition":
        return runtime.partition([[pod]])
    method = {
        "kill": runtime.kill,
        "unready": runtime.make_unready,
        "ready": runtime.make_ready,
        "pause": runtime.pause,
        "resume": runtime.resume,
    }[action]
    return method(pod)


def heal_everything(runtime: Runtime) -> list[str]:
    """The rollback: heal partitions, resume, make ready. Returns what it did."""
    done = []
    caps = runtime.capabilities()
    if caps.supports("partition"):
        runtime.heal()
        done.append("healed partitions")
    for pod in runtime.pods():
        if pod.paused:
            runtime.resume(pod.name)
            done.append(f"resumed {pod.name}")
        if pod.unready_marker:
            runtime.make_ready(pod.name)
            done.append(f"made {pod.name} ready")
    return done


def wait_healthy(runtime: Runtime, timeout_s: float, require_ready: bool = True) -> float:
    """Until a leader has a following majority, every peer serves and (optionally) is ready."""
    started = time.monotonic()
    deadline = started + timeout_s
    last = ""
    while time.monotonic() < deadline:
        pods = runtime.pods()
        roles = ens.roles(runtime, timeout_s=0.3)
        leader = ens.current_leader(roles)
        serving = all(r.serving for r in roles.values())
        ready = all(p.ready for p in pods) or not require_ready
        if leader and serving and ready:
            return time.monotonic() - started
        last = ", ".join(f"{n} {r.mode}" for n, r in sorted(roles.items()))
        time.sleep(0.1)
    raise PeerchaosError(f"ensemble: not healthy within {timeout_s:g} s (last seen: {last})")


@dataclass
class Trial:
    index: int
    fault: str
    pods: list[str]
    t_fault: float
    t_heal: float | None

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()


Record = Callable[[dict[str, Any]], None]


def independent_wait_s(spec: Any) -> float:
    """How long after a pod's IP change a fault waits to be independent of it: the
    longest of the peers' own DNS caches (answers, failed lookups; `System.dns_caches`)
    and the DNS TTL."""
    from peerchaos.systems import get_system

    system = get_system(spec.system)
    dumped = spec.model_dump()
    positive, negative = system.dns_caches({**dumped, **system.settings(dumped)})
    longest = max(positive, negative, float(spec.dns_ttl_s))
    if longest == float("inf"):
        raise UsageError(
            f"settle independent: {system.dns_cache_setting} is -1 (cache forever), so no "
            "trial can be independent of a pod's old IP"
        )
    return longest + 0.5  # a margin over the caches' own rounding


class AddressWatch:
    """When a pod last came back with a new IP, as seen between trials."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ips = {pod.name: pod.ip for pod in runtime.pods()}
        self.changed_at: float | None = None

    def look(self) -> None:
        now = {pod.name: pod.ip for pod in self.runtime.pods()}
        if any(ip and self.ips.get(name) not in (None, ip) for name, ip in now.items()):
            self.changed_at = time.monotonic()
        self.ips.update({name: ip for name, ip in now.items() if ip})

    def wait_expired(self, cache_s: float) -> float:
        """Sleep until `cache_s` after the last IP change; returns the seconds slept."""
        if self.changed_at is None:
            return 0.0
        left = self.changed_at + cache_s - time.monotonic()
        if left > 0:
            time.sleep(left)
        return max(0.0, left)


def run_trials(
    runtime: Runtime,
    fault: str,
    target: str,
    trials: int,
    duration_s: float,
    settle_s: float,
    allow_quorum_loss: bool,
    recovery_timeout_s: float = 60.0,
    seed: int | None = None,
    record: Record | None = None,
    independent_s: float | None = None,
) -> list[Trial]:
    """Repeat a fault: wait healthy, inject, hold `duration_s`, heal, wait, settle.

    `record` receives each trial's marker as it is injected; `independent_s`, when given,
    is how long after a pod's IP change the next fault waits (the longest DNS cache)."""
    rng = random.Random(seed)
    replicas = len(runtime.pods())
    done: list[Trial] = []
    watch = AddressWatch(runtime) if independent_s is not None else None
    with status(f"{fault} {target}: trial 1/{trials}") as live:
        for index in range(trials):
            live.update(f"{fault} {target}: trial {index + 1}/{trials}")
            done.append(
                _one_trial(
                    runtime,
                    fault,
                    target,
                    index,
                    duration_s,
                    settle_s,
                    allow_quorum_loss,
                    recovery_timeout_s,
                    rng,
                    replicas,
                    record,
                    watch,
                    independent_s or 0.0,
                )
            )
    return done


def _one_trial(
    runtime: Runtime,
    fault: str,
    target: str,
    index: int,
    duration_s: float,
    settle_s: float,
    allow_quorum_loss: bool,
    recovery_timeout_s: float,
    rng: random.Random,
    replicas: int,
    record: Record | None = None,
    watch: AddressWatch | None = None,
    independent_s: float = 0.0,
) -> Trial:
    """Wait healthy (and, independent, for the caches), inject, hold, heal, wait, settle."""
    wait_healthy(runtime, recovery_timeout_s)
    if watch is not None:
        watch.look()
        if watch.wait_expired(independent_s) > 0:
            wait_healthy(runtime, recovery_timeout_s)
    if fault == "endpoints":
        pods = [target]  # the Service whose Endpoints go
    else:
        pods = resolve(runtime, target, rng)
        quorum_guard(len(pods), replicas, allow_quorum_loss, f"{fault} {target}")
    t_fault = inject(runtime, fault, pods)
    if record is not None:
        record({"index": index, "fault": fault, "target": target, "pods": pods, "t_fault": t_fault})
    try:
        if duration_s > 0:
            time.sleep(duration_s)
    finally:
        # Healed whatever ends the hold: Ctrl-C and SIGTERM arrive as exceptions here.
        t_heal = heal(runtime, fault, pods)
    wait_healthy(runtime, recovery_timeout_s)
    time.sleep(settle_s)
    return Trial(index, fault, pods, t_fault, t_heal)
