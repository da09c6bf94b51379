"""A local pod's etcd: the container's ETCD_* env as flags, and its readiness (`/health`).

etcd reads `ETCD_<FLAG>` variables as its `--<flag>` options; the local runtime passes
them as flags instead, so the command line shows the member's whole configuration. Values
may reference earlier variables as `$(NAME)` (Kubernetes' rule; POD_NAME is the pod's
name through the downward API). The data dir is the pod's own (kept across
incarnations, as a PVC is) and the listen URLs are the pod's address.
"""

from __future__ import annotations

import re
import shutil

from peerchaos.errors import SpecError
from peerchaos.systems.base import LocalPod
from peerchaos.systems.etcd.gateway import healthy

REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
BINARY = "/usr/bin/etcd"  # Debian's etcd-server


def check_container(container: dict) -> None:
    """The local runtime needs the member list to start a member."""
    names = {item.get("name") for item in container.get("env") or []}
    if "ETCD_INITIAL_CLUSTER" not in names:
        raise SpecError("StatefulSet: container env lacks ETCD_INITIAL_CLUSTER (the member list)")


def expand(env: dict[str, str], pod_name: str) -> dict[str, str]:
    """The env with `$(NAME)` references replaced, in order, as the kubelet does."""
    done: dict[str, str] = {"POD_NAME": pod_name}
    for name, value in env.items():
        if name == "POD_NAME":
            continue
        done[name] = REFERENCE.sub(lambda m: done.get(m.group(1), m.group(0)), value)
    return done


def _listen(url: str, bind_address: str | None) -> str:
    """A listen URL on the pod's own address (loopback mode) or on all of its netns."""
    if bind_address is None:
        return url
    return re.sub(r"//[^:/]+", f"//{bind_address}", url, count=1)


def flags(pod: LocalPod) -> list[str]:
    """etcd's options for this incarnation, from the container's env."""
    env = expand(pod.env, pod.name)
    values = {
        name[len("ETCD_") :].lower().replace("_", "-"): value
        for name, value in env.items()
        if name.startswith("ETCD_")
    }
    values["data-dir"] = str(pod.pod_dir / "data")
    values["name"] = pod.name
    values.setdefault("listen-client-urls", f"http://0.0.0.0:{pod.client_port}")
    for key in ("listen-client-urls", "listen-peer-urls"):
        if key in values:
            values[key] = ",".join(_listen(u, pod.bind_address) for u in values[key].split(","))
    # etcd 3.4 logs through capnslog unless told otherwise; the ground truth reads zap.
    values.setdefault("logger", "zap")
    values.setdefault("log-outputs", "stderr")
    return [f"--{key}={value}" for key, value in sorted(values.items())]


def local_command(pod: LocalPod) -> list[str]:
    """The member's command line (its data dir, under the pod's dir, makes it this pod's)."""
    (pod.pod_dir / "data").mkdir(parents=True, exist_ok=True)
    binary = BINARY if shutil.which(BINARY) else (shutil.which("etcd") or BINARY)
    return [binary, *flags(pod)]


async def local_ready(kind: str, host: str, port: int, timeout_s: float) -> bool:
    """health: `/health` says true (a leader is known and a quorum read succeeded)."""
    return await healthy(host, port, timeout_s)
