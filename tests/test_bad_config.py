"""Bad experiment configurations, `--var` values and activity arguments: one line, before
anything is deployed.

Property-based over every configuration key and every numeric or text argument of the
peerchaos activities; `${…}` arguments are checked as Chaos Toolkit substitutes them.
A sample goes through the real `chaos run` (no ensemble may start: run under the lock
like every `chaos run`).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from badinput import SETTINGS, nothing_started, one_line
from chaoslib.exceptions import ActivityFailed
from hypothesis import given, settings
from hypothesis import strategies as st

from peerchaos.ctk import actions, probes
from peerchaos.ctk import session as sessions
from peerchaos.ctk.config import KNOWN_KEYS, read_config, shown
from peerchaos.ctk.validate import validate_activities
from peerchaos.errors import PeerchaosError

from conftest import FAST, REPO, needs_zookeeper

__all__ = ["nothing_started"]  # a fixture, used by name

FLAGS = {"true", "yes", "1", "false", "no", "0"}


def _whole(f: float) -> bool:
    return math.isfinite(f) and f.is_integer()


def bad_integer(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.integers(max_value=low - 1),
        st.integers(min_value=high + 1),
        st.integers(max_value=low - 1).map(str),
        st.floats().filter(lambda f: not (_whole(f) and low <= f <= high)),
        st.sampled_from(["2.7", "nan", "inf", "many", "", "1e3x", "${nothing}"]),
        st.lists(st.integers(), max_size=2),
    )


def bad_number(low: float, high: float) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.floats().filter(lambda f: not (math.isfinite(f) and low <= f <= high)),
        st.sampled_from(["nan", "inf", "-inf", "soon", "", "1,5"]),
        st.floats(max_value=low, exclude_max=True).map(str),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
    )


def not_a_flag() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=6).filter(lambda t: t.lower() not in FLAGS),
        st.floats(),
        st.lists(st.booleans(), max_size=2),
    )


def not_a_string() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(), st.floats(), st.booleans(), st.lists(st.text(max_size=3), min_size=1)
    )


# Configuration key -> values that break its rule.
BAD_CONFIG: dict[str, st.SearchStrategy[Any]] = {
    "name": not_a_string(),
    "runtime": st.one_of(
        st.text(max_size=10).filter(lambda t: t not in ("local", "kubernetes")), st.integers()
    ),
    "namespace": st.one_of(not_a_string(), st.sampled_from(["Chaos", "-x", "a_b", "x" * 64])),
    "spec": st.one_of(st.integers(), st.booleans(), st.lists(st.integers(), min_size=1)),
    "spec_overrides": st.one_of(
        st.integers(1), st.text(min_size=1, max_size=5), st.lists(st.integers(), min_size=1)
    ),
    "observers": st.one_of(st.integers(1), st.text(min_size=1, max_size=5)),
    "allow_quorum_loss": not_a_flag(),
    "results_dir": not_a_string(),
    "ray_address": not_a_string(),
    "state_dir": not_a_string(),
    "restart_delay_s": bad_number(0, 60),
    "settle_s": bad_number(0, 3600),
    "trials": bad_integer(1, 1000),
    "publish_not_ready_addresses": not_a_flag(),
    "jvm_dns_cache_s": bad_integer(-1, 3600).filter(lambda v: v not in ("", "default")),
    "jvm_dns_negative_cache_s": bad_integer(-1, 3600).filter(lambda v: v not in ("", "default")),
    "settle": st.one_of(
        st.text(min_size=1, max_size=12).filter(lambda t: t not in ("back-to-back", "independent")),
        st.integers(1),
    ),
    "deploy": not_a_flag().filter(lambda v: str(v).lower() not in ("bootstrap", "attach")),
    # Without deploy: attach, any attach target is refused.
    "attach": st.one_of(
        st.integers(),
        st.text(min_size=1, max_size=5),
        st.fixed_dictionaries({"statefulset": st.just("zk")}),
    ),
    "kubeconfig": not_a_string(),
    "context": not_a_string(),
    "grace_period_s": bad_integer(0, 3600),
    "delete_pvcs": not_a_flag(),
}
OBSERVERS = {
    "load_workers": bad_integer(0, 64),
    "dns_probes": bad_integer(0, 32),
    "keys": bad_integer(1, 1000),
    "concurrency": bad_integer(1, 64),
    "rate": bad_number(0, 100000),
    "role_period_s": bad_number(0.001, 10),
    "dns_period_s": bad_number(0.001, 10),
    "op_timeout_s": bad_number(0.05, 60),
    "via": st.text(max_size=8).filter(lambda t: t not in ("service", "pods")),
}


def test_every_key_has_a_bad_case() -> None:
    assert set(BAD_CONFIG) == KNOWN_KEYS


@st.composite
def bad_configurations(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["key", "observer", "unknown", "override"]))
    if kind == "observer":
        key = draw(st.sampled_from(sorted(OBSERVERS)))
        return key, {"observers": {key: draw(OBSERVERS[key])}}
    if kind == "unknown":
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN_KEYS))
        return shown(key), {key: 1}
    if kind == "override":
        return "spec_overrides", {"spec_overrides": {"replicas": draw(bad_integer(1, 9))}}
    key = draw(st.sampled_from(sorted(BAD_CONFIG)))
    return key, {key: draw(BAD_CONFIG[key])}


@settings(parent=SETTINGS, max_examples=300)
@given(bad_configurations())
def test_every_bad_configuration_is_one_line_naming_the_key(
    nothing_started: Path, case: tuple[str, dict[str, Any]]
) -> None:
    key, configuration = case
    sessions.close_session()
    with pytest.raises(PeerchaosError) as caught:
        sessions.open_session({"spec": {**FAST}, **configuration})
    line = one_line(caught.value)
    assert line.startswith("configuration."), line
    assert key in line, line
    assert sessions.current() is None


def test_the_issue_configurations(tmp_path: Path) -> None:
    def refused(configuration: dict[str, Any]) -> str:
        with pytest.raises(PeerchaosError) as caught:
            read_config(configuration)
        return one_line(caught.value)

    assert refused({"state_dir": 5}) == "configuration.state_dir: must be a string (got 5)"
    assert refused({"trials": "-5"}) == (
        "configuration.trials: must be between 1 and 1000 (got '-5')"
    )
    assert refused({"observers": {"keys": 2.7}}) == (
        "configuration.observers.keys: must be a whole number (got 2.7)"
    )
    assert refused({"observers": {"keys": True}}) == (
        "configuration.observers.keys: must be an integer, not true/false (got True)"
    )
    assert refused({"grace_period_s": float("inf")}).startswith("configuration.grace_period_s")
    assert refused({"spec": ""}) == "configuration.spec: must be a path or a mapping (got '')"
    assert refused({"spec_overrides": {"local": {"pod_cidr": "0.0.0.0/1"}}}).startswith(
        "configuration.spec_overrides: local.pod_cidr: must lie in a private range"
    )
    odd = tmp_path / "odd.yaml"
    odd.write_bytes(b"replicas: 3\nimage: \xe9\n")
    assert refused({"spec": str(odd)}) == f"{odd}: line 2: not UTF-8 text (byte 0xe9)"
    # What is right passes: an integer written as text (a --var), empty meaning unset.
    ok = read_config({"trials": "5", "grace_period_s": "2", "ray_address": "", "state_dir": ""})
    assert ok.grace_period_s == 2 and ok.ray_address is None and ok.state_dir is None


# --- activity arguments ----------------------------------------------------------------

# (module, function, argument) -> values that break its rule.
ACTIVITY_ARGUMENTS: list[tuple[str, str, str, st.SearchStrategy[Any]]] = [
    ("actions", "kill_peer", "trials", bad_integer(1, 1000)),
    ("actions", "kill_peer", "settle_s", bad_number(0, 3600)),
    ("actions", "kill_peer", "target", st.one_of(st.integers(), st.text(max_size=6))),
    ("actions", "make_peer_unready", "duration_s", bad_number(0, 3600)),
    ("actions", "pause_peer", "duration_s", bad_number(0, 3600)),
    ("actions", "pause_peer", "trials", bad_integer(1, 1000)),
    ("actions", "partition_peer", "settle_s", bad_number(0, 3600)),
    ("actions", "rolling_restart", "settle_s", bad_number(0, 3600)),
    ("actions", "deploy_ensemble", "timeout_s", bad_number(1, 3600)),
    ("actions", "bootstrap_ensemble", "timeout_s", bad_number(1, 3600)),
    ("probes", "election_time", "stat", st.text(max_size=5)),
    ("probes", "dns_convergence", "view", st.text(max_size=5)),
    ("probes", "connections_to_unready_peers", "connections", bad_integer(1, 1000)),
]
PODS = {"zk-0", "zk-1", "zk-2", "leader", "follower", "random", "minority"}
VALID_TEXT = {"stat": {"last", "p50", "p95", "max"}, "view": {"raw", "cached"}}


@st.composite
def bad_arguments(draw: st.DrawFn) -> tuple[str, str, str, Any]:
    module, func, argument, values = draw(st.sampled_from(ACTIVITY_ARGUMENTS))
    allowed = PODS | VALID_TEXT.get(argument, set())
    value = draw(values.filter(lambda v: not (isinstance(v, str) and v in allowed)))
    return module, func, argument, value


def _experiment(module: str, func: str, arguments: dict[str, Any]) -> dict[str, Any]:
    provider = {"type": "python", "module": f"peerchaos.ctk.{module}", "func": func}
    return {
        "method": [
            {"type": "action", "name": "x", "provider": {**provider, "arguments": arguments}}
        ]
    }


@settings(parent=SETTINGS, max_examples=200)
@given(bad_arguments())
def test_every_bad_activity_argument_is_refused_in_pre_flight(
    tmp_path: Path, nothing_started: Path, case: tuple[str, str, str, Any]
) -> None:
    module, func, argument, value = case
    sessions.close_session()
    session = sessions.open_session({"spec": {**FAST}, "state_dir": str(tmp_path / "state")})
    try:
        with pytest.raises(PeerchaosError) as caught:
            validate_activities(_experiment(module, func, {argument: value}), session)
        line = one_line(caught.value)
        assert line.startswith("method 'x': ") and argument in line, line
        assert not session.runtime.is_up() and not (tmp_path / "state").exists()
    finally:
        sessions.close_session()


@settings(parent=SETTINGS, max_examples=150)
# deploy/bootstrap are left to pre-flight above: a value let through would deploy.
@given(
    bad_arguments().filter(
        lambda case: (
            case[2] not in ("stat", "view", "target")
            and case[1] not in ("deploy_ensemble", "bootstrap_ensemble")
        )
    )
)
def test_every_bad_argument_fails_the_activity_before_it_opens_a_session(
    nothing_started: Path, case: tuple[str, str, str, Any]
) -> None:
    """Called as Chaos Toolkit calls it (no pre-flight): ActivityFailed, one line, and not
    even the session's temp state dir was made."""
    module, func, argument, value = case
    sessions.close_session()
    activity = getattr(actions if module == "actions" else probes, func)
    with pytest.raises(ActivityFailed) as caught:
        activity(**{argument: value}, configuration={"spec": {**FAST}})
    assert argument in one_line(caught.value)
    assert sessions.current() is None


def test_the_issue_activity_arguments(nothing_started: Path) -> None:
    sessions.close_session()
    with pytest.raises(ActivityFailed) as caught:
        actions.make_peer_unready(duration_s="abc", configuration={"spec": {**FAST}})
    assert one_line(caught.value) == "make_peer_unready: duration_s: must be a number (got 'abc')"
    with pytest.raises(ActivityFailed) as caught:
        actions.kill_peer(trials=2.7, configuration={"spec": {**FAST}})
    assert one_line(caught.value) == "kill leader: trials: must be a whole number (got 2.7)"
    assert sessions.current() is None


@pytest.mark.parametrize(
    ("configuration", "arguments", "message"),
    [
        # Substituted from the configuration, then checked as the activity will see it.
        ({"name": "zk-exp"}, {"target": "${name}"}, "target must be leader"),
        ({}, {"trials": "${trials}"}, "trials: ${trials} names no configuration key"),
        ({"trials": 5}, {"trials": "${nothing}"}, "trials: ${nothing} names no configuration"),
        ({"settle_s": 2}, {"trials": "${settle_s}", "target": "zk-1"}, None),
        ({"trials": 0.5}, {"trials": "${trials}"}, "configuration.trials: must be a whole"),
    ],
)
def test_dollar_values_are_checked_after_substitution(
    tmp_path: Path, configuration: dict[str, Any], arguments: dict[str, Any], message: str | None
) -> None:
    sessions.close_session()
    try:
        try:
            session = sessions.open_session(
                {"spec": {**FAST}, "state_dir": str(tmp_path / "s"), **configuration}
            )
            validate_activities(_experiment("actions", "kill_peer", arguments), session)
        except PeerchaosError as error:
            assert message is not None and message in one_line(error), error
        else:
            assert message is None
    finally:
        sessions.close_session()


# --- through `chaos run` --------------------------------------------------------------

CHAOS = str(Path(sys.executable).parent / "chaos")


@needs_zookeeper
@pytest.mark.parametrize(
    ("var", "line"),
    [
        ("trials=-5", "configuration.trials: must be between 1 and 1000 (got '-5')"),
        ("trials=2.7", "configuration.trials: must be a whole number"),
        (
            'spec_overrides:json={"local": {"pod_cidr": "8.8.8.0/24"}}',
            "configuration.spec_overrides: local.pod_cidr: must lie in a private range",
        ),
    ],
)
def test_chaos_run_refuses_a_bad_var_before_deploying(tmp_path: Path, var: str, line: str) -> None:
    done = subprocess.run(
        [
            CHAOS,
            "--no-log-file",
            "run",
            str(REPO / "experiments" / "zk-leader-kill.yaml"),
            "--journal-path",
            str(tmp_path / "journal.json"),
            "--var",
            f"results_dir={tmp_path / 'results'}",
            "--var",
            var,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert len([seen for seen in output.splitlines() if line in seen]) == 1, output
    assert "Traceback" not in output
    assert not (tmp_path / "results").exists()  # no run dir: nothing was started
    journal = yaml.safe_load((tmp_path / "journal.json").read_text())
    assert journal["run"] == []
