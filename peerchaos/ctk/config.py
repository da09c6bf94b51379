"""An experiment's `configuration` block, read into typed settings with one-line errors.

Chaos Toolkit hands every activity and control the experiment's `configuration`
(after `--var` overrides). peerchaos reads its keys here:

    configuration:
      name: zk-leader-kill          # results/<name>/<run-id>/
      runtime: local                # local | kubernetes
      namespace: default            # the spec's namespace, replaced (kubernetes: where it goes)
      spec: workloads/specs/fast.yaml   # a path, or the spec inline as a mapping
      spec_overrides: {}            # fields replaced on top of the spec
      observers: {load_workers: 2, dns_probes: 3, keys: 5, rate: 0, via: service,
                  role_period_s: 0.01, dns_period_s: 0.02}
      allow_quorum_loss: false
      settle: back-to-back          # or independent: before each fault, wait until every
                                    # peer serves and the DNS caches that may hold an old
                                    # pod IP (JVM positive / negative, cluster TTL) expired
      results_dir: results
      ray_address: null             # join a Ray cluster (KubeRay) instead of starting one
      kubeconfig: null              # runtime kubernetes: KUBECONFIG / in-cluster otherwise
      context: null                 # runtime kubernetes: kubeconfig context
      grace_period_s: 0             # runtime kubernetes: pod delete grace period
      delete_pvcs: true             # runtime kubernetes: delete the peers' claims at teardown
      trials: 5                     # for activities that say `trials: ${trials}`
      settle_s: 2                   # likewise `settle_s: ${settle_s}`

Every key is checked here, before anything is deployed — also the ones only activities
read through `${…}` — so `--var trials=-5` fails in pre-flight, not after deploying.
      deploy: attach                # an existing ZooKeeper StatefulSet instead (kubernetes):
      attach: {statefulset: zk}     # in `namespace`; faults that heal only, no spec keys
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peerchaos import bounded
from peerchaos.errors import SpecError
from peerchaos.spec import DNS_LABEL, EnsembleSpec, load_spec, parse_spec, spec_with_overrides

KNOWN_KEYS = {
    "name",
    "runtime",
    "spec",
    "spec_overrides",
    "observers",
    "allow_quorum_loss",
    "results_dir",
    "ray_address",
    "state_dir",
    "restart_delay_s",
    "settle_s",
    "trials",
    "publish_not_ready_addresses",
    "jvm_dns_cache_s",
    "jvm_dns_negative_cache_s",
    "settle",
    "deploy",
    "namespace",
    "kubeconfig",
    "context",
    "grace_period_s",
    "delete_pvcs",
    "attach",
}
# Keys that shape an ensemble peerchaos deploys: meaningless for one it attaches to.
DEPLOY_ONLY_KEYS = (
    "spec",
    "spec_overrides",
    "publish_not_ready_addresses",
    "jvm_dns_cache_s",
    "jvm_dns_negative_cache_s",
    "delete_pvcs",
)
SETTLE_MODES = ("back-to-back", "independent")
# Keys no peerchaos code reads itself; activities receive them through `${key}`.
SUBSTITUTED = {"trials": (int, 1, 1000), "settle_s": (float, 0, 3600)}
OBSERVER_KEYS = {
    "load_workers": (int, 0, 64),
    "dns_probes": (int, 0, 32),
    "keys": (int, 1, 1000),
    "concurrency": (int, 1, 64),
    "rate": (float, 0, 100000),
    "role_period_s": (float, 0.001, 10),
    "dns_period_s": (float, 0.001, 10),
    "op_timeout_s": (float, 0.05, 60),
}


@dataclass
class ExperimentConfig:
    name: str
    runtime: str
    spec: EnsembleSpec
    observers: dict[str, Any] = field(default_factory=dict)
    via: str = "service"
    allow_quorum_loss: bool = False
    results_dir: Path = Path("results")
    ray_address: str | None = None
    state_dir: Path | None = None
    restart_delay_s: float = 0.5
    deploy: str = "true"  # true: before the experiment; false: the method does; bootstrap;
    # attach: the StatefulSet `attach` names (the spec is then the ensemble seen)
    attach: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    grace_period_s: int = 0
    # The experiment's ensemble leaves nothing behind, and each run starts from empty data.
    delete_pvcs: bool = True
    settle: str = "back-to-back"  # or "independent" (see the module docstring)
    # The configuration as Chaos Toolkit loaded it: what `${key}` in an activity becomes.
    raw: dict[str, Any] = field(default_factory=dict)


def shown(key: Any) -> str:
    """A key or name as a message shows it: plain when it is a plain name, quoted otherwise
    (it may hold anything, a newline included)."""
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", text) else repr(key)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "experiment"


def number(value: Any, kind: type, low: float, high: float, where: str) -> Any:
    """A --var string or YAML number within [low, high]; one line naming `where` otherwise.

    Integers are integers: `true`, 2.7 and "2.7" are refused, never truncated."""
    try:
        if kind is int:
            return bounded.integer(value, int(low), int(high))
        return bounded.real(value, low, high)
    except ValueError as error:
        raise SpecError(f"{where}: {error}") from None


def _text(configuration: dict[str, Any], key: str) -> str | None:
    """An optional string setting (a path, a name, an address); None when absent, null or
    empty (a `--var key=` unsets it)."""
    value = configuration.get(key)
    if value is None or value == "":
        return None
    try:
        return bounded.text(value)
    except ValueError as error:
        raise SpecError(f"configuration.{key}: {error}") from None


def flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "yes", "1"):
        return True
    if str(value).lower() in ("false", "no", "0"):
        return False
    raise SpecError(f"{where}: must be true or false (got {value!r})")


def deploy_mode(value: Any) -> str:
    if str(value).lower() in ("bootstrap", "attach"):
        return str(value).lower()
    return "true" if flag(value, "configuration.deploy") else "false"


def attach_target(configuration: dict[str, Any], deploy: str, runtime: str) -> str | None:
    """The StatefulSet `attach: {statefulset: NAME}` names (deploy: attach only)."""
    raw = configuration.get("attach")
    if deploy != "attach":
        if raw is not None:
            raise SpecError(
                f"configuration.attach: only with deploy: attach (got deploy: {deploy})"
            )
        return None
    if runtime != "kubernetes":
        raise SpecError(f"configuration.deploy: attach needs runtime: kubernetes (got {runtime})")
    if not isinstance(raw, dict) or "statefulset" not in raw:
        raise SpecError(
            f"configuration.attach: must be a mapping {{statefulset: NAME}} (got {raw!r})"
        )
    unknown = sorted(str(k) for k in raw if k != "statefulset")
    if unknown:
        raise SpecError(f"configuration.attach.{unknown[0]}: unknown key (known: statefulset)")
    name = raw["statefulset"]
    if not isinstance(name, str) or len(name) > 63 or not DNS_LABEL.match(name):
        raise SpecError(
            "configuration.attach.statefulset: must be a StatefulSet name, a lowercase "
            f"RFC 1123 label of at most 63 characters (got {name!r})"
        )
    given = [key for key in DEPLOY_ONLY_KEYS if key in configuration]
    if given:
        raise SpecError(
            f"configuration.{given[0]}: not with deploy: attach (the attached StatefulSet's "
            "own settings are what is measured)"
        )
    return name


def read_config(configuration: dict[str, Any] | None, title: str = "") -> ExperimentConfig:
    """Validate every peerchaos key of an experiment's configuration."""
    if configuration is not None and not isinstance(configuration, dict):
        raise SpecError(f"configuration: must be a mapping (got {type(configuration).__name__})")
    configuration = dict(configuration or {})
    unknown = sorted((k for k in configuration if k not in KNOWN_KEYS), key=str)
    if unknown:
        raise SpecError(
            f"configuration.{shown(unknown[0])}: unknown key "
            f"(known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    runtime = configuration.get("runtime", "local")
    if runtime not in ("local", "kubernetes"):
        raise SpecError(f"configuration.runtime: must be local or kubernetes (got {runtime!r})")
    deploy = deploy_mode(configuration.get("deploy", True))
    attach = attach_target(configuration, deploy, runtime)
    spec = _spec(configuration, attach)
    observers, via = _observers(configuration.get("observers"))
    for key, (kind, low, high) in SUBSTITUTED.items():
        if configuration.get(key) is not None:
            number(configuration[key], kind, low, high, f"configuration.{key}")
    return ExperimentConfig(
        name=slug(_text(configuration, "name") or title),
        runtime=runtime,
        spec=spec,
        observers=observers,
        via=via,
        allow_quorum_loss=flag(
            configuration.get("allow_quorum_loss", False), "configuration.allow_quorum_loss"
        ),
        results_dir=Path(_text(configuration, "results_dir") or "results"),
        ray_address=_text(configuration, "ray_address") or None,
        state_dir=_state_dir(configuration),
        deploy=deploy,
        attach=attach,
        restart_delay_s=number(
            configuration.get("restart_delay_s", 0.5), float, 0, 60, "configuration.restart_delay_s"
        ),
        kubeconfig=_text(configuration, "kubeconfig") or None,
        context=_text(configuration, "context") or None,
        grace_period_s=number(
            configuration.get("grace_period_s", 0), int, 0, 3600, "configuration.grace_period_s"
        ),
        delete_pvcs=flag(configuration.get("delete_pvcs", True), "configuration.delete_pvcs"),
        settle=_settle(configuration),
        raw=configuration,
    )


def _state_dir(configuration: dict[str, Any]) -> Path | None:
    value = _text(configuration, "state_dir")
    return None if value is None else Path(value)  # None: a temp dir of the run's own


def _spec(configuration: dict[str, Any], attach: str | None) -> EnsembleSpec:
    raw_spec = configuration.get("spec")
    if attach is not None:
        # A stand-in until the StatefulSet is read (the session replaces it).
        namespace = _text(configuration, "namespace") or "default"
        spec = parse_spec({"name": attach, "namespace": namespace}, "configuration.namespace")
    elif raw_spec is None or isinstance(raw_spec, str | Path):
        if isinstance(raw_spec, str) and not raw_spec.strip():
            raise SpecError("configuration.spec: must be a path or a mapping (got '')")
        spec = load_spec(raw_spec)
    elif isinstance(raw_spec, dict):
        spec = parse_spec(raw_spec, "configuration.spec")
    else:
        raise SpecError(f"configuration.spec: must be a path or a mapping (got {raw_spec!r})")
    overrides = configuration.get("spec_overrides")
    overrides = {} if overrides is None else overrides
    if not isinstance(overrides, dict):
        raise SpecError(f"configuration.spec_overrides: must be a mapping (got {overrides!r})")
    # Shortcuts `--var` can set: one experiment file, run with either setting.
    overrides = dict(overrides)
    if "publish_not_ready_addresses" in configuration:
        overrides["publish_not_ready_addresses"] = flag(
            configuration["publish_not_ready_addresses"],
            "configuration.publish_not_ready_addresses",
        )
    if configuration.get("namespace") not in (None, "") and attach is None:
        overrides["namespace"] = _text(configuration, "namespace")
    for key in ("jvm_dns_cache_s", "jvm_dns_negative_cache_s"):
        if configuration.get(key) not in (None, "", "default"):
            overrides[key] = number(configuration[key], int, -1, 3600, f"configuration.{key}")
    if overrides:
        spec = spec_with_overrides(spec, overrides, "configuration.spec_overrides")
    return spec


def _observers(raw: Any) -> tuple[dict[str, Any], str]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SpecError(f"configuration.observers: must be a mapping (got {raw!r})")
    observers: dict[str, Any] = {}
    via = "service"
    for key, value in raw.items():
        where = f"configuration.observers.{shown(key)}"
        if key == "via":
            if value not in ("service", "pods"):
                raise SpecError(f"{where}: must be service or pods (got {value!r})")
            via = value
        elif key in OBSERVER_KEYS:
            kind, low, high = OBSERVER_KEYS[key]
            observers[key] = number(value, kind, low, high, where)
        else:
            raise SpecError(f"{where}: unknown key (known: via, {', '.join(OBSERVER_KEYS)})")
    return observers, via


def _settle(configuration: dict[str, Any]) -> str:
    settle = configuration.get("settle") or "back-to-back"
    if settle not in SETTLE_MODES:
        raise SpecError(
            f"configuration.settle: must be {' or '.join(SETTLE_MODES)} (got {settle!r})"
        )
    return str(settle)
