"""deploy: attach from the outside: `peerchaos kube attach`, an experiment's session and
its `meta.json`, the real `chaos` command, and a running server's `conf` answer.

Against the fake API server (tests/fake_apiserver.py) with the deployments of
tests/data/attach/; the `conf` answer comes from a TCP listener on the pod's (loopback)
address speaking ZooKeeper's four-letter-word protocol: one word in, the text out, close.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from peerchaos.cli import main
from peerchaos.ctk import session as sessions
from peerchaos.ctk.control import run_meta
from peerchaos.ctk.validate import validate_activities
from peerchaos.errors import UnsupportedFault
from peerchaos.measure.dnstruth import cluster_from
from peerchaos.runtime.kubernetes.podexec import MARKER

from conftest import REPO
from fake_apiserver import FakeApiServer
from kube_world import attach_world, attached_runtime, their_deployment

NS = "shop"


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with attach_world() as server:
        yield server


def kube_attach(fake: FakeApiServer, tmp_path: Path, *args: str) -> Any:
    env = {"KUBECONFIG": fake.kubeconfig(tmp_path / "kubeconfig")}
    return CliRunner().invoke(main, ["kube", "attach", *args], env=env)


def test_kube_attach_prints_the_ensemble_seen_and_the_faults_it_allows(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(fake.cluster, NS, "tutorial")
    before = fake.cluster.dump()
    result = kube_attach(fake, tmp_path, "--statefulset", "zk", "--namespace", NS)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        f"StatefulSet {NS}/zk (kubernetes.io tutorial): 3 peers (zk-0, zk-1, zk-2), OrderedReady"
    )
    assert "  client port 2181 (--client_port flag)" in lines
    assert "  tickTime 2000 ms (--tick_time flag)" in lines
    assert "  initLimit 10 (--init_limit flag), syncLimit 5 (--sync_limit flag)" in lines
    assert "  PodDisruptionBudget zk-pdb (maxUnavailable 1)" in lines
    assert (
        "  headless Service zk-hs (publishNotReadyAddresses false); client Service "
        "zk-cs 10.96.0.20:2181"
    ) in lines
    assert "  JVM DNS cache: answers 30 s (JVM default: no setting seen), failed lookups 10 s " in (
        "\n".join(lines) + " "
    )
    faults = lines[lines.index("faults:") + 1 : lines.index("notes:")]
    assert faults[:3] == ["  kill: yes", "  partition: yes", "  pause: yes"]
    assert faults[3].startswith("  unready: no: the readinessProbe of container ")
    assert f"does not check {MARKER}" in faults[3]
    assert faults[4].startswith("  endpoints: no: the Endpoints of zk-hs and zk-cs belong")
    assert fake.cluster.dump() == before
    assert all(r.path.endswith("/exec") for r in fake.cluster.changes())


def test_kube_attach_json_is_the_ensemble_seen(fake: FakeApiServer, tmp_path: Path) -> None:
    their_deployment(fake.cluster, NS, "official")
    result = kube_attach(fake, tmp_path, "--statefulset", "zookeeper", "--namespace", NS, "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    seen = attached_runtime(fake, tmp_path, NS, "zookeeper").attach().to_dict()
    assert shown == seen
    assert shown["settings"]["jvm_dns_cache_s"] == {
        "value": 10,
        "source": "env JVMFLAGS -Dsun.net.inetaddr.ttl",
    }


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--statefulset", "zk", "--namespace", NS],
            f"peerchaos: StatefulSet {NS}/zk: does not exist (configuration.attach.statefulset)",
        ),
        (
            ["--statefulset", "Zk!", "--namespace", NS],
            "peerchaos: --statefulset: must be a lowercase RFC 1123 label (got 'Zk!')",
        ),
        (
            ["--statefulset", "zk", "--namespace", "nowhere"],
            "peerchaos: namespace nowhere: does not exist",
        ),
    ],
)
def test_kube_attach_refuses_in_one_line(
    fake: FakeApiServer, tmp_path: Path, args: list[str], line: str
) -> None:
    result = kube_attach(fake, tmp_path, *args)
    assert result.exit_code == 2
    assert result.output.splitlines() == [line]
    assert fake.cluster.changes() == []


def configuration(fake: FakeApiServer, tmp_path: Path, name: str) -> dict[str, Any]:
    return {
        "runtime": "kubernetes",
        "deploy": "attach",
        "attach": {"statefulset": name},
        "namespace": NS,
        "kubeconfig": fake.kubeconfig(tmp_path / "kubeconfig"),
        "state_dir": str(tmp_path / "state"),
        "results_dir": str(tmp_path / "results"),
    }


def activity(func: str, **arguments: Any) -> dict[str, Any]:
    provider = {"type": "python", "module": "peerchaos.ctk.actions", "func": func}
    return {"type": "action", "name": func, "provider": {**provider, "arguments": arguments}}


def test_a_session_uses_the_ensemble_seen_and_meta_records_it(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    their_deployment(fake.cluster, NS, "bitnami")
    session = sessions.open_session(configuration(fake, tmp_path, "zk-zookeeper"), "attached")
    try:
        runtime = session.runtime
        assert session.config.spec == runtime.spec
        assert session.config.spec.pod_names() == [f"zk-zookeeper-{i}" for i in range(3)]
        # Pre-flight: the faults the ensemble allows pass, the others are one line.
        validate_activities({"method": [activity("kill_peer", target="leader")]}, session)
        with pytest.raises(UnsupportedFault) as refused:
            validate_activities({"method": [activity("pause_peer", target="leader")]}, session)
        reason = runtime.capabilities().reasons["pause"]
        assert str(refused.value) == (
            f"method 'pause_peer': pause_peer: {reason} (kubernetes runtime)"
        )
        meta = run_meta(session, {"title": "attached"})
        assert meta["deploy"] == "attach"
        assert meta["ensemble_seen"] == runtime.seen.to_dict()
        assert meta["spec"]["headless_service"]["name"] == "zk-zookeeper-headless"
        # Measurement reads the spec in meta as it does for a deployed ensemble.
        cluster = cluster_from([], json.loads(json.dumps(meta)))
        assert cluster is not None
        assert cluster.pod_fqdn("zk-zookeeper-1") == (
            f"zk-zookeeper-1.zk-zookeeper-headless.{NS}.svc.cluster.local"
        )
        assert cluster.publish_not_ready is True
    finally:
        session.runtime.teardown()
        sessions.close_session()
    assert [r.method for r in fake.cluster.requests if r.method not in ("GET",)] == []


def test_chaos_run_refuses_an_unready_it_cannot_inject_before_anything_is_touched(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    """The real `chaos` command on an attached tutorial ensemble: make_peer_unready is
    refused in pre-flight, in one line naming the readinessProbe, and nothing changes."""
    their_deployment(fake.cluster, NS, "tutorial")
    before = fake.cluster.dump()
    config = configuration(fake, tmp_path, "zk")
    config.pop("state_dir")
    experiment = {
        "version": "1.0.0",
        "title": "An attached follower made unready",
        "description": "Refused: the tutorial's readiness probe does not check the marker.",
        "configuration": config,
        "controls": [
            {"name": "peerchaos", "provider": {"type": "python", "module": "peerchaos.ctk.control"}}
        ],
        "method": [activity("make_peer_unready", target="follower", duration_s=1)],
    }
    path = tmp_path / "attach-unready.yaml"
    path.write_text(yaml.safe_dump(experiment))
    temp_dirs = set(Path("/tmp").glob("pc-chaos-*"))
    chaos = Path(sys.executable).with_name("chaos")
    result = subprocess.run(
        [str(chaos), "--no-log-file", "run", str(path), "--journal-path", str(tmp_path / "j.json")],
        cwd=REPO,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "method 'make_peer_unready': make_peer_unready: the readinessProbe of container "
        f"kubernetes-zookeeper in StatefulSet {NS}/zk" in output
    ), output
    assert "Traceback" not in output
    assert fake.cluster.dump() == before
    assert [r.method for r in fake.cluster.requests if r.method != "GET"] == []
    assert not (tmp_path / "results").exists()
    assert set(Path("/tmp").glob("pc-chaos-*")) == temp_dirs  # its state dir went too


def serve_four_letter_words(host: str, port: int, replies: dict[str, str]) -> socket.socket:
    """A listener answering each four-letter word it is sent, as ZooKeeper does."""
    listener = socket.create_server((host, port))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                word = conn.recv(4).decode()
                conn.sendall(replies.get(word, "").encode())

    threading.Thread(target=serve, daemon=True).start()
    return listener


CONF = """clientPort=2181
secureClientPort=-1
dataDir=/var/lib/zookeeper/data/version-2
dataDirSize=67108880
dataLogDir=/var/lib/zookeeper/data/log/version-2
dataLogSize=0
tickTime=3000
maxClientCnxns=60
minSessionTimeout=6000
maxSessionTimeout=40000
serverId=1
initLimit=20
syncLimit=5
electionAlg=3
electionPort=3888
quorumPort=2888
peerType=0
"""


def test_a_running_servers_conf_answer_wins_over_the_manifest(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    """The tutorial's flags say tickTime 2000 and initLimit 10; the server says otherwise
    (a zoo.cfg changed by hand, say): what the server runs with is what is measured."""
    their_deployment(fake.cluster, NS, "tutorial")
    ip = fake.cluster.pods[(NS, "zk-0")].ip
    listener = serve_four_letter_words(ip, 2181, {"conf": CONF})
    try:
        runtime = attached_runtime(fake, tmp_path, NS, "zk")
        seen = runtime.attach()
    finally:
        listener.close()
    assert seen.settings["tick_time_ms"] == {"value": 3000, "source": "conf (tickTime) of pod zk-0"}
    assert seen.settings["init_limit"] == {"value": 20, "source": "conf (initLimit) of pod zk-0"}
    assert seen.settings["election_port"]["source"] == "conf (electionPort) of pod zk-0"
    assert (runtime.spec.zookeeper.tick_time_ms, runtime.spec.zookeeper.init_limit) == (3000, 20)
    assert not any(note.startswith("conf:") for note in seen.notes)
