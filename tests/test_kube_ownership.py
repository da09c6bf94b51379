"""Cluster ownership: the kubernetes runtime touches only what its ensemble created.

Against the fake API server (the official client on the wire), with other software's
objects of colliding names in an opted-in namespace — another team's StatefulSet `web`
with its pods and claims, Services, Endpoints (`kubernetes` among them), a
PodDisruptionBudget, NetworkPolicies labelled `peerchaos.io/fault=partition` of another
ensemble — every fault, apply, heal, teardown and Endpoints action either leaves them
byte for byte as they were or refuses in one line naming the object and the label it
lacks. (An ensemble beside such objects, and two ensembles in one namespace:
tests/test_kube_neighbours.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peerchaos.manifests import render
from peerchaos.spec import parse_spec

from fake_apiserver import FakeApiServer
from kube_world import (
    MANAGED,
    UNTOUCHED,
    another_teams_web,
    refusal,
    runtime_for,
    the_apiserver_service,
)

WEB = parse_spec(
    {
        "name": "web",
        "namespace": "default",
        "headless_service": {"name": "web-hs"},
        "client_service": {"name": "web-cs"},
        "selectorless": {"enabled": True},
    }
)


@pytest.fixture
def shop() -> Iterator[FakeApiServer]:
    """`default`, opted in, holding another team's `web` and the API server's Service."""
    with FakeApiServer() as server:
        server.cluster.add_namespace("default", {"peerchaos.io/allow": "true"})
        another_teams_web(server.cluster, "default")
        the_apiserver_service(server.cluster)
        yield server


def test_apply_over_another_teams_objects_is_refused_before_anything_is_created(
    shop: FakeApiServer, tmp_path: Path
) -> None:
    before = shop.cluster.dump()
    runtime = runtime_for(shop, tmp_path, WEB)
    assert refusal(runtime.apply, render(WEB)) == (
        f"StatefulSet default/web: lacks the label {MANAGED}; refusing to patch it {UNTOUCHED}"
    )
    assert shop.cluster.changes() == []  # not even the objects whose names were free
    assert shop.cluster.dump() == before
    assert not runtime.is_up()  # their StatefulSet `web` is not this ensemble being up


@pytest.mark.parametrize(
    ("fault", "verb"),
    [
        ("kill", "delete"),
        ("make_unready", "make unready"),
        ("make_ready", "make ready"),
        ("pause", "pause"),
        ("resume", "resume"),
    ],
)
def test_faults_on_another_teams_pods_of_the_ensembles_names_are_refused(
    shop: FakeApiServer, tmp_path: Path, fault: str, verb: str
) -> None:
    before = shop.cluster.dump()
    runtime = runtime_for(shop, tmp_path, WEB)
    for pod in ("web-0", "web-1"):
        assert refusal(getattr(runtime, fault), pod) == (
            f"Pod default/{pod}: lacks the label {MANAGED}; refusing to {verb} it {UNTOUCHED}"
        )
    assert shop.cluster.changes() == []
    assert shop.cluster.dump() == before
    assert all(not state.execs for state in shop.cluster.pods.values())


def test_a_partition_naming_another_teams_pod_is_refused(
    shop: FakeApiServer, tmp_path: Path
) -> None:
    before = shop.cluster.dump()
    runtime = runtime_for(shop, tmp_path, WEB)
    assert refusal(runtime.partition, [["web-1"]]) == (
        f"Pod default/web-1: lacks the label {MANAGED}; refusing to partition it {UNTOUCHED}"
    )
    assert shop.cluster.changes() == [] and shop.cluster.dump() == before


def test_endpoints_actions_take_only_the_ensembles_own_services(
    shop: FakeApiServer, tmp_path: Path
) -> None:
    before = shop.cluster.dump()
    runtime = runtime_for(shop, tmp_path, WEB)
    for action in (runtime.delete_endpoints, runtime.restore_endpoints):
        assert refusal(action, "kubernetes") == (
            "endpoints default/kubernetes: not one of the ensemble's Services "
            "(web-hs, web-cs); refusing to touch it"
        )
    # Their `web-cs` has the ensemble's client Service name, not its labels.
    assert refusal(runtime.delete_endpoints, "web-cs") == (
        f"Service default/web-cs: lacks the label {MANAGED}; refusing to delete the "
        f"Endpoints of it {UNTOUCHED}"
    )
    assert shop.cluster.changes() == [] and shop.cluster.dump() == before
    assert shop.cluster.get("endpoints", "default", "kubernetes") is not None


def test_heal_and_teardown_leave_another_teams_objects_and_say_so(
    shop: FakeApiServer, tmp_path: Path
) -> None:
    before = shop.cluster.dump()
    runtime = runtime_for(shop, tmp_path, WEB, delete_pvcs=True)
    runtime.heal()  # their partition-labelled policies are not this ensemble's
    assert runtime.teardown() == []
    assert runtime.kept == [
        f"{what}: lacks the label {MANAGED}; refusing to delete it {UNTOUCHED}"
        for what in (
            "Endpoints default/web-cs",
            "PodDisruptionBudget default/web-pdb",
            "Service default/web-cs",
            "Service default/web-hs",
            "StatefulSet default/web",
        )
    ]
    assert shop.cluster.changes() == []
    assert shop.cluster.dump() == before
    assert shop.cluster.names("persistentvolumeclaims", "default") == [
        "datadir-web-0",
        "datadir-web-1",
    ]


def test_kube_down_prints_what_it_kept_and_kube_fault_refuses_in_one_line(
    shop: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from peerchaos.cli import main

    spec_file = tmp_path / "web.yaml"
    spec_file.write_text(
        "name: web\nnamespace: default\nheadless_service: {name: web-hs}\n"
        "client_service: {name: web-cs}\n"
    )
    monkeypatch.setenv("KUBECONFIG", shop.kubeconfig(tmp_path / "kubeconfig"))
    monkeypatch.setenv("PEERCHAOS_STATE_DIR", str(tmp_path / "state"))
    before = shop.cluster.dump()
    runner = CliRunner()
    fault = runner.invoke(main, ["kube", "fault", "pause", "web-0", "--spec", str(spec_file)])
    assert fault.exit_code == 2
    assert fault.output.splitlines() == [
        f"peerchaos: Pod default/web-0: lacks the label {MANAGED}; refusing to pause it {UNTOUCHED}"
    ]
    down = runner.invoke(main, ["kube", "down", "--delete-pvcs", "--spec", str(spec_file)])
    assert down.exit_code == 0, down.output
    assert down.stdout == ""
    kept = down.stderr.splitlines()
    assert len(kept) == 4 and all(line.startswith("kept ") for line in kept)
    assert f"kept StatefulSet default/web: lacks the label {MANAGED}" in down.stderr
    assert shop.cluster.changes() == [] and shop.cluster.dump() == before


def test_a_name_taken_between_the_check_and_the_create_is_never_patched(
    shop: FakeApiServer, tmp_path: Path
) -> None:
    """Another client creates `zk-cs` after peerchaos checked the name was free: the
    create answers 409, and peerchaos reads it again and refuses instead of patching."""
    shop.cluster.add_namespace("chaos", {"peerchaos.io/allow": "true"})
    spec = parse_spec({"namespace": "chaos"})
    runtime = runtime_for(shop, tmp_path, spec)

    def meanwhile(res: str, ns: str, body: dict[str, Any]) -> None:
        if res == "services" and body["metadata"]["name"] == "zk-cs":
            shop.cluster.before_create = None
            shop.cluster.create(
                "services", ns, {"metadata": {"name": "zk-cs"}, "spec": {"ports": [{"port": 1}]}}
            )

    shop.cluster.before_create = meanwhile
    assert refusal(runtime.apply, render(spec)) == (
        f"Service chaos/zk-cs: lacks the label {MANAGED}; refusing to patch it {UNTOUCHED}"
    )
    assert "PATCH" not in [r.method for r in shop.cluster.requests]
    assert shop.cluster.get("services", "chaos", "zk-cs")["spec"]["ports"] == [{"port": 1}]
    runtime.teardown()
    assert shop.cluster.names("services", "chaos") == ["zk-cs"]  # theirs, left alone
