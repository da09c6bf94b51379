"""etcd's half of attaching: what an existing etcd container tells about itself.

An etcd container is recognised by its image (`etcd` in the repository's last part) or
its command (`etcd`). Its settings come from etcd's own configuration: `--flag=value` in
the command or args, or the `ETCD_<FLAG>` environment etcd reads (the flag wins, as in
etcd); the ports from the listen URLs, else the container's ports named `client` /
`peer`, else etcd's defaults (2379, 2380).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from peerchaos.systems.base import Findings, Found

SETTING_NAMES = ("client_port", "server_port", "heartbeat_interval_ms", "election_timeout_ms")
DEFAULTS = {
    "client_port": 2379,
    "server_port": 2380,
    "heartbeat_interval_ms": 100,
    "election_timeout_ms": 1000,
}
HINT = "an etcd image or an etcd command"
FLAGS = {
    "heartbeat_interval_ms": "heartbeat-interval",
    "election_timeout_ms": "election-timeout",
}
URL_PORT = re.compile(r"//[^,/]*:(\d+)")


def _is_etcd(container: dict[str, Any]) -> bool:
    image = str(container.get("image", "")).split("@")[0]
    repository = image.rsplit("/", 1)[-1].split(":")[0]
    command = [str(part) for part in (container.get("command") or [])]
    return "etcd" in repository or any(part.rsplit("/", 1)[-1] == "etcd" for part in command)


def find_container(statefulset: dict[str, Any]) -> dict[str, Any] | None:
    template = statefulset.get("spec", {}).get("template", {}).get("spec", {})
    for container in template.get("containers") or []:
        if _is_etcd(container):
            return container
    return None


def identity(container: dict[str, Any]) -> tuple[str, str | None]:
    image = str(container.get("image", ""))
    last = image.split("@")[0].rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    version = tag.lstrip("v") if re.match(r"v?\d", tag) else None
    shape = "bitnami/etcd" if "bitnami" in image else "the official etcd image"
    return shape, version


def _options(container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Every etcd option the container sets: name -> (value, where it was read)."""
    found: dict[str, tuple[str, str]] = {}
    for item in container.get("env") or []:
        name = str(item.get("name", ""))
        if name.startswith("ETCD_") and "value" in item:
            option = name[len("ETCD_") :].lower().replace("_", "-")
            found[option] = (str(item["value"]), f"env {name}")
    words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
    for word in " ".join(words).split():
        if word.startswith("--") and "=" in word:
            option, _, value = word[2:].partition("=")
            found[option] = (value, f"--{option} flag")
    return found


def _port(container: dict[str, Any], named: str) -> int | None:
    for port in container.get("ports") or []:
        if port.get("name") == named and isinstance(port.get("containerPort"), int):
            return port["containerPort"]
    return None


def settings(container: dict[str, Any], headless_ports: list[dict[str, Any]]) -> dict[str, Found]:
    options = _options(container)
    found: dict[str, Found] = {}
    for name, option, named in (
        ("client_port", "listen-client-urls", "client"),
        ("server_port", "listen-peer-urls", "peer"),
    ):
        if option in options and (match := URL_PORT.search(options[option][0])):
            found[name] = Found(int(match.group(1)), options[option][1])
        elif (port := _port(container, named)) is not None:
            found[name] = Found(port, f"container port {named!r}")
    for name, option in FLAGS.items():
        if option in options and options[option][0].isdigit():
            found[name] = Found(int(options[option][0]), options[option][1])
    return found


def findings(container: dict[str, Any], found: dict[str, Found], where: str) -> Findings:
    result = Findings()
    options = _options(container)
    if any(str(v).startswith("https") for v, _ in options.values()):
        result.problems.append(
            f"{where}: etcd serves TLS (an https URL); peerchaos speaks plain HTTP to the "
            "gateway — attach to a cluster whose client URLs are http://"
        )
    pre_vote = options.get("pre-vote")
    if pre_vote is not None:
        result.settings["pre_vote"] = Found(pre_vote[0] == "true", pre_vote[1])
    return result


def readiness_kind(probe: dict[str, Any] | None) -> str:
    return "health"


def seen_spec(values: dict[str, Any]) -> dict[str, Any]:
    group = {
        key: values[key]
        for key in ("heartbeat_interval_ms", "election_timeout_ms", "pre_vote")
        if values.get(key) is not None
    }
    spec: dict[str, Any] = {"etcd": group}
    if values.get("server_port") is not None:
        spec["headless_service"] = {"server_port": values["server_port"]}
    return spec


def seen_lines(seen: dict[str, Any], value: Callable[..., str]) -> list[str]:
    # pre-vote is recorded only when the container sets it; etcd 3.4 leaves it off.
    settings = seen.get("settings") or {}
    pre_vote = value("pre_vote") if "pre_vote" in settings else "false (etcd 3.4's default)"
    return [
        f"  ports: client {value('client_port')}, peer {value('server_port')}",
        f"  Raft: heartbeat {value('heartbeat_interval_ms', ' ms')}, election timeout "
        f"{value('election_timeout_ms', ' ms')}, pre-vote {pre_vote}",
    ]
