"""Bad input at every entry point is refused in exactly one line, before anything starts.

Property-based: for specs (through the real `peerchaos manifests` and `peerchaos up`),
experiment configurations, activity arguments and CLI options, hypothesis generates
values that break one field's rule at a time; each must give a non-zero exit (or a
PeerchaosError / ActivityFailed) with one line naming the field, and start nothing — no
child process, no state dir, no temp dir of a session. A sample goes through the
installed `peerchaos` executable in a real process as well.
"""

from __future__ import annotations

import ipaddress
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from badinput import PEERCHAOS, SETTINGS, nothing_started, one_line, refused_in_one_line
from hypothesis import given, settings
from hypothesis import strategies as st

from peerchaos import bounded
from peerchaos.errors import PeerchaosError
from peerchaos.spec import DNS_LABEL, IMAGE_REFERENCE, PRIVATE_RANGES

__all__ = ["nothing_started"]  # a fixture, used by name


# --- specs -----------------------------------------------------------------------------


def _whole(f: float) -> bool:
    return math.isfinite(f) and f.is_integer()


def not_integer_in(low: int, high: int, optional: bool = False) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.integers(max_value=low - 1),
        st.integers(min_value=high + 1),
        st.floats().filter(
            lambda f: not (math.isfinite(f) and f.is_integer() and low <= f <= high)
        ),
        st.text(max_size=8),
        st.lists(st.integers(), max_size=2),
        *([] if optional else [st.none()]),
    )


def not_number_in(low: float, high: float, above: bool = False) -> st.SearchStrategy[Any]:
    def inside(f: float) -> bool:
        return math.isfinite(f) and (f > low if above else f >= low) and f <= high

    return st.one_of(
        st.booleans(),
        st.none(),
        st.floats().filter(lambda f: not inside(f)),
        st.sampled_from([float("nan"), float("inf"), -float("inf")]),
        st.text(max_size=8),
    )


def not_label(longest: int = 63) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=70).filter(lambda t: len(t) > longest or not DNS_LABEL.fullmatch(t)),
        st.integers(),
        st.booleans(),
        st.none(),
    )


def not_one_of(*allowed: str) -> st.SearchStrategy[Any]:
    return st.one_of(st.text(max_size=12).filter(lambda t: t not in allowed), st.integers())


def not_bool() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(), st.text(max_size=6), st.none(), st.floats(), st.lists(st.none())
    )


@st.composite
def not_private_cidr(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["public", "prefix", "host bits", "garbage", "ipv6", "type"]))
    if kind == "type":
        return draw(st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.text())))
    if kind == "garbage":
        return draw(st.text(max_size=20).filter(lambda t: "/" not in t or t.count(".") != 3))
    if kind == "ipv6":
        return str(ipaddress.IPv6Network((draw(st.integers(0, 2**128 - 1)), 64), strict=False))
    if kind == "public":
        net = ipaddress.IPv4Network((draw(st.integers(0, 2**32 - 1)), 24), strict=False)
        return str(net) if not any(net.overlaps(r) for r in PRIVATE_RANGES) else "8.8.8.0/24"
    if kind == "prefix":  # /0../15 (not aligned below /8) or /29../32
        return f"10.0.0.0/{draw(st.integers(0, 32).filter(lambda p: not 16 <= p <= 28))}"
    return f"10.244.0.{draw(st.integers(1, 255))}/24"  # host bits set


# Field path -> values that break its rule (each alone, everything else default).
BAD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": not_label(52),
    "namespace": not_label(),
    "replicas": not_integer_in(1, 9),
    "image": st.one_of(
        st.text(max_size=30).filter(lambda t: not IMAGE_REFERENCE.fullmatch(t)),
        st.sampled_from(["", " ", "zookeeper:3.8\nrm -rf /", "a" * 256, "Zookeeper"]),
        st.integers(),
    ),
    "tick_time_ms": not_integer_in(10, 60000),
    "init_limit": not_integer_in(1, 1000),
    "sync_limit": not_integer_in(1, 1000),
    "publish_not_ready_addresses": not_bool(),
    "pod_management_policy": not_one_of("OrderedReady", "Parallel"),
    "dns_ttl_s": not_integer_in(0, 3600),
    "jvm_dns_cache_s": not_integer_in(-1, 3600, optional=True),
    "heap_mb": not_integer_in(32, 8192),
    "readiness_probe.kind": not_one_of("ruok", "quorum"),
    "readiness_probe.period_s": not_number_in(0, 300, above=True),
    "readiness_probe.timeout_s": not_number_in(0, 60, above=True),
    "readiness_probe.success_threshold": not_integer_in(1, 100),
    "readiness_probe.failure_threshold": not_integer_in(1, 100),
    "readiness_probe.initial_delay_s": not_number_in(0, 600),
    "headless_service.name": not_label(),
    "headless_service.server_port": not_integer_in(1, 65535),
    "headless_service.leader_election_port": not_integer_in(1, 65535),
    "client_service.name": not_label(),
    "client_service.port": not_integer_in(1, 65535),
    "selectorless.enabled": not_bool(),
    "selectorless.addresses": st.one_of(
        st.just([]), st.text(max_size=5), st.lists(st.text(max_size=5), min_size=1, max_size=2)
    ),
    "local.mode": not_one_of("auto", "netns", "loopback"),
    "local.pod_cidr": not_private_cidr(),
    "local.service_cidr": not_private_cidr(),
    "local.loopback_cidr": st.one_of(
        st.sampled_from(["10.77.0.0/24", "127.0.0.0/8", "127.77.0.0/30", "127.77.0.1/24"]),
        st.integers(),
    ),
}


def nested(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: nested(rest, value) if rest else value}


@st.composite
def bad_specs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    path = draw(st.sampled_from(sorted(BAD_FIELDS)))
    value = draw(BAD_FIELDS[path])
    if path == "selectorless.addresses" and isinstance(value, list) and value:
        value = [v for v in value if not _ipv4(v)] or ["999.0.0.1"]
    return path, nested(path, value)


def _ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


@settings(parent=SETTINGS, max_examples=150)
@given(bad_specs())
def test_every_bad_spec_is_one_line_and_starts_nothing(
    tmp_path: Path, nothing_started: Path, case: tuple[str, dict[str, Any]]
) -> None:
    path, data = case
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data))
    line = refused_in_one_line(["manifests", str(spec)])
    assert line.startswith(f"peerchaos: {spec}: ") and path.rsplit(".", 1)[-1] in line, line
    state = tmp_path / "state"
    assert refused_in_one_line(["up", "--spec", str(spec), "--state-dir", str(state)]) == line
    assert not state.exists()


@given(st.sampled_from(sorted(BAD_FIELDS)), st.data())
@settings(parent=SETTINGS, max_examples=300)
def test_every_bad_field_is_refused_by_name(path: str, data: st.DataObject) -> None:
    from peerchaos.spec import parse_spec

    with pytest.raises(PeerchaosError) as caught:
        parse_spec(nested(path, data.draw(BAD_FIELDS[path])), "s.yaml")
    assert path.rsplit(".", 1)[-1] in one_line(caught.value)


@given(st.text(min_size=1, max_size=20), st.data())
@SETTINGS
def test_unknown_fields_are_refused(key: str, data: st.DataObject) -> None:
    from peerchaos.spec import EnsembleSpec, parse_spec

    section = data.draw(st.sampled_from(["", "readiness_probe", "local", "client_service"]))
    model_fields = EnsembleSpec.model_fields
    known = (
        model_fields if not section else model_fields[section].annotation.model_fields  # type: ignore[union-attr]
    )
    if key in known:
        return
    data_in = {section: {key: 1}} if section else {key: 1}
    with pytest.raises(PeerchaosError) as caught:
        parse_spec(data_in, "s.yaml")
    assert one_line(caught.value).endswith(": unknown field")


# --- CLI options -------------------------------------------------------------------------

NOWHERE = "/nonexistent/peerchaos-bad-input"  # a spec path / state dir that never exists


def rejected_by(check: Any) -> Any:
    def rejects(value: str) -> bool:
        try:
            check(value)
        except ValueError:
            return True
        return False

    return rejects


def bad_option_values(check: Any) -> st.SearchStrategy[str]:
    words = ["nan", "NaN", "inf", "-inf", "Infinity", "true", "", " ", "1e400", "0x10", "2.7"]
    return st.one_of(
        st.sampled_from(words),
        st.floats().map(repr),
        st.integers(-(10**6), 10**6).map(str),
        st.text(max_size=10),
    ).filter(rejected_by(check))


# (command before the option, option, the rule its values must break). The commands are
# given a spec or state dir that does not exist, so even a value the rule let through
# could start nothing.
OPTIONS = [
    (["observe", "--state-dir", NOWHERE], "--duration", lambda v: bounded.real(v, 0, 86400, True)),
    (
        ["observe", "--duration=5", "--state-dir", NOWHERE],
        "--load",
        lambda v: bounded.integer(v, 0, 64),
    ),
    (
        ["observe", "--duration=5", "--state-dir", NOWHERE],
        "--dns-probes",
        lambda v: bounded.integer(v, 0, 32),
    ),
    (
        ["observe", "--duration=5", "--state-dir", NOWHERE],
        "--keys",
        lambda v: bounded.integer(v, 1, 1000),
    ),
    (
        ["observe", "--duration=5", "--state-dir", NOWHERE],
        "--rate",
        lambda v: bounded.real(v, 0, 100000),
    ),
    (
        ["observe", "--duration=5", "--state-dir", NOWHERE],
        "--concurrency",
        lambda v: bounded.integer(v, 1, 64),
    ),
    (["observe", "--duration=5", "--state-dir", NOWHERE], "--name", bounded.name),
    (
        ["up", "--spec", NOWHERE, "--state-dir", NOWHERE],
        "--timeout",
        lambda v: bounded.real(v, 0, 3600, True),
    ),
    (
        ["kube", "up", "--dry", "--spec", NOWHERE],
        "--timeout",
        lambda v: bounded.real(v, 0, 3600, True),
    ),
    (
        ["kube", "fault", "kill", "zk-0", "--dry", "--spec", NOWHERE],
        "--grace-period",
        lambda v: bounded.integer(v, 0, 3600),
    ),
    (["trend", NOWHERE], "--factor", lambda v: bounded.real(v, 1, 1000, True)),
    (["trend", NOWHERE], "--min-delta", lambda v: bounded.real(v, 0, 3600)),
    (["trend", NOWHERE], "--min-runs", lambda v: bounded.integer(v, 1, 1000)),
]


@st.composite
def bad_options(draw: st.DrawFn) -> tuple[list[str], str, str]:
    before, option, check = draw(st.sampled_from(OPTIONS))
    return before, option, draw(bad_option_values(check))


@settings(parent=SETTINGS, max_examples=150)
@given(bad_options())
def test_every_bad_option_is_one_line_naming_it(
    nothing_started: Path, case: tuple[list[str], str, str]
) -> None:
    before, option, value = case
    line = refused_in_one_line([*before, f"{option}={value}"])
    command = " ".join(word for word in before[:2] if not word.startswith("-"))
    command = command if before[0] == "kube" else before[0]
    assert line.startswith(f"peerchaos: {command}: {option}: "), line
    assert not Path(NOWHERE).exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["observe", "--duration", "nan"],
            "peerchaos: observe: --duration: must be a finite number (got 'nan')",
        ),
        (
            ["kube", "fault", "kill", "zk-0", "--grace-period", "-5"],
            "peerchaos: kube fault: --grace-period: must be between 0 and 3600 (got '-5')",
        ),
        (
            ["trend", NOWHERE, "--factor", "inf"],
            "peerchaos: trend: --factor: must be a finite number (got 'inf')",
        ),
        (["observe", "--keys", "2.7", "--duration", "5"], None),
        (["no-such-command"], "peerchaos: No such command 'no-such-command'."),
        (["observe"], "peerchaos: observe: Missing option '--duration'."),
    ],
)
def test_the_real_executable_says_it_in_one_line(
    tmp_path: Path, args: list[str], line: str | None
) -> None:
    """A sample through the installed console script, in a process of its own."""
    state = tmp_path / "state"
    done = subprocess.run(
        [PEERCHAOS, *args, "--state-dir", str(state)]
        if args[0] == "observe"
        else [PEERCHAOS, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == "", done
    (seen,) = done.stderr.splitlines()
    assert seen == (line or "peerchaos: observe: --keys: must be a whole number (got '2.7')")
    assert not state.exists()


# --- issue 13's examples and checks, each by name ------------------------------------------


@pytest.mark.parametrize(
    ("text", "line_after_path"),
    [
        ("local: {pod_cidr: 0.0.0.0/1}\n", "local.pod_cidr: must lie in a private range"),
        ("local: {service_cidr: 8.8.8.0/24}\n", "local.service_cidr: must lie in a private"),
        ("local: {pod_cidr: 1.1.1.0/26}\n", "local.pod_cidr: must lie in a private range"),
        ("local: {pod_cidr: 224.0.0.0/24}\n", "local.pod_cidr: must lie in a private range"),
        ("local: {pod_cidr: 127.0.0.0/8}\n", "local.pod_cidr: must lie in a private range"),
        ("a: " + "[" * 2000 + "]" * 2000 + "\n", "line 1: nested more than 50 levels deep"),
        ("replicas: 3\nreplicas: 5\n", "line 2: duplicate key 'replicas' (first at line 1)"),
        ("replicas: true\n", "replicas: must be an integer (got True)"),
        (f"name: {'z' * 63}\n", "name: must be at most 52 characters"),
        ("image: ''\n", "image: must be an image reference"),
        ('image: "zookeeper:3.8\\nrm -rf /"\n', "image: must be an image reference"),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else None,
)
def test_the_issue_spec_examples_through_the_real_executable(
    tmp_path: Path, text: str, line_after_path: str
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    done = subprocess.run(
        [PEERCHAOS, "manifests", str(spec)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == "", done
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"peerchaos: {spec}: {line_after_path}"), line


def test_a_spec_that_is_not_utf8_through_the_real_executable(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(b"name: zk\xfe\n")
    done = subprocess.run(
        [PEERCHAOS, "manifests", str(spec)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"peerchaos: {spec}: line 1: not UTF-8 text (byte 0xfe)"]


def test_trend_fails_when_the_newest_run_was_interrupted_and_its_summary_torn(
    tmp_path: Path,
) -> None:
    """The issue's check, as cron runs it: the real executable, exit code and one line."""
    experiment = tmp_path / "zk-leader-kill"
    for day, status in ((1, "completed"), (2, "completed"), (3, "interrupted")):
        run = experiment / f"2026110{day}T030000Z-00{day}"
        run.mkdir(parents=True)
        summary = {"run_id": run.name, "status": status, "metrics": {}, "checks": {"valid": True}}
        (run / "summary.json").write_text(json.dumps(summary))
        (run / "meta.json").write_text(json.dumps({"status": status}))
    torn = json.dumps({"run_id": run.name, "status": "interrupted", "metrics": {}})
    (run / "summary.json").write_text(torn[: len(torn) // 2])  # the driver died mid-write
    done = subprocess.run(
        [PEERCHAOS, "trend", str(experiment)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done
    assert done.stderr.splitlines() == [
        f"peerchaos: trend: newest run {run.name} cannot be judged: summary.json is not valid "
        f"JSON (line 1) ({run})"
    ]


def test_help_stays_the_help() -> None:
    # Only failures are folded into one line; asking for help still gets the whole page.
    from click.testing import CliRunner

    from peerchaos.cli import main

    bare = CliRunner().invoke(main, [])
    assert bare.exit_code == 2 and bare.output.startswith("Usage: ") and "Commands:" in bare.output
    asked = CliRunner().invoke(main, ["trend", "--help"])
    assert asked.exit_code == 0 and "--factor" in asked.output
