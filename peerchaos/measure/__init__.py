"""The numbers of a run, from its files alone (DESIGN.md, "Measurement definitions").

`measure(events, history, truth, meta)` turns a run directory's `events.jsonl`,
`history.jsonl`, the parsed peer logs and `meta.json` into trials and metrics. Each
trial runs from its fault to the next one (`windows`); its figures come from the role
probe (`roles`), the clients (`clients`), the DNS probes against the runtime's truth
(`dns`, `dnstruth`), the peers' logs (`groundtruth`, and the causes the system names),
the probes' health (`health`) and what earlier trials left (`effects`). A figure the
window ended before is censored (`stats`): null plus `<figure>_censored: true`.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure import clients, health, roles
from peerchaos.measure.dns import streams, trial_dns
from peerchaos.measure.dnstruth import Truth, cluster_from
from peerchaos.measure.effects import after_effects, ip_changes
from peerchaos.measure.groundtruth import log_lanes, trial_truth
from peerchaos.measure.stats import Value, distribution, figure, from_trial
from peerchaos.measure.windows import observation_end, trials
from peerchaos.systems import system_of

__all__ = ["Value", "distribution", "measure", "trials"]

DEFAULT_RESOLUTION = {"role_s": 0.01, "dns_s": 0.02}
DISTRIBUTIONS = (
    "election_time_s",
    "full_redundancy_s",
    "zero_tolerance_s",
    "client_unavailability_s",
    "write_recovery_s",
    "read_recovery_s",
)


class Run:
    """Everything a trial's figures are computed from, read once per run."""

    def __init__(
        self,
        events: list[dict[str, Any]],
        history: list[dict[str, Any]],
        truth: list[dict[str, Any]],
        meta: dict[str, Any],
    ) -> None:
        self.events = sorted(events, key=lambda e: e["t"])
        self.history = sorted(history, key=lambda o: o.get("mono", o["time"]))
        self.truth = sorted(truth, key=lambda e: e["t"])
        self.meta = meta
        spec = meta.get("spec") if isinstance(meta.get("spec"), dict) else {}
        # The system that made the run reads its logs and names its causes; its settings
        # sit beside the spec's own fields for them (`System.settings`).
        self.system = system_of(spec)
        self.spec = {**spec, **self.system.settings(spec)}
        self.roles = [e for e in self.events if e["kind"] == "role"]
        self.runtime = [e for e in self.events if e.get("source") == "runtime"]
        self.pods = {e["pod"] for e in self.roles}
        self.replicas = int(self.spec.get("replicas") or len(self.pods) or 1)
        cluster = cluster_from(self.events, meta)
        self.dns_truth = Truth(self.events, cluster) if cluster else None
        self.dns_streams = streams(self.events)
        self.acks = clients.ack_times(self.history)
        self.end = observation_end(self.events)
        self.gaps = health.probe_gaps(self.events, self.end)
        self.ip_changes = ip_changes(self.events)
        self.lanes = log_lanes(self.truth, self.events, self.system)
        start = next((e for e in self.events if e["kind"] == "observe_start"), None)
        self.observe_start = start["t"] if start else None
        config = (start or {}).get("config") or {}
        self.resolution = {
            "role_s": config.get("role_period_s", DEFAULT_RESOLUTION["role_s"]),
            "dns_s": config.get("dns_period_s", DEFAULT_RESOLUTION["dns_s"]),
            # Acks come about every 1/rate s per client process: a gap is known to that.
            "client_s": 1.0 / config["rate"] if config.get("rate") else None,
        }
        started = meta.get("started")
        self.t0 = started if isinstance(started, int | float) else self.observe_start


def _election(
    run: Run, t_fault: float, until: float, victims: list[str], kind: str
) -> dict[str, Any]:
    roles_in = [e for e in run.roles if e["t"] <= until]
    won = roles.election(roles_in, t_fault, until, set(victims), run.pods)
    anyone = roles.election(roles_in, t_fault, until, set(), run.pods)
    re_elected = won["s"] is None and anyone["leader"] in victims
    leader_before = next(
        (
            pod
            for pod, e in next(roles.replay(roles_in, t_fault, t_fault))[1].items()
            if e["mode"] == "leader"
        ),
        None,
    )
    # An election is due when the fault takes the leader out of service (an unready
    # leader keeps leading), or when there was none; one that came anyway is measured.
    takes_leader = kind in (*roles.LEAVES_AT_FAULT, "partition") and leader_before in victims
    expected = takes_leader or leader_before is None or anyone["leader"] is not None
    if won["s"] is not None:
        value: Value | None = Value.reached(won["s"])
    elif re_elected or not expected:
        value = None  # the definition leaves the victim out / no election was due
    else:
        value = Value.cut_short(until - t_fault)
    return {
        "won": won,
        "anyone": anyone,
        "re_elected": re_elected,
        "expected": expected,
        "value": value,
    }


def _fields(key: str, value: Value | None) -> dict[str, Any]:
    if value is None:
        return {key: None, f"{key.removesuffix('_s')}_censored": False}
    return figure(key, value)


def _merge(trial: dict[str, Any], fields: dict[str, Any]) -> None:
    censored = fields.pop("censored_at_s", None)
    trial.update(fields)
    if censored:
        trial.setdefault("censored_at_s", {}).update(censored)


def measure_trial(run: Run, window: dict[str, Any]) -> dict[str, Any]:
    fault, t_fault, until = window["fault"], window["t_fault"], window["until"]
    victims = list(fault.get("pods") or [])
    kind = str(fault.get("fault"))
    roles_in = [e for e in run.roles if e["t"] <= until]
    chosen = _election(run, t_fault, until, victims, kind)
    service = roles.Service(roles_in, t_fault, until, victims, kind, run.pods)
    kept = roles.redundancy(service)
    zero = roles.zero_tolerance(roles_in, t_fault, until, run.replicas, victims, kind)
    trial: dict[str, Any] = {
        "fault": fault,
        "t_fault": t_fault,
        "until": until,
        "window_s": until - t_fault,
        "at_s": t_fault - run.t0 if run.t0 is not None else None,
        "observed": run.observe_start is not None and t_fault >= run.observe_start,
        "election_expected": chosen["expected"],
        "new_leader": chosen["won"]["leader"],
        "new_epoch": chosen["won"]["epoch"],
        "victim_re_elected": chosen["re_elected"],
    }
    outages = kept["outages"]
    _merge(trial, _fields("election_time_s", chosen["value"]))
    _merge(trial, _fields("full_redundancy_s", kept["full"]))
    _merge(trial, _fields("zero_tolerance_s", zero))
    trial["peer_outage_s"] = {pod: v.s for pod, v in outages.items()}
    trial["peer_outage_censored"] = {pod: True for pod, v in outages.items() if v.censored}
    had_ops = bool(run.history)
    unavailable = clients.unavailability(run.acks, t_fault, until, had_ops)
    _merge(trial, _fields("client_unavailability_s", unavailable))
    trial["client_ops"] = clients.op_shares(run.history, t_fault, until)
    for key, fs in (("write_recovery_s", clients.WRITES), ("read_recovery_s", ("read",))):
        _merge(trial, _fields(key, clients.recovery(run.history, t_fault, until, fs)))
    heals = [
        e
        for e in run.runtime
        if e["kind"] == "heal" and e.get("fault") == kind and t_fault <= e["t"] <= until
    ]
    t_heal = heals[0].get("t_heal", heals[0]["t"]) if heals else None
    trial["t_heal"] = t_heal
    trial["write_recovery_after_heal_s"] = (
        None if t_heal is None else clients.first_ack_after(run.history, t_heal, clients.WRITES)
    )
    trial["victim_serving_again_s"] = roles.victim_serving_again(
        roles_in, t_fault, until, victims[0] if len(victims) == 1 else None
    )
    trial["dual_leader_s"] = roles.dual_leader_time(roles_in, t_fault, until)
    _dns(run, trial, t_fault, until)
    elected = chosen["anyone"] if chosen["re_elected"] else chosen["won"]
    trial["causes"] = run.system.trial_causes(
        run.truth,
        run.dns_truth,
        t_fault,
        until,
        run.spec,
        elected,
        victims,
        run.replicas,
        chosen["re_elected"],
        run.runtime,
    )
    trial["after_effects"] = after_effects(
        run.roles, run.ip_changes, run.gaps, run.spec, t_fault, run.system
    )
    spans = {
        key: (trial[key] if isinstance(trial.get(key), int | float) else until - t_fault)
        for key in health.ROLE_FIGURES + health.DNS_FIGURES[:1]
    }
    trial.update(health.trial_gaps(run.gaps, t_fault, until, spans))
    trial["resolution_s"] = run.resolution
    trial["ground_truth"] = _truth(run, trial, t_fault, until, victims, kind)
    return trial


def _dns(run: Run, trial: dict[str, Any], t_fault: float, until: float) -> None:
    found = trial_dns(run.dns_streams, run.dns_truth, t_fault, until)
    for view, key in (("raw", "dns_convergence_s"), ("cached", "dns_convergence_cached_s")):
        values = found["per_view"][view]
        trial[key] = {name: v.s for name, v in sorted(values.items())}
        trial[f"{key.removesuffix('_s')}_censored"] = {
            name: True for name, v in values.items() if v.censored
        }
    trial["dns"] = found["dns"]


def _truth(
    run: Run, trial: dict[str, Any], t_fault: float, until: float, victims: list[str], kind: str
) -> dict[str, Any]:
    truth = trial_truth(run.truth, run.lanes, run.pods, t_fault, until, victims, kind, run.system)
    endpoint_changes = [
        {"t": e["t"], "service": e["service"], "ready": e["ready"], "not_ready": e["not_ready"]}
        for e in run.runtime
        if e["kind"] == "endpoints" and t_fault <= e["t"] <= until
    ]
    dead = {
        e["ip"]
        for e in run.runtime
        if e["kind"] == "pod_exited" and e.get("ip") and t_fault <= e["t"] <= until
    }
    names = {
        stream.split(":", 1)[1]: probe.get("truth_s")
        for stream, probes in trial["dns"].items()
        for probe in probes.values()
        if probe.get("affected")
    }
    return {
        **truth,
        "election_time_error_s": _error(trial["election_time_s"], truth["leader_serving_s"]),
        "full_redundancy_error_s": _error(trial["full_redundancy_s"], truth["full_redundancy_s"]),
        "first_endpoint_change_s": endpoint_changes[0]["t"] - t_fault if endpoint_changes else None,
        "endpoint_changes": endpoint_changes,
        "dns_truth_s": dict(sorted(names.items())),
        "dead_ips": sorted(dead),
    }


def _error(measured: Any, truth: Any) -> float | None:
    if isinstance(measured, int | float) and isinstance(truth, int | float):
        return measured - truth
    return None


def _values(trials_: list[dict[str, Any]], key: str) -> list[Value]:
    return [v for t in trials_ if (v := from_trial(t, key)) is not None]


def metrics(observed: list[dict[str, Any]]) -> dict[str, Any]:
    """Distributions over the observed trials, censored trials counted."""
    elections = [t for t in observed if t["election_expected"] and not t["victim_re_elected"]]
    result = {"election_time_s": distribution(_values(elections, "election_time_s"))}
    for key in DISTRIBUTIONS[1:]:
        result[key] = distribution(_values(observed, key))
    outages = [
        Value(None, True, t["window_s"]) if t["peer_outage_censored"].get(pod) else Value(s)
        for t in observed
        for pod, s in t["peer_outage_s"].items()
    ]
    result["peer_outage_s"] = distribution(outages)
    for key in ("dns_convergence_s", "dns_convergence_cached_s"):
        censored = f"{key.removesuffix('_s')}_censored"
        result[key] = distribution(
            [
                Value(None, True, t["window_s"]) if t[censored].get(name) else Value(s)
                for t in observed
                for name, s in t[key].items()
            ]
        )
    for key in ("leader_serving_s", "full_redundancy_s"):
        found = [t["ground_truth"][key] for t in observed]
        result[f"ground_truth_{key}"] = distribution(
            [Value(float(v)) for v in found if isinstance(v, int | float)]
        )
    return result


def measure(
    events: list[dict[str, Any]],
    history: list[dict[str, Any]],
    truth: list[dict[str, Any]],
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Trials and metrics for a run."""
    run = Run(events, history, truth, meta or {})
    measured = [measure_trial(run, window) for window in trials(run.events)]
    # A fault injected before the observers ran cannot be measured from the probes.
    measured = [t for t in measured if t["observed"]] + [t for t in measured if not t["observed"]]
    observed = [t for t in measured if t["observed"]]
    return {
        "trials": measured,
        "metrics": metrics(observed),
        "resolution_s": run.resolution,
        "probe_health": {
            "recorded": health.has_heartbeats(run.events),
            "gaps": len(run.gaps),
        },
    }
