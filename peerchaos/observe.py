"""Observing a run: start the Ray observers, stop them, collect evidence, summarise.

`Observers` owns the actors of one run (load workers, one role probe, DNS probes); they
append to the run dir's `events.jsonl` and `history.jsonl` as they go. `collect` adds
what only the runtime knows (its own pod/endpoint/fault events, the peers' logs and the
ground truth parsed from them); `summarize` computes `summary.json` from the files.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from peerchaos.actors import (
    DnsProbeActor,
    LoadWorkerActor,
    RoleProbeActor,
    ray,
    ray_processes,
    start_ray,
)
from peerchaos.events import JsonlAppender, event, read_jsonl
from peerchaos.external import external_faults
from peerchaos.load import LoadProfile
from peerchaos.measure import measure
from peerchaos.rundir import RunDir
from peerchaos.runtime.base import Runtime
from peerchaos.systems import get_system, system_of


@dataclass
class ObserverConfig:
    load_workers: int = 2
    load: LoadProfile = field(default_factory=LoadProfile)
    via: str = "service"  # "service": through the client Service; "pods": straight to the peers
    role_period_s: float = 0.01
    dns_probes: int = 3
    dns_period_s: float = 0.02
    ray_address: str | None = None
    ray_temp_root: str | None = None


def dns_names(status: dict[str, Any]) -> list[str]:
    """The headless name, every pod's name and every client Service's name."""
    suffix = f"{status['namespace']}.svc.cluster.local"
    headless = f"{status['headless_service']}.{suffix}"
    names = [headless] + [f"{p['name']}.{headless}" for p in status["pods"]]
    return names + [f"{svc}.{suffix}" for svc in status["cluster_ips"]]


def cluster_snapshot(status: dict[str, Any]) -> dict[str, Any]:
    """Pods, endpoints and Service IPs as the runtime sees them now."""
    return {
        "namespace": status.get("namespace"),
        "headless_service": status.get("headless_service"),
        "cluster_ips": status.get("cluster_ips") or {},
        "pods": [{k: p.get(k) for k in ("name", "ip", "phase", "ready")} for p in status["pods"]],
        "endpoints": status.get("endpoints") or [],
    }


class Observers:
    """The Ray actors of one run."""

    def __init__(self, runtime: Runtime, run: RunDir, config: ObserverConfig) -> None:
        self.runtime = runtime
        self.run = run
        self.config = config
        self.load: list[Any] = []
        self.probes: list[Any] = []
        self.started_at: float | None = None
        self.stats: dict[str, Any] = {}
        self._recording: threading.Event | None = None

    def _hosts(self, status: dict[str, Any]) -> str:
        if self.config.via == "pods":
            port = status["client_port"]
            return ",".join(f"{p['ip']}:{port}" for p in status["pods"] if p["ip"])
        host, port = self.runtime.client_service_address()
        return f"{host}:{port}"

    def start(self) -> None:
        start_ray(self.config.ray_address, self.config.ray_temp_root)
        status = self.runtime.status()
        events, history = str(self.run.events), str(self.run.history)
        profile = {**asdict(self.config.load), "prefix": self.run.run_id}
        hosts = self._hosts(status)
        system = self.runtime.system()
        self.load = [
            LoadWorkerActor.remote(f"w{i}", hosts, history, profile, seed=i, system=system)
            for i in range(self.config.load_workers)
        ]
        ray.get([worker.connect.remote() for worker in self.load])
        locator = self.runtime.locator()
        self.probes = [
            RoleProbeActor.remote(locator, events, self.config.role_period_s, system=system)
        ]
        server = self.runtime.dns_server()
        names = dns_names(status)
        self.probes += [
            DnsProbeActor.remote(f"p{i}", server, names, events, self.config.dns_period_s)
            for i in range(self.config.dns_probes)
        ]
        ray.get([actor.start.remote() for actor in self.probes + self.load])
        if self.config.ray_temp_root and self.runtime.helper_watch() is not None:
            # Written down so the ensemble's teardown can end them if this process cannot;
            # again every few seconds, as the raylet starts its agents lazily.
            self._recording = threading.Event()
            self._write_helpers()  # before the method starts, not a moment later
            threading.Thread(target=self._record_helpers, daemon=True).start()
        self.started_at = time.time()
        with JsonlAppender(self.run.events) as log:
            log.append(
                event(
                    "observers",
                    "observe_start",
                    load_workers=len(self.load),
                    config=self._config_record(),
                    # What DNS should answer from here on is replayed from this snapshot
                    # and the runtime's own changes after it (measure.dnstruth).
                    cluster=cluster_snapshot(self.runtime.status()),
                )
            )

    def _config_record(self) -> dict[str, Any]:
        """Probe periods and load: the resolution every figure is stated with."""
        load = self.config.load
        return {
            "role_period_s": self.config.role_period_s,
            "dns_period_s": self.config.dns_period_s,
            "dns_probes": self.config.dns_probes,
            "load_workers": self.config.load_workers,
            "concurrency": load.concurrency,
            "rate": load.rate,
            "op_timeout_s": load.op_timeout_s,
            "via": self.config.via,
        }

    def _write_helpers(self) -> None:
        watch = self.runtime.helper_watch()
        if watch is None:
            return
        helpers, plane = watch
        tmp = helpers.with_suffix(".tmp")
        tmp.write_text(json.dumps(ray_processes({plane} if plane else set())))
        tmp.replace(helpers)

    def _record_helpers(self) -> None:
        while self._recording is not None and not self._recording.wait(2.0):
            self._write_helpers()

    def stop(self, final_reads: bool = True) -> dict[str, Any]:
        """Stop load, do the final reads (faults must be healed by now), stop the probes."""
        if self._recording is not None:
            self._recording.set()
        stats = ray.get([worker.stop.remote() for worker in self.load]) if self.load else []
        finals = ray.get([w.final_reads.remote() for w in self.load]) if final_reads else []
        intervals = ray.get([probe.stop.remote() for probe in self.probes])
        ray.get([worker.close.remote() for worker in self.load])
        for actor in self.load + self.probes:
            ray.kill(actor)
        self.load, self.probes = [], []
        with JsonlAppender(self.run.events) as log:
            log.append(event("observers", "observe_stop"))
        self.stats = {"load": stats, "final_reads": finals, "probe_intervals": intervals}
        return self.stats


def collect(runtime: Runtime, run: RunDir, since: float) -> None:
    """Add the runtime's events since `since`, the peers' logs and the ground truth."""
    with JsonlAppender(run.events) as log:
        for record in runtime.runtime_events(since):
            log.append({**record, "mono": record.get("mono")})
    # Whatever happened that no peerchaos fault explains is a trial too (another tool's
    # kill, a crash): written as external fault events beside the runtime's own.
    with JsonlAppender(run.events) as log:
        for record in external_faults(read_jsonl(run.events)):
            log.append(record)
    runtime.copy_logs(run.peers)
    truth = get_system(runtime.system()).parse_logs(run.peers)
    run.write_json(run.ground_truth, {"log_events": truth})


def summarize(run: RunDir, status: str = "completed", extra: dict[str, Any] | None = None) -> dict:
    """Compute `summary.json` from the run dir's files alone."""
    events = read_jsonl(run.events)
    history = read_jsonl(run.history)
    meta = run.read_json(run.meta, {}) or {}
    if any(run.peers.glob("*.log")):
        # The peers' own logs are the source; parsing them again keeps ground_truth.json
        # in step with the parser (a run recorded before it learnt a line still gains it).
        truth = system_of(meta.get("spec")).parse_logs(run.peers)
        run.write_json(run.ground_truth, {"log_events": truth})
    else:
        truth = (run.read_json(run.ground_truth, {}) or {}).get("log_events", [])
    before = run.read_json(run.summary, {}) or {}
    result = measure(events, history, truth, meta)
    checks = run_checks(history, full=system_of(meta.get("spec")).linearizable_reads)
    summary = {
        "experiment": meta.get("experiment", run.experiment),
        "run_id": run.run_id,
        "runtime": meta.get("runtime", "local"),
        "status": meta.get("status", status),
        # What the control added at the end of a `chaos run` survives a recompute.
        **{k: before[k] for k in ("faults", "deviated", "failure_reasons") if k in before},
        **(extra or {}),
        "ops": len([op for op in history if op.get("type") != "invoke"]),
        "trials": result["trials"],
        "metrics": result["metrics"],
        "resolution_s": result["resolution_s"],
        "probe_health": result["probe_health"],
        "checks": checks,
    }
    run.write_json(run.summary, summary)
    return summary


def run_checks(history: list[dict[str, Any]], full: bool = False) -> dict[str, Any]:
    """The checks of a history; `full`: reads too (a system promising linearizable reads)."""
    from peerchaos.checker import check_all
    from peerchaos.history import Op

    ops = [Op.from_dict({**op, "index": i}) for i, op in enumerate(history)]
    return check_all(ops, full=full).to_dict()
