"""Scheduled resilience jobs: the Kubernetes objects that run one experiment on a schedule.

`render_text(JobRequest(...))` turns the templates under `workloads/kubernetes/` into one
YAML stream (`render`: into plain dicts), in apply order: the ServiceAccount and its
least-privilege RBAC, the results PersistentVolumeClaim, optionally a KubeRay RayCluster
for the observers, and a CronJob that runs `chaos run` on the experiment and then
`peerchaos trend` over its runs (and, given a Pushgateway, `peerchaos export --push` of the
run in between). Every input is checked first; a bad one is a
`SpecError` with one line naming it.

The experiment must be one of `experiments/*.yaml`: the runner image ships that
directory, so a file elsewhere on this machine would not exist in the pod.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import yaml

from peerchaos.errors import SpecError
from peerchaos.manifests import WORKLOADS_DIR

EXPERIMENTS_DIR = Path(
    os.environ.get("PEERCHAOS_EXPERIMENTS", Path(__file__).parents[1] / "experiments")
)
DEFAULT_EXPERIMENT = "zk-leader-kill"
DEFAULT_SCHEDULE = "0 3 * * *"  # nightly, 03:00 in the controller manager's time zone
DEFAULT_IMAGE = "peerchaos:latest"  # built from the repository's Dockerfile
DEFAULT_RESULTS_SIZE = "5Gi"
ACCESS_MODES = ("ReadWriteOnce", "ReadWriteMany")
RESULTS_PVC = "peerchaos-results"
RAY_CLUSTER = "peerchaos-ray"
RAY_CLIENT_PORT = 10001
RESULTS_MOUNT = "/results"
# Kubernetes appends an 11-character suffix to a CronJob's name for each Job: 52 at most.
CRONJOB_PREFIX = "peerchaos-"
CRONJOB_NAME_MAX = 52
LABELS = {"app.kubernetes.io/part-of": "peerchaos", "app.kubernetes.io/managed-by": "peerchaos"}

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# The distribution reference grammar: [domain[:port]/]path[:tag][@digest], lowercase path.
_IMAGE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_UNITS.update({f"{p}i": 1024 ** (i + 1) for i, p in enumerate("KMGTPE")})
_RAY_ADDRESS = re.compile(r"^ray://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})$")

# robfig/cron, which the CronJob controller uses: five fields, names for months and days.
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    ("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


@dataclass(frozen=True)
class JobRequest:
    """What `peerchaos jobs` was asked for; `render` checks every field."""

    namespace: str
    experiment: str = DEFAULT_EXPERIMENT
    schedule: str = DEFAULT_SCHEDULE
    image: str = DEFAULT_IMAGE
    results_size: str = DEFAULT_RESULTS_SIZE
    storage_class: str | None = None
    access_mode: str = "ReadWriteOnce"
    ray: bool = False  # also render a RayCluster and join it
    ray_address: str | None = None  # join this Ray cluster (ray://host:port) instead
    ray_workers: int = 1
    deadline_s: int = 3600  # activeDeadlineSeconds of each Job
    pushgateway: str | None = None  # push each run's figures here (PEERCHAOS_PUSHGATEWAY)


@dataclass(frozen=True)
class Experiment:
    """An experiment file as the runner image sees it."""

    path: str  # relative to the image's /app, e.g. experiments/zk-leader-kill.yaml
    name: str  # its results land in /results/<name>/


def check_namespace(namespace: str | None) -> str:
    if not namespace:
        raise SpecError("namespace: required (a namespace labelled peerchaos.io/allow=true)")
    if len(namespace) > 63 or not _LABEL.match(namespace):
        raise SpecError(
            f"namespace: must be an RFC 1123 label (lowercase letters, digits and '-', "
            f"at most 63) (got {namespace!r})"
        )
    return namespace


def check_schedule(schedule: str) -> str:
    """A schedule the CronJob controller accepts: five cron fields or a macro."""
    text = schedule.strip()
    if text.startswith("@"):
        if text not in _CRON_MACROS:
            raise SpecError(f"schedule: unknown macro {text!r} (known: {', '.join(_CRON_MACROS)})")
        return text
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise SpecError(f"schedule: no time zone prefix in a CronJob schedule (got {schedule!r})")
    fields = text.split()
    if len(fields) != 5:
        raise SpecError(
            f"schedule: must be five cron fields (minute hour day-of-month month day-of-week) "
            f"or a macro like @daily (got {schedule!r})"
        )
    for value, (what, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in value.split(","):
            problem = _cron_item_problem(item.lower(), low, high, names)
            if problem:
                raise SpecError(f"schedule: {what} field {value!r}: {problem} (got {schedule!r})")
    return " ".join(fields)


def _cron_item_problem(item: str, low: int, high: int, names: Sequence[str]) -> str | None:
    """What is wrong with one comma-separated item of a cron field, or None."""
    span, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        return f"step {step!r} must be a positive number"
    if span in ("*", "?"):
        return None
    bounds = span.split("-")
    if len(bounds) > 2 or not all(bounds):
        return f"{item!r} is not a number, a range or *"
    values = []
    for bound in bounds:
        if bound in names:
            values.append(names.index(bound) + low)
        elif bound.isdigit():
            values.append(int(bound))
        else:
            return f"{bound!r} is not a number{' or a name' if names else ''}"
        if not low <= values[-1] <= high:
            return f"{bound} is outside {low}-{high}"
    if len(values) == 2 and values[0] > values[1]:
        return f"range {span} runs backwards"
    return None


def check_image(image: str) -> str:
    if not _IMAGE.match(image):
        raise SpecError(
            f"image: not an image reference ([registry/]name[:tag][@digest], "
            f"lowercase name) (got {image!r})"
        )
    return image


def check_results_size(size: str) -> str:
    match = _QUANTITY.match(size)
    if not match:
        raise SpecError(f"results_size: not a Kubernetes quantity like 5Gi (got {size!r})")
    size_bytes = Decimal(match[1]) * _UNITS[match[2] or ""]
    if size_bytes < 64 * 1024**2:
        raise SpecError(f"results_size: must be at least 64Mi (got {size!r}; no unit means bytes)")
    return size


def check_storage_class(name: str | None) -> str | None:
    if name is not None and (len(name) > 253 or not _SUBDOMAIN.match(name)):
        raise SpecError(f"storage_class: not a valid StorageClass name (got {name!r})")
    return name or None


def check_access_mode(mode: str) -> str:
    if mode not in ACCESS_MODES:
        raise SpecError(f"access_mode: must be {' or '.join(ACCESS_MODES)} (got {mode!r})")
    return mode


def check_ray_address(address: str | None) -> str | None:
    if address is None:
        return None
    match = _RAY_ADDRESS.match(address)
    if not match or not 1 <= int(match[2]) <= 65535:
        raise SpecError(f"ray_address: must be ray://HOST:PORT (got {address!r})")
    return address


def check_pushgateway(url: str | None) -> str | None:
    # Imported here: `peerchaos --help` need not load prometheus_client.
    from peerchaos.export.push import gateway_url_problem

    if not url:
        return None
    problem = gateway_url_problem(url)
    if problem:
        raise SpecError(f"pushgateway: {problem}")
    return url


def ray_cluster_address(namespace: str) -> str:
    """The Ray client address of the RayCluster `render` adds (KubeRay's head Service)."""
    return f"ray://{RAY_CLUSTER}-head-svc.{namespace}.svc:{RAY_CLIENT_PORT}"


def find_experiment(experiment: str) -> Experiment:
    """`zk-leader-kill`, `zk-leader-kill.yaml` or `experiments/zk-leader-kill.yaml`."""
    stem = experiment.removeprefix("experiments/").removesuffix(".yaml")
    known = sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml"))
    if "/" in stem or stem not in known:
        raise SpecError(
            f"experiment: no experiments/{stem}.yaml (the image has {', '.join(known) or 'none'}) "
            f"(got {experiment!r})"
        )
    from peerchaos.ctk.config import slug

    where = f"experiments/{stem}.yaml"
    try:
        document = yaml.safe_load((EXPERIMENTS_DIR / f"{stem}.yaml").read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise SpecError(f"{where}:{line}: not valid YAML") from None
    configuration = document.get("configuration") or {}
    name = slug(str(configuration.get("name") or document.get("title") or stem))
    if len(CRONJOB_PREFIX + name) > CRONJOB_NAME_MAX:
        raise SpecError(
            f"{where}: configuration.name: at most {CRONJOB_NAME_MAX - len(CRONJOB_PREFIX)} "
            f"characters for a CronJob name (got {name!r})"
        )
    return Experiment(where, name)


def chaos_args(request: JobRequest, experiment: Experiment) -> list[str]:
    """The arguments after `chaos --no-log-file run --journal-path ...` in the CronJob."""
    # The ensemble goes into the job's namespace, the only one its Role covers. The
    # experiment's run deletes the peers' data claims at teardown (delete_pvcs defaults to
    # true), so every night starts from empty data dirs and runs stay comparable.
    args = ["--var", "runtime=kubernetes", "--var", f"results_dir={RESULTS_MOUNT}"]
    args += ["--var", f"namespace={request.namespace}"]
    address = request.ray_address
    if request.ray:
        address = ray_cluster_address(request.namespace)
    if address:
        args += ["--var", f"ray_address={address}"]
    return [*args, experiment.path]


def render_text(request: JobRequest) -> str:
    """The objects for `request` as one YAML stream, template comments kept (they say
    why each permission and setting is there), in the order `kubectl apply` creates them."""
    namespace = check_namespace(request.namespace)
    experiment = find_experiment(request.experiment)
    check_ray_address(request.ray_address)
    if request.ray and request.ray_address:
        raise SpecError("ray: give --ray (a new RayCluster) or --ray-address, not both")
    if not 1 <= request.ray_workers <= 16:
        raise SpecError(f"ray_workers: must be between 1 and 16 (got {request.ray_workers})")
    if not 60 <= request.deadline_s <= 86400:
        raise SpecError(f"deadline_s: must be between 60 and 86400 (got {request.deadline_s})")
    context: dict[str, Any] = {
        "namespace": namespace,
        "labels": LABELS,
        "image": check_image(request.image),
        "pvc_name": RESULTS_PVC,
        "cluster_role": f"peerchaos-namespace-{namespace}",
        "access_mode": check_access_mode(request.access_mode),
        "storage_class": check_storage_class(request.storage_class),
        "results_size": check_results_size(request.results_size),
        "cronjob_name": CRONJOB_PREFIX + experiment.name,
        "job_labels": {**LABELS, "peerchaos.io/experiment": experiment.name},
        "schedule": check_schedule(request.schedule),
        "deadline_s": request.deadline_s,
        "chaos_args": chaos_args(request, experiment),
        "trend_dir": f"{RESULTS_MOUNT}/{experiment.name}",
        "pushgateway": check_pushgateway(request.pushgateway),
        "name": RAY_CLUSTER,
        "ray_version": importlib.metadata.version("ray"),
        "head_cpu": "1",
        "head_memory": "2Gi",
        "workers": request.ray_workers,
        "worker_cpus": 1,
        "worker_memory": "2Gi",
    }
    names = ["rbac.yaml.j2", "results-pvc.yaml.j2"]
    names += ["raycluster.yaml.j2"] if request.ray else []
    names.append("cronjob.yaml.j2")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WORKLOADS_DIR / "kubernetes"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    documents = [env.get_template(name).render(**context).strip("\n") + "\n" for name in names]
    return "".join(f"---\n{document}" for document in documents)


def render(request: JobRequest) -> list[dict[str, Any]]:
    """The objects of `render_text(request)` as plain dicts, in apply order."""
    return [doc for doc in yaml.safe_load_all(render_text(request)) if doc]
