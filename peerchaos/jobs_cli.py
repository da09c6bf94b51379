"""The `peerchaos jobs` command: a scheduled resilience job as YAML for `kubectl apply -f -`.

It prints the YAML `peerchaos.jobs.render_text` builds and nothing else on stdout, so the
output can be piped straight into kubectl. A bad argument is one line on stderr and exit
code 2, before anything is printed.
"""

from __future__ import annotations

import click

from peerchaos import jobs as scheduled
from peerchaos.report.commands import one_line_errors


@click.command()
@click.option(
    "--namespace",
    help="Namespace for the job, its RBAC and the ensemble; it must carry the label "
    "peerchaos.io/allow=true.  [required]",
)
@click.option(
    "--experiment",
    default=scheduled.DEFAULT_EXPERIMENT,
    show_default=True,
    help="One of experiments/*.yaml, by name or path.",
)
@click.option(
    "--schedule",
    default=scheduled.DEFAULT_SCHEDULE,
    show_default=True,
    help="Cron schedule (five fields or @daily, ...), in the controller manager's time zone.",
)
@click.option(
    "--image",
    default=scheduled.DEFAULT_IMAGE,
    show_default=True,
    help="Runner image built from the repository's Dockerfile (also used by --ray).",
)
@click.option("--ray", is_flag=True, help="Add a KubeRay RayCluster and run the observers in it.")
@click.option("--ray-address", help="Join this Ray cluster instead (ray://HOST:PORT).")
@click.option(
    "--storage-class", help="StorageClass of the results volume [default: the cluster's]."
)
@click.option(
    "--results-size",
    default=scheduled.DEFAULT_RESULTS_SIZE,
    show_default=True,
    help="Size of the results volume.",
)
@click.option(
    "--access-mode",
    default="ReadWriteOnce",
    show_default=True,
    help="Of the results volume; ReadWriteMany when Ray workers on other nodes write to it.",
)
@click.option(
    "--pushgateway",
    metavar="URL",
    help="Push each run's figures to this Prometheus Pushgateway (reachable from the pod); "
    "sets PEERCHAOS_PUSHGATEWAY in the CronJob.",
)
@one_line_errors
def jobs(
    namespace: str | None,
    experiment: str,
    schedule: str,
    image: str,
    ray: bool,
    ray_address: str | None,
    storage_class: str | None,
    results_size: str,
    access_mode: str,
    pushgateway: str | None,
) -> None:
    """Print a CronJob running EXPERIMENT on SCHEDULE, with its RBAC and results volume.

    \b
    peerchaos jobs --namespace chaos | kubectl apply -f -

    Results land on the volume as /results/<experiment>/<run-id>/ and the trend pages
    in /results/<experiment>/.
    """
    request = scheduled.JobRequest(
        namespace=scheduled.check_namespace(namespace),
        experiment=experiment,
        schedule=schedule,
        image=image,
        results_size=results_size,
        storage_class=storage_class,
        access_mode=access_mode,
        ray=ray,
        ray_address=ray_address,
        pushgateway=pushgateway,
    )
    text = scheduled.render_text(request)
    if ray and access_mode == "ReadWriteOnce":
        # Not an error: a one-node cluster (kind, minikube) mounts ReadWriteOnce everywhere.
        click.echo(
            "peerchaos: jobs: with --ray the Ray pods mount the results volume too; on more "
            "than one node that needs --access-mode ReadWriteMany",
            err=True,
        )
    click.echo(text, nl=False)
