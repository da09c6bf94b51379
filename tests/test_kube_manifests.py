"""Every object peerchaos hands to a cluster validates against upstream Kubernetes schemas.

The ensemble (`peerchaos.manifests.render`, for the spec of every experiment and the
default one) and the scheduled job (`peerchaos.jobs`: RBAC, results volume, CronJob,
RayCluster pod templates) are checked with kubernetes-validate in strict mode (unknown
fields are errors), against the newest Kubernetes version it ships. Then what the objects
say: least-privilege RBAC, the CronJob's command (run for real with stand-in `chaos` and
`peerchaos` executables), and one-line errors for every bad input.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from chaoslib import convert_vars
from chaoslib.configuration import load_configuration
from click.testing import CliRunner
from packaging.version import Version

from peerchaos import jobs
from peerchaos.cli import main
from peerchaos.ctk.config import read_config
from peerchaos.errors import SpecError
from peerchaos.manifests import render
from peerchaos.report.commands import trend
from peerchaos.spec import load_spec

from conftest import REPO

VERSION = kubernetes_validate.latest_version()
EXPERIMENTS = sorted((REPO / "experiments").glob("*.yaml"))
NAMESPACE = "chaos-nightly"

# The API calls the Kubernetes runtime makes (group, resource) -> verbs: the Role holds
# exactly these.
RUNTIME_CALLS = {
    ("", "pods"): {"get", "list", "watch", "delete"},
    ("", "pods/log"): {"get"},
    ("", "pods/exec"): {"create", "get"},
    ("", "services"): {"get", "list", "create", "update", "patch", "delete"},
    ("", "endpoints"): {"get", "list", "create", "update", "patch", "delete"},
    ("", "persistentvolumeclaims"): {"list", "delete"},
    ("apps", "statefulsets"): {"get", "list", "create", "update", "patch", "delete"},
    ("policy", "poddisruptionbudgets"): {"get", "list", "create", "update", "patch", "delete"},
    ("networking.k8s.io", "networkpolicies"): {"get", "list", "create", "delete"},
}


def validate(obj: dict[str, Any]) -> None:
    """Strict schema validation; the failure names the object and the field."""
    try:
        kubernetes_validate.validate(obj, VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.path)
        pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {error.message}")


def job_objects(**fields: Any) -> list[dict[str, Any]]:
    return jobs.render(jobs.JobRequest(**{"namespace": NAMESPACE, **fields}))


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [obj for obj in objects if obj["kind"] == kind]
    return found


def experiment_spec(path: Path) -> Any:
    document = yaml.safe_load(path.read_text())
    return read_config(document["configuration"], document.get("title", "")).spec


# -- the validator itself ------------------------------------------------------------


def test_validates_against_a_current_kubernetes() -> None:
    assert Version(VERSION) >= Version("1.33"), VERSION


def test_strict_validation_rejects_unknown_and_mistyped_fields() -> None:
    """Without this, every test below could pass against a validator that accepts anything."""
    statefulset = render(load_spec(None))[0]
    broken = json.loads(json.dumps(statefulset))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)
    mistyped = json.loads(json.dumps(statefulset))
    mistyped["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(mistyped, VERSION, strict=True)


# -- the ensemble ----------------------------------------------------------------------


def test_there_are_experiments_to_check() -> None:
    assert EXPERIMENTS, "no experiments/*.yaml found"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_experiments_ensemble_validates(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # spec paths in experiments are relative to the repository
    objects = render(experiment_spec(path))
    kinds = [obj["kind"] for obj in objects]
    assert kinds[:4] == ["StatefulSet", "Service", "Service", "PodDisruptionBudget"], kinds
    for obj in objects:
        validate(obj)


def test_the_experiments_cover_bootstrap_and_selectorless(monkeypatch: pytest.MonkeyPatch) -> None:
    """The forms the parametrized test must have seen: a quorum-probe bootstrap and a
    selectorless client Service with hand-written Endpoints."""
    monkeypatch.chdir(REPO)
    configs = [read_config(yaml.safe_load(p.read_text())["configuration"]) for p in EXPERIMENTS]
    assert any(config.deploy == "bootstrap" for config in configs)
    rendered = [render(c.spec) for c in configs if c.spec.selectorless.enabled]
    assert rendered, "no experiment uses a selectorless Service"
    for objects in rendered:
        assert "Endpoints" in [obj["kind"] for obj in objects]
        client = [o for o in objects if o["kind"] == "Service" and "clusterIP" not in o["spec"]]
        assert all("selector" not in service["spec"] for service in client)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_object_carries_the_ownership_labels_and_the_deploy_id(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the runtime proves before it patches or deletes anything: both labels on every
    object, on the pods (pod template) and the claims (claim template), the ensemble label
    in every selector, and one deploy id per render."""
    monkeypatch.chdir(REPO)
    spec = experiment_spec(path)
    owner = {"app.kubernetes.io/managed-by": "peerchaos", "peerchaos.io/ensemble": spec.name}
    objects = render(spec, deploy_id="20261126T213844Z-1f2e3d4c")
    for obj in objects:
        meta = obj["metadata"]
        assert owner.items() <= meta["labels"].items(), obj["kind"]
        assert meta["annotations"]["peerchaos.io/deploy-id"] == "20261126T213844Z-1f2e3d4c"
    statefulset = objects[0]
    assert owner.items() <= statefulset["spec"]["template"]["metadata"]["labels"].items()
    for claim in statefulset["spec"]["volumeClaimTemplates"]:
        assert owner.items() <= claim["metadata"]["labels"].items()
    selectors = [o["spec"]["selector"] for o in objects if "selector" in o.get("spec", {})]
    selectors = [s.get("matchLabels", s) for s in selectors]
    assert len(selectors) >= 3  # StatefulSet, PDB and at least the headless Service
    assert all(s["peerchaos.io/ensemble"] == spec.name for s in selectors)
    ids = {render(spec)[0]["metadata"]["annotations"]["peerchaos.io/deploy-id"] for _ in range(3)}
    assert len(ids) == 3


def test_the_default_spec_validates() -> None:
    objects = render(load_spec(None))
    assert len(objects) == 4
    for obj in objects:
        validate(obj)


# -- the scheduled job -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"ray": True, "access_mode": "ReadWriteMany", "storage_class": "nfs-client"},
        {"ray_address": "ray://ray-head.other.svc:10001", "schedule": "@hourly"},
    ],
    ids=["default", "ray", "ray-address"],
)
def test_every_job_object_validates(fields: dict[str, Any]) -> None:
    objects = job_objects(**fields)
    kinds = [obj["kind"] for obj in objects]
    expected = ["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    expected += ["PersistentVolumeClaim"] + (["RayCluster"] if fields.get("ray") else [])
    assert kinds == [*expected, "CronJob"]
    for obj in objects:
        if obj["kind"] == "RayCluster":
            continue  # a CRD: no upstream schema; its pod templates are checked below
        validate(obj)
        cluster_scoped = obj["kind"].startswith("Cluster")
        assert ("namespace" in obj["metadata"]) is not cluster_scoped, obj["kind"]
        if not cluster_scoped:
            assert obj["metadata"]["namespace"] == NAMESPACE


def test_role_holds_exactly_the_runtimes_calls() -> None:
    role = only(job_objects(), "Role")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no resourceNames etc.
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert "*" not in (group, resource, *rule["verbs"]), rule
                assert (group, resource) in RUNTIME_CALLS, (group, resource)
                assert set(rule["verbs"]) <= RUNTIME_CALLS[(group, resource)], rule
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == RUNTIME_CALLS


def test_cluster_role_reads_only_its_own_namespace() -> None:
    objects = job_objects()
    (rule,) = only(objects, "ClusterRole")["rules"]
    assert rule == {
        "apiGroups": [""],
        "resources": ["namespaces"],
        "resourceNames": [NAMESPACE],
        "verbs": ["get"],
    }
    account = only(objects, "ServiceAccount")["metadata"]["name"]
    for kind, role_kind in (("RoleBinding", "Role"), ("ClusterRoleBinding", "ClusterRole")):
        binding = only(objects, kind)
        assert binding["roleRef"]["kind"] == role_kind
        assert binding["roleRef"]["name"] == only(objects, role_kind)["metadata"]["name"]
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
        ]
    # Cluster-scoped names are shared: two namespaces' jobs must not overwrite each other.
    other = only(jobs.render(jobs.JobRequest(namespace="other")), "ClusterRole")
    assert other["metadata"]["name"] != only(objects, "ClusterRole")["metadata"]["name"]


def test_every_rbac_rule_says_why() -> None:
    lines = (REPO / "workloads/kubernetes/rbac.yaml.j2").read_text().splitlines()
    rules = [i for i, line in enumerate(lines) if line.strip().startswith("- apiGroups:")]
    assert len(rules) == len(RUNTIME_CALLS) + 1  # the Role's and the ClusterRole's
    for i in rules:
        assert lines[i - 1].strip().startswith("#"), f"no comment above line {i + 1}"


def test_results_volume() -> None:
    pvc = only(job_objects(), "PersistentVolumeClaim")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == jobs.DEFAULT_RESULTS_SIZE
    assert "storageClassName" not in pvc["spec"]  # the cluster's default class
    pvc = only(
        job_objects(results_size="20Gi", storage_class="fast.ssd", access_mode="ReadWriteMany"),
        "PersistentVolumeClaim",
    )
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc["spec"]["storageClassName"] == "fast.ssd"


def test_cronjob_settings() -> None:
    objects = job_objects(schedule="30 2 * * mon-fri", image="registry.local:5000/pc/runner:v1")
    cronjob = only(objects, "CronJob")
    assert cronjob["metadata"]["name"] == "peerchaos-zk-leader-kill"
    assert cronjob["spec"]["schedule"] == "30 2 * * mon-fri"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"]["successfulJobsHistoryLimit"] >= 1
    assert cronjob["spec"]["failedJobsHistoryLimit"] >= 1
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0  # a failed run is a finding, not retried
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == only(objects, "ServiceAccount")["metadata"]["name"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == "registry.local:5000/pc/runner:v1"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    claims = {
        v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in pod["volumes"]
    }
    (results,) = [name for name, path in mounts.items() if path == "/results"]
    assert claims[results] == only(objects, "PersistentVolumeClaim")["metadata"]["name"]
    assert jobs.check_schedule("@daily") == "@daily"
    assert only(job_objects(), "CronJob")["spec"]["schedule"] == "0 3 * * *"  # nightly


def container_command(cronjob: dict[str, Any]) -> list[str]:
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return container["command"]


def test_cronjob_runs_the_experiment_then_the_trend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # read_config below resolves the experiment's spec path
    command = container_command(only(job_objects(), "CronJob"))
    assert command[:2] == ["sh", "-c"] and command[3] == "sh"  # $0, then "$@"
    script, args = command[2], command[4:]
    assert 'chaos --no-log-file run --journal-path /tmp/journal.json "$@"' in script
    assert "peerchaos trend /results/zk-leader-kill" in script
    assert args[-1] == "experiments/zk-leader-kill.yaml" and (REPO / args[-1]).exists()
    assert args[:-1:2] == ["--var"] * (len(args) // 2)
    variables = convert_vars(args[1:-1:2])  # as Chaos Toolkit reads them
    assert variables["runtime"] == "kubernetes"
    assert variables["results_dir"] == "/results"
    assert "ray_address" not in variables  # Ray starts inside the pod
    assert variables["namespace"] == NAMESPACE  # the only namespace the Role covers
    # Chaos Toolkit applies a --var only to a key the experiment's configuration has; what
    # the run reads is what its own loader makes of the file and the variables.
    experiment = yaml.safe_load((REPO / args[-1]).read_text())["configuration"]
    loaded = load_configuration(experiment, dict(variables))
    assert {key: loaded[key] for key in variables} == variables
    config = read_config(loaded)
    assert config.runtime == "kubernetes" and config.delete_pvcs is True
    assert config.spec.namespace == NAMESPACE and config.spec.zookeeper.jvm_dns_cache_s == 1
    # `peerchaos trend` takes the experiment's results dir as its one argument.
    trend_args = script.split("peerchaos trend ", 1)[1].split(" ||")[0].split()
    context = trend.make_context("trend", trend_args)
    assert context.params["experiment_dir"] == Path("/results") / config.name


@pytest.mark.parametrize(("chaos_rc", "trend_rc"), [(1, 0), (0, 1), (0, 0), (1, 1)])
def test_cronjob_script_runs_the_trend_and_keeps_chaoss_status(
    tmp_path: Path, chaos_rc: int, trend_rc: int
) -> None:
    """The container's command, run by sh with stand-ins for `chaos` and `peerchaos`."""
    for name, code in (("chaos", chaos_rc), ("peerchaos", trend_rc)):
        tool = tmp_path / name
        tool.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/{name}.args"\nexit {code}\n')
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    command = container_command(only(job_objects(ray=True), "CronJob"))
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == chaos_rc, done.stderr
    chaos_args = (tmp_path / "chaos.args").read_text().splitlines()
    assert chaos_args[:4] == ["--no-log-file", "run", "--journal-path", "/tmp/journal.json"]
    assert chaos_args[4:] == command[4:]  # JSON and all, unmangled by the shell
    assert "ray_address=ray://peerchaos-ray-head-svc.chaos-nightly.svc:10001" in chaos_args
    trend_args = (tmp_path / "peerchaos.args").read_text().splitlines()
    assert trend_args == ["trend", "/results/zk-leader-kill"]
    assert ("trend exited 1" in done.stderr) is (trend_rc == 1)


def wrap(template: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": name},
        "template": template,
    }


def test_raycluster_pod_templates_and_results_mounts() -> None:
    objects = job_objects(ray=True)
    cluster = only(objects, "RayCluster")
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    assert cluster["metadata"]["namespace"] == NAMESPACE
    head = cluster["spec"]["headGroupSpec"]
    groups = cluster["spec"]["workerGroupSpecs"]
    assert len(groups) == 1 and groups[0]["replicas"] >= 1
    claim = only(objects, "PersistentVolumeClaim")["metadata"]["name"]
    runner = only(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    for role, group in [("head", head), *((g["groupName"], g) for g in groups)]:
        validate(wrap(group["template"], f"ray-{role}"))
        assert "num-cpus" in group["rayStartParams"], role
        pod = group["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == runner["containers"][0]["image"]  # same Ray and Python
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        (results,) = [name for name, path in mounts.items() if path == "/results"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == results]
        assert volume["persistentVolumeClaim"]["claimName"] == claim, role
    assert head["rayStartParams"]["dashboard-host"] == "127.0.0.1"
    # The CronJob joins this cluster through KubeRay's head Service.
    address = f"ray://{cluster['metadata']['name']}-head-svc.{NAMESPACE}.svc:10001"
    assert f"ray_address={address}" in container_command(only(objects, "CronJob"))
    assert "RayCluster" not in [obj["kind"] for obj in job_objects()]


def test_the_images_ray_is_the_rayclusters() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    (pinned,) = re.findall(r"^ARG RAY_VERSION=(\S+)$", dockerfile, re.M)
    assert only(job_objects(ray=True), "RayCluster")["spec"]["rayVersion"] == pinned
    for copied in ("experiments/", "workloads/", "peerchaos/"):
        assert f"COPY {copied}" in dockerfile


# -- bad input ---------------------------------------------------------------------------

BAD_INPUTS = [
    ({"namespace": ""}, "namespace: required"),
    ({"namespace": "Chaos_NS"}, "namespace: must be an RFC 1123 label"),
    ({"namespace": "a" * 64}, "namespace: must be an RFC 1123 label"),
    ({"schedule": "61 3 * * *"}, "schedule: minute field '61': 61 is outside 0-59"),
    ({"schedule": "0 3 * *"}, "schedule: must be five cron fields"),
    ({"schedule": "0 3 * * 7"}, "schedule: day of week field '7': 7 is outside 0-6"),
    ({"schedule": "0 3 * 13 *"}, "schedule: month field '13': 13 is outside 1-12"),
    ({"schedule": "*/0 * * * *"}, "step '0' must be a positive number"),
    ({"schedule": "5-1 * * * *"}, "range 5-1 runs backwards"),
    ({"schedule": "0 3 * * funday"}, "'funday' is not a number or a name"),
    ({"schedule": "@fortnightly"}, "schedule: unknown macro '@fortnightly'"),
    ({"schedule": "TZ=UTC 0 3 * * *"}, "schedule: no time zone prefix"),
    ({"experiment": "zk-nope"}, "experiment: no experiments/zk-nope.yaml"),
    ({"experiment": "../pyproject"}, "experiment: no experiments/../pyproject.yaml"),
    ({"image": "Peerchaos:latest"}, "image: not an image reference"),
    ({"image": "peer chaos"}, "image: not an image reference"),
    ({"results_size": "5GB"}, "results_size: not a Kubernetes quantity"),
    ({"results_size": "5"}, "results_size: must be at least 64Mi"),
    ({"storage_class": "Fast_SSD"}, "storage_class: not a valid StorageClass name"),
    ({"access_mode": "ReadOnlyMany"}, "access_mode: must be ReadWriteOnce or ReadWriteMany"),
    ({"ray_address": "10.0.0.1:10001"}, "ray_address: must be ray://HOST:PORT"),
    ({"ray_address": "ray://head:99999"}, "ray_address: must be ray://HOST:PORT"),
    ({"ray": True, "ray_address": "ray://head:10001"}, "not both"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_is_one_line(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        jobs.render_text(jobs.JobRequest(**{"namespace": NAMESPACE, **fields}))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "schedule", ["0 3 * * *", "*/15 * * * *", "0 3 * * MON-FRI", "30 2 1,15 jan,jul ?", "@weekly"]
)
def test_good_schedules_pass(schedule: str) -> None:
    assert jobs.check_schedule(schedule) == schedule


CLI_FLAGS = {
    "namespace": "--namespace",
    "schedule": "--schedule",
    "experiment": "--experiment",
    "image": "--image",
    "results_size": "--results-size",
    "storage_class": "--storage-class",
    "access_mode": "--access-mode",
    "ray_address": "--ray-address",
}


@pytest.mark.parametrize(("fields", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_cli_bad_input_exits_2_with_one_line(fields: dict[str, Any], message: str) -> None:
    args = ["jobs"] + ([] if "namespace" in fields else ["--namespace", NAMESPACE])
    for key, value in fields.items():
        args += ["--ray"] if key == "ray" else [CLI_FLAGS[key], value]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # nothing half-printed into `kubectl apply`
    (line,) = result.stderr.splitlines()
    assert line.startswith("peerchaos: ") and message in line


def test_cli_without_namespace_exits_2_in_a_real_process() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "peerchaos"), "jobs", "--schedule", "0 3 * *"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "peerchaos: namespace: required (a namespace labelled peerchaos.io/allow=true)"
    ]


def test_cli_prints_what_render_builds() -> None:
    result = CliRunner().invoke(main, ["jobs", "--namespace", NAMESPACE, "--ray"])
    assert result.exit_code == 0, result.output
    printed = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert printed == job_objects(ray=True)
    assert result.stdout.startswith("---\n")
    assert "# The partition fault" in result.stdout  # comments kept: they say why
    # --ray on a ReadWriteOnce volume works on one node only: said on stderr, not stdout.
    assert "ReadWriteMany" in result.stderr
    quiet = CliRunner().invoke(
        main, ["jobs", "--namespace", NAMESPACE, "--ray", "--access-mode", "ReadWriteMany"]
    )
    assert quiet.exit_code == 0 and quiet.stderr == ""


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_every_experiment_takes_the_cluster_variables(path: Path) -> None:
    """`--var runtime=… --var namespace=… --var ray_address=…` reach the run only when the
    file's configuration has those keys (Chaos Toolkit drops a --var for an absent key)."""
    configuration = yaml.safe_load(path.read_text())["configuration"]
    variables = {"runtime": "kubernetes", "namespace": "chaos", "ray_address": "ray://h:10001"}
    loaded = load_configuration(configuration, dict(variables))
    assert {key: loaded.get(key) for key in variables} == variables
