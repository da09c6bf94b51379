"""Watching the ensemble `up` started: `peerchaos status` (right now) and `observe` (a run).

`status` shows pods, endpoints and the DNS answers as they are; `observe` runs the Ray
load workers and probes against the ensemble for a while and writes a run dir, with the
faults coming from elsewhere (by hand, or another tool).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from peerchaos import ensemble as ens
from peerchaos.cli_common import STATE_DIR, err, out, terminate
from peerchaos.cli_input import Bounded, Name, one_line_errors
from peerchaos.ctk.config import OBSERVER_KEYS
from peerchaos.rundir_cli import print_summary
from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.systems import get_system


def _observer_option(key: str) -> Bounded:
    """The limits `configuration.observers.<key>` has in an experiment."""
    kind, low, high = OBSERVER_KEYS[key]
    return Bounded(kind, low, high)


def status_data(runtime: LocalRuntime) -> dict[str, Any]:
    raw = runtime.status()
    peer_roles = ens.roles(runtime)
    dns_server = tuple(raw["dns"])
    namespace, headless = raw["namespace"], raw["headless_service"]
    names = [f"{headless}.{namespace}.svc.cluster.local"]
    names += [f"{p['name']}.{names[0]}" for p in raw["pods"]]
    names += [f"{svc}.{namespace}.svc.cluster.local" for svc in raw["cluster_ips"]]
    fields = get_system(runtime.system()).role_fields
    for pod in raw["pods"]:
        peer = peer_roles[pod["name"]]
        pod["mode"] = "paused" if pod["paused"] else peer.mode
        pod["epoch"] = peer.epoch
        pod.update({name: peer.detail.get(name) for name in fields})
    raw["leader"] = ens.current_leader(peer_roles)
    raw["dns_answers"] = [
        {"name": a.name, "rcode": a.rcode, "addresses": list(a.addresses), "ttl": a.ttl}
        for a in (ens.resolve(dns_server, name) for name in names)
    ]
    return raw


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@STATE_DIR
@one_line_errors
def status(as_json: bool, state_dir: str | None) -> None:
    """Pods, endpoints and what DNS answers, right now."""
    data = status_data(LocalRuntime(state_dir))
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    pods = Table("pod", "ip", "phase", "ready", "mode", "epoch", "restarts", title="pods")
    for p in data["pods"]:
        pods.add_row(
            p["name"],
            p["ip"] or "-",
            p["phase"],
            "yes" if p["ready"] else "no",
            p["mode"],
            str(p["epoch"] if p["epoch"] is not None else "-"),
            str(p["restarts"]),
        )
    out.print(pods)
    endpoints = Table("service", "ready", "not ready", title="endpoints")
    for e in data["endpoints"]:
        ready = ", ".join(e["ready"]) if e["exists"] else "(Endpoints deleted)"
        endpoints.add_row(e["service"], ready or "-", ", ".join(e["not_ready"]) or "-")
    out.print(endpoints)
    answers = Table("name", "rcode", "A", "ttl", title=f"DNS {data['dns'][0]}:{data['dns'][1]}")
    for a in data["dns_answers"]:
        answers.add_row(
            a["name"], a["rcode"], ", ".join(a["addresses"]) or "-", str(a["ttl"] or "-")
        )
    out.print(answers)
    out.print(f"leader: {data['leader'] or 'none'}   mode: {data['mode']}")


@click.command()
@click.option(
    "--duration",
    type=Bounded(float, 0, 86400, above=True),
    required=True,
    help="Seconds to observe.",
)
@click.option(
    "--load", "load_workers", type=_observer_option("load_workers"), default=2, show_default=True
)
@click.option("--dns-probes", type=_observer_option("dns_probes"), default=3, show_default=True)
@click.option("--keys", type=_observer_option("keys"), default=5, show_default=True)
@click.option(
    "--rate",
    type=_observer_option("rate"),
    default=0.0,
    help="Ops/s per process (0: back to back).",
)
@click.option(
    "--concurrency",
    type=_observer_option("concurrency"),
    default=1,
    show_default=True,
    help="Processes per worker.",
)
@click.option("--via", type=click.Choice(["service", "pods"]), default="service")
@click.option(
    "--results", type=click.Path(file_okay=False, path_type=Path), default=Path("results")
)
@click.option("--name", "experiment", type=Name(), default="observe", show_default=True)
@STATE_DIR
@one_line_errors
def observe(
    duration: float,
    load_workers: int,
    dns_probes: int,
    keys: int,
    rate: float,
    concurrency: int,
    via: str,
    results: Path,
    experiment: str,
    state_dir: str | None,
) -> None:
    """Run load and probes against the ensemble `up` started; faults come from elsewhere."""
    from peerchaos.actors import stop_ray
    from peerchaos.load import LoadProfile
    from peerchaos.observe import ObserverConfig, Observers, collect, summarize
    from peerchaos.rundir import RunDir

    runtime = LocalRuntime(state_dir)
    runtime.status()  # fails with one line when nothing is up
    run = RunDir.create(experiment, results)
    config = ObserverConfig(
        load_workers=load_workers,
        dns_probes=dns_probes,
        via=via,
        load=LoadProfile(keys=keys, rate=rate, concurrency=concurrency),
    )
    run.write_json(run.meta, {"experiment": experiment, "runtime": "local", "status": "running"})
    observers = Observers(runtime, run, config)
    since = time.time()
    signal.signal(signal.SIGTERM, terminate)
    status = "completed"
    try:
        with err.status("starting Ray and the observers …") as live:
            observers.start()
            deadline = time.monotonic() + duration
            while (left := deadline - time.monotonic()) > 0:
                live.update(f"observing {run.path} — {left:.0f} s left (inject faults now)")
                time.sleep(min(0.5, left))
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        try:
            if observers.load or observers.probes:
                observers.stop()
        finally:
            stop_ray()
            collect(runtime, run, since)
            run.write_json(
                run.meta, {"experiment": experiment, "runtime": "local", "status": status}
            )
            summary = summarize(run, status)
    print_summary(summary)
    out.print(f"run dir: {run.path}")
