"""`peerchaos kube …`: the ensemble in a cluster by hand — up, status, fault, down, and
`attach` (what peerchaos sees in a StatefulSet it did not deploy).

The same spec files as the local runtime; the namespace is the spec's. `--dry` prints
what would be done and changes nothing (it does not contact the cluster at all). Faults
and their heals are remembered in a state dir per namespace and ensemble, so `down` (or
`fault heal`) in another shell undoes what `fault` did.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from peerchaos import ensemble as ens
from peerchaos import nemesis
from peerchaos.cli_input import Bounded
from peerchaos.errors import UsageError
from peerchaos.manifests import render
from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime
from peerchaos.runtime.local.state import DEFAULT_STATE_DIR
from peerchaos.spec import DNS_LABEL, EnsembleSpec, load_spec
from peerchaos.systems import DEFAULT_SYSTEM, get_system

FAULTS = ("kill", "unready", "ready", "pause", "resume", "partition", "heal")


def _cluster_options(command: Any) -> Any:
    command = click.option("--spec", "spec_path", type=click.Path(path_type=Path))(command)
    command = click.option("--kubeconfig", envvar="KUBECONFIG", help="Default: $KUBECONFIG.")(
        command
    )
    return click.option("--context", help="kubeconfig context (default: current).")(command)


def _options(command: Any) -> Any:
    dry = click.option("--dry", is_flag=True, help="Print what would be done; change nothing.")
    return _cluster_options(dry(command))


def _runtime(
    spec: EnsembleSpec, kubeconfig: str | None, context: str | None, dry: bool, **kw: Any
) -> KubernetesRuntime:
    return KubernetesRuntime(
        spec, _state_dir(spec), kubeconfig=kubeconfig, context=context, dry_run=dry, **kw
    )


def _state_dir(spec: EnsembleSpec) -> Path:
    """Beside the local runtime's state dir: what `fault` broke, for `down` to heal."""
    base = Path(os.environ.get("PEERCHAOS_STATE_DIR", DEFAULT_STATE_DIR))
    return base.parent / f"{base.name}-kube-{spec.namespace}-{spec.name}"


def _print_plan(runtime: KubernetesRuntime) -> None:
    for line in runtime.plan:
        click.echo(line)


def _one_line(command: Any) -> Any:
    from peerchaos.cli import one_line_errors

    return one_line_errors(command)


@click.group()
def kube() -> None:
    """The ensemble on a Kubernetes cluster (namespace labelled peerchaos.io/allow=true)."""


@kube.command()
@_options
@click.option(
    "--timeout",
    type=Bounded(float, 0, 3600, above=True),
    default=300.0,
    show_default=True,
    help="Seconds to wait for a leader.",
)
@_one_line
def up(
    spec_path: Path | None, kubeconfig: str | None, context: str | None, dry: bool, timeout: float
) -> None:
    """Apply the ensemble and wait for a leader with a following majority."""
    spec = load_spec(spec_path)
    runtime = _runtime(spec, kubeconfig, context, dry)
    runtime.apply(render(spec))
    if dry:
        _print_plan(runtime)
        return
    leader = ens.wait_for_leader(runtime, timeout)
    click.echo(f"{spec.name}: {spec.replicas} peers in namespace {spec.namespace}, leader {leader}")


@kube.command()
@_cluster_options
@_one_line
def status(spec_path: Path | None, kubeconfig: str | None, context: str | None) -> None:
    """Pods (IP, phase, readiness, peerchaos faults) and endpoints."""
    spec = load_spec(spec_path)
    runtime = _runtime(spec, kubeconfig, context, False)
    for pod in runtime.pods():
        faults = [
            name for name, on in (("paused", pod.paused), ("unready", pod.unready_marker)) if on
        ]
        click.echo(
            f"{pod.name}\t{pod.ip or '-'}\t{pod.phase}\t{'ready' if pod.ready else 'not ready'}"
            + (f"\t{','.join(faults)}" if faults else "")
        )
    for e in runtime.endpoints():
        shown = ", ".join(e.ready) if e.exists else "(Endpoints deleted)"
        click.echo(f"endpoints {e.service}: {shown or '-'}")


@kube.command()
@click.argument("action", type=click.Choice(FAULTS))
@click.argument("target", required=False)
@_options
@click.option(
    "--grace-period",
    type=Bounded(int, 0, 3600),
    default=0,
    show_default=True,
    help="Seconds, for kill.",
)
@_one_line
def fault(
    action: str,
    target: str | None,
    spec_path: Path | None,
    kubeconfig: str | None,
    context: str | None,
    dry: bool,
    grace_period: int,
) -> None:
    """Inject a fault by hand. TARGET: a pod name (or leader, follower, random)."""
    spec = load_spec(spec_path)
    runtime = _runtime(spec, kubeconfig, context, dry, grace_period_s=grace_period)
    runtime.preflight()
    if action == "heal":
        runtime.heal()
        _print_plan(runtime)
        return
    if target is None:
        raise UsageError(f"fault {action}: needs a TARGET (a pod name, leader, follower, random)")
    # A dry run cannot ask the peers who leads; it takes pod names only. A peer's name
    # goes to the fault as it is, which proves the pod is the ensemble's (or says why not).
    pod = target if dry or target in spec.pod_names() else ens.pick_target(runtime, target)
    t = nemesis.by_hand(runtime, action, pod)
    if dry:
        _print_plan(runtime)
        return
    click.echo(f"{action} {spec.namespace}/{pod} at {time.strftime('%H:%M:%S', time.localtime(t))}")


@kube.command()
@_options
@click.option("--delete-pvcs", is_flag=True, help="Also delete the peers' data claims.")
@_one_line
def down(
    spec_path: Path | None,
    kubeconfig: str | None,
    context: str | None,
    dry: bool,
    delete_pvcs: bool,
) -> None:
    """Heal what peerchaos broke and delete the ensemble's objects."""
    spec = load_spec(spec_path)
    runtime = _runtime(spec, kubeconfig, context, dry, delete_pvcs=delete_pvcs)
    removed = runtime.teardown()
    if dry:
        _print_plan(runtime)
        return
    shutil.rmtree(_state_dir(spec), ignore_errors=True)
    for line in removed:
        click.echo(f"deleted {line}")
    for line in runtime.kept:  # objects of the ensemble's names that are not its own
        click.echo(f"kept {line}", file=sys.stderr)
    if not removed and not runtime.kept:
        click.echo("nothing was there", file=sys.stderr)


@kube.command()
@click.option("--statefulset", required=True, help="The StatefulSet to attach to.")
@click.option("--namespace", default="default", show_default=True)
@click.option("--kubeconfig", envvar="KUBECONFIG", help="Default: $KUBECONFIG.")
@click.option("--context", help="kubeconfig context (default: current).")
@click.option("--json", "as_json", is_flag=True, help="The ensemble seen as JSON.")
@_one_line
def attach(
    statefulset: str, namespace: str, kubeconfig: str | None, context: str | None, as_json: bool
) -> None:
    """What peerchaos sees in an existing StatefulSet, and the faults it allows.

    Reads only: the StatefulSet, its Services and PDB, and one running pod (an exec that
    lists the server's PID, its log's last lines, its `conf` answer when reachable)."""
    from peerchaos.runtime.kubernetes.attached import AttachedRuntime

    for option, value in (("--statefulset", statefulset), ("--namespace", namespace)):
        if len(value) > 63 or not DNS_LABEL.match(value):
            raise UsageError(f"{option}: must be a lowercase RFC 1123 label (got {value!r})")
    with tempfile.TemporaryDirectory(prefix="pc-attach-") as state_dir:
        runtime = AttachedRuntime(
            namespace, statefulset, state_dir, kubeconfig=kubeconfig, context=context
        )
        seen = runtime.attach()
    if as_json:
        click.echo(json.dumps(seen.to_dict(), indent=2))
        return
    for line in describe_seen(seen.to_dict()):
        click.echo(line)


def describe_seen(seen: dict[str, Any]) -> list[str]:
    """The ensemble seen, for a person: each value with where it was read."""
    settings = seen["settings"]

    def value(key: str, unit: str = "", default: str = "") -> str:
        found = settings[key]
        shown = default if found["value"] is None else f"{found['value']}{unit}"
        return f"{shown} ({found['source']})"

    where = f"StatefulSet {seen['namespace']}/{seen['statefulset']}"
    system = get_system(seen.get("system", DEFAULT_SYSTEM))
    probe = seen["readiness_probe"]
    command = " ".join(probe["command"] or []) or probe["handler"] or "none"
    client = ", ".join(
        f"{s['name']} {s['cluster_ip']}:{s['port']}" for s in seen["client_services"]
    )
    pdb = seen["pdb"]
    budget = ", ".join(f"{k} {v}" for k, v in (pdb or {}).items() if k != "name")
    lines = [
        f"{where} ({seen['shape']}): {seen['replicas']} peers "
        f"({', '.join(seen['pods'])}), {seen['pod_management_policy']}",
        f"  image {seen['image']} ({system.title} "
        f"{seen['version'] or 'version not in the tag'}), container {seen['container']}",
        f"  headless Service {seen['headless_service']} (publishNotReadyAddresses "
        f"{str(seen['publish_not_ready_addresses']).lower()}); client Service {client or '-'}",
        f"  PodDisruptionBudget {pdb['name']} ({budget})" if pdb else "  PodDisruptionBudget -",
        *system.seen_lines(seen, value),
        f"  readiness probe `{command}` every {probe['period_s']:g} s, timeout "
        f"{probe['timeout_s']:g} s, failure threshold {probe['failure_threshold']} "
        f"(checks the unready marker: {'yes' if probe['checks_marker'] else 'no'})",
        f"  peer logs {value('log_format')}",
        f"  shell {seen['shell']['evidence']}; shareProcessNamespace "
        f"{str(seen['share_process_namespace']).lower()}",
        "faults:",
    ]
    for fault in seen["faults"]["supported"]:
        lines.append(f"  {fault}: yes")
    for fault, reason in seen["faults"]["reasons"].items():
        lines.append(f"  {fault}: no: {reason}")
    if seen["notes"]:
        lines.append("notes:")
        lines += [f"  {note}" for note in seen["notes"]]
    return lines
