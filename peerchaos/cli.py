"""The `peerchaos` command: manifests, up, status, fault, down, doctor.

Every failure a person can cause (bad spec, unknown pod, no ensemble up) ends as one
line on stderr and exit code 2 (1 for failures of the system under test), never a
traceback.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from peerchaos import ensemble as ens
from peerchaos import nemesis
from peerchaos.cli_input import Bounded, Name, OneLineGroup, one_line_errors
from peerchaos.ctk.config import OBSERVER_KEYS
from peerchaos.errors import UsageError
from peerchaos.manifests import render, to_yaml
from peerchaos.runtime.local.ownership import DEFAULT_STATE_DIR
from peerchaos.runtime.local.runtime import LocalRuntime
from peerchaos.spec import load_spec
from peerchaos.systems import DEFAULT_SYSTEM, available, get_system

err = Console(stderr=True, highlight=False, soft_wrap=True)
# Piped into a file or CI log, tables get room for full DNS names instead of ellipses.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)

# A plain string, resolved by the runtime: an empty value (also `PEERCHAOS_STATE_DIR=`)
# is refused there instead of becoming "." on the way in.
STATE_DIR = click.option(
    "--state-dir",
    type=str,
    default=None,
    show_default=str(DEFAULT_STATE_DIR),
    envvar="PEERCHAOS_STATE_DIR",
    help="Where the local runtime keeps its state (one ensemble per dir, made by `up`).",
)


def _observer_option(key: str) -> Bounded:
    """The limits `configuration.observers.<key>` has in an experiment."""
    kind, low, high = OBSERVER_KEYS[key]
    return Bounded(kind, low, high)


@click.group(cls=OneLineGroup)
@click.version_option(package_name="peerchaos")
def main() -> None:
    """Chaos and failover experiments for stateful peers (ZooKeeper) behind Kubernetes Services."""


@main.command()
@click.argument("spec", type=click.Path(path_type=Path), required=False)
@one_line_errors
def manifests(spec: Path | None) -> None:
    """Print the Kubernetes objects for SPEC (default spec when omitted)."""
    click.echo(to_yaml(render(load_spec(spec))), nl=False)


@main.command()
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
    signal.signal(signal.SIGTERM, _terminate)
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


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM takes the same way out as Ctrl-C, so a half-started ensemble is torn down.
    raise KeyboardInterrupt


def _print_log_tails(runtime: LocalRuntime) -> None:
    logs = sorted(runtime.state.logs_dir.glob("*.log")) if runtime.state.logs_dir.exists() else []
    for path in [runtime.state.daemon_log, *logs]:
        if path.exists():
            tail = path.read_text(errors="replace").strip().splitlines()[-3:]
            for line in tail:
                err.print(f"  {path.name}: {line}", markup=False)


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


@main.command()
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


FAULT_ACTIONS = ("kill", "unready", "ready", "pause", "resume", "partition", "heal")


@main.command()
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


@main.command()
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


@main.command()
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
    signal.signal(signal.SIGTERM, _terminate)
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
    _print_summary(summary)
    out.print(f"run dir: {run.path}")


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(
        "metric", "n", "p50", "p95", "max", title=f"{summary['experiment']} {summary['run_id']}"
    )
    for name, dist in summary["metrics"].items():
        fmt = [
            # A statistic that landed on a censored trial is a lower bound, not a value.
            f"> {dist[f'{stat}_at_least']:.3f}"
            if dist.get(f"{stat}_censored")
            else f"{dist[stat]:.3f}"
            if isinstance(dist.get(stat), float)
            else "—"
            for stat in ("p50", "p95", "max")
        ]
        censored = f" ({dist['n_censored']} censored)" if dist.get("n_censored") else ""
        table.add_row(name, f"{dist['n']}{censored}", *fmt)
    out.print(table)
    checks = summary.get("checks", {})
    out.print(f"ops: {summary.get('ops')}   checks: {checks.get('valid')}")
    for sub in checks.get("details", {}).get("results", {}).values():
        out.print(f"  {sub['name']}: {sub['valid']}")


@main.command(name="measure")
@click.argument("run_dir", type=click.Path(path_type=Path))
@one_line_errors
def measure_cmd(run_dir: Path) -> None:
    """Recompute summary.json of RUN_DIR from its files."""
    from peerchaos.observe import summarize
    from peerchaos.rundir import RunDir
    from peerchaos.runfiles import require_readable

    run = RunDir.existing(run_dir)
    # What summarize reads; summary.json is what it writes, so a torn one is repaired.
    require_readable(
        run,
        reads=("events.jsonl", "history.jsonl", "ground_truth.json", "meta.json"),
        needs=("events.jsonl",),
    )
    _print_summary(summarize(run))
    out.print(f"wrote {run.summary}")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--full", is_flag=True, help="Also check linearizability including reads.")
@one_line_errors
def check(run_dir: Path, full: bool) -> None:
    """Run the checkers on RUN_DIR's history; exit 1 when a check is false."""
    from peerchaos.checker import check_all
    from peerchaos.history import read_jsonl
    from peerchaos.rundir import RunDir
    from peerchaos.runfiles import require_readable

    run = RunDir.existing(run_dir)
    require_readable(run, reads=("history.jsonl",), needs=("history.jsonl",))
    result = check_all(read_jsonl(run.history), full=full)
    data = result.to_dict()
    for sub in data.get("details", {}).get("results", {}).values():
        line = f"{sub['name']}: {sub['valid']}"
        problems = {
            k: v
            for k, v in sub.get("details", {}).items()
            if k in ("reason", "lost", "violations", "key")
        }
        out.print(line + (f"  {json.dumps(problems, default=str)[:300]}" if problems else ""))
    out.print(f"overall: {data['valid']}")
    sys.exit(1 if data["valid"] is False else 0)


@main.command()
@one_line_errors
@click.option(
    "--system",
    "system_name",
    type=click.Choice(available()),
    default=DEFAULT_SYSTEM,
    show_default=True,
    help="The system whose local needs to check.",
)
def doctor(system_name: str) -> None:
    """What this machine needs for the local runtime, and how to install what is missing."""
    from peerchaos.doctor import diagnose, format_checks, ready

    checks = diagnose(system=system_name)
    click.echo(format_checks(checks))
    sys.exit(0 if ready(checks) else 1)


from peerchaos.export_cli import export  # noqa: E402
from peerchaos.jobs_cli import jobs  # noqa: E402 (after `main` exists)
from peerchaos.kube_cli import kube  # noqa: E402
from peerchaos.report.commands import report, trend  # noqa: E402

main.add_command(report)
main.add_command(trend)
main.add_command(kube)
main.add_command(jobs)
main.add_command(export)

if __name__ == "__main__":
    main()
