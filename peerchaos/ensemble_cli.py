"""The ensemble's life cycle on the local runtime: `peerchaos up`, `fault` and `down`.

`up` returns once a write through the client Service was acknowledged (and tears down
what it started when it cannot get there); `fault` injects one fault by hand; `down`
removes everything `up` made, and only that.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import click

from peerchaos import ensemble as ens
from peerchaos import nemesis
from peerchaos.cli_common import STATE_DIR, err, out, terminate
from peerchaos.cli_input import Bounded, one_line_errors
from peerchaos.errors import UsageError
from peerchaos.manifests import render
from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.spec import load_spec


@click.command()
@click.option("--spec", "spec_path", type=click.Path(path_type=Path), help="Ensemble spec (YAML).")
@click.option(
    "--timeout",
    type=Bounded(float, 0, 3600, above=True),
    default=90.0,
    show_default=True,
    help="Seconds to wait for a leader.",
)
@STATE_DIR
@one_line_errors
def up(spec_path: Path | None, timeout: float, state_dir: str | None) -> None:
    """Bring an ensemble up; returns once a write through the client Service succeeded."""
    spec = load_spec(spec_path)
    objects = render(spec)
    runtime = LocalRuntime(state_dir, spec.local)
    runtime.claim()  # a dir that is not ours is refused here, before anything is touched
    if runtime.is_up():
        raise UsageError(
            f"an ensemble is already up in {runtime.state.root} (run `peerchaos down`)"
        )
    started = time.monotonic()
    signal.signal(signal.SIGTERM, terminate)
    with err.status(f"starting {spec.replicas} peers of {spec.name} …") as status:
        try:
            runtime.apply(objects)
            status.update("waiting for a leader …")
            leader = ens.wait_for_leader(runtime, timeout)
            leader_s = time.monotonic() - started
            status.update("writing through the client Service …")
            ens.canary_write(runtime, timeout_s=max(5.0, timeout - leader_s))
        except BaseException:
            _print_log_tails(runtime)
            runtime.teardown()
            raise
    elapsed = time.monotonic() - started
    host, port = runtime.client_service_address()
    mode = runtime.status()["mode"]
    out.print(
        f"{spec.name}: {spec.replicas} peers up ({mode} mode), leader {leader} after "
        f"{leader_s:.2f} s, first write through {spec.client_service.name} {host}:{port} "
        f"acknowledged after {elapsed:.2f} s"
    )
    out.print(f"state dir {runtime.state.root}; DNS {':'.join(map(str, runtime.dns_server()))}")


def _print_log_tails(runtime: LocalRuntime) -> None:
    logs = sorted(runtime.state.logs_dir.glob("*.log")) if runtime.state.logs_dir.exists() else []
    for path in [runtime.state.daemon_log, *logs]:
        if path.exists():
            tail = path.read_text(errors="replace").strip().splitlines()[-3:]
            for line in tail:
                err.print(f"  {path.name}: {line}", markup=False)


FAULT_ACTIONS = ("kill", "unready", "ready", "pause", "resume", "partition", "heal")


@click.command()
@click.argument("action", type=click.Choice(FAULT_ACTIONS))
@click.argument("target", required=False)
@STATE_DIR
@one_line_errors
def fault(action: str, target: str | None, state_dir: str | None) -> None:
    """Inject a fault by hand. TARGET: leader, follower, random or a pod name."""
    runtime = LocalRuntime(state_dir)
    if action == "heal":
        t = runtime.heal()
        out.print(f"healed partitions at {_clock(t)}")
        return
    if target is None:
        raise UsageError(f"fault {action}: needs a TARGET (leader, follower, random or a pod name)")
    pod = ens.pick_target(runtime, target)
    t = nemesis.by_hand(runtime, action, pod)
    out.print(f"{action} {pod} at {_clock(t)}")


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


@click.command()
@STATE_DIR
@one_line_errors
def down(state_dir: str | None) -> None:
    """Stop everything the local runtime started; harmless when nothing is up.

    Only a state dir `up` made is touched; any other is refused and left as it is."""
    started = time.monotonic()
    removed = LocalRuntime(state_dir).teardown()
    took = time.monotonic() - started
    out.print(
        f"down in {took:.2f} s"
        + (f" ({len(removed)} things removed)" if removed else " (nothing was up)")
    )
