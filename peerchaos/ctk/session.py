"""One `chaos run` of a peerchaos experiment: its runtime, run dir, observers and summary.

Chaos Toolkit calls activities and controls as plain functions; they share this
session. The control creates it before the experiment; an activity used without the
control gets one from its `configuration` on first use.

Unless the configuration names a state dir, a run gets a private one of its own
(`/run/peerchaos/run-*` as root), and on the local runtime a watchdog that removes
everything the run started should this process die without tearing down.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peerchaos.ctk.config import ExperimentConfig, read_config
from peerchaos.errors import PeerchaosError
from peerchaos.rundir import RunDir
from peerchaos.runtime.base import Runtime
from peerchaos.runtime.local import ownership


@dataclass
class Session:
    config: ExperimentConfig
    runtime: Runtime
    state_dir: Path
    owns_state_dir: bool
    run: RunDir | None = None
    observers: Any = None
    since: float = field(default_factory=time.time)
    summary: dict[str, Any] | None = None
    trials: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    deployed: bool = False
    finished: bool = False
    method_started: bool = False  # measured probes have nothing to say before it


_current: Session | None = None


def open_session(configuration: dict[str, Any] | None, title: str = "") -> Session:
    """The session of this process, created from `configuration` if there is none."""
    global _current
    if _current is not None and not _current.finished:
        return _current
    config = read_config(configuration, title)
    owns = config.state_dir is None
    # Each run gets its own state dir, so a `peerchaos up` ensemble is never touched.
    state_dir = config.state_dir or run_state_dir(config)
    runtime = make_runtime(config, state_dir, owns)
    if config.deploy == "attach":
        from peerchaos.runtime.kubernetes.attached import AttachedRuntime

        assert isinstance(runtime, AttachedRuntime)
        try:
            runtime.attach()  # reads the StatefulSet; one line when it cannot be attached
        except BaseException:
            if owns:
                with contextlib.suppress(PeerchaosError):
                    ownership.remove_owned(state_dir)
            raise
        # The ensemble is the StatefulSet as read: its spec is what the activities'
        # checks, the observers and measurement use from here on.
        config.spec = runtime.spec
    _current = Session(config, runtime, state_dir, owns)
    return _current


def run_state_dir(config: ExperimentConfig) -> Path:
    """A new private state dir for this run (0700, with its marker)."""
    if config.runtime == "local":
        from peerchaos.runtime.local.watchdog import guarded_run_dir

        return guarded_run_dir(os.getpid())
    return ownership.create_run_dir()[0]


def make_runtime(config: ExperimentConfig, state_dir: Path, owns: bool) -> Runtime:
    """The runtime the configuration names, keeping its state in `state_dir`."""
    if config.deploy == "attach" and config.attach is not None:
        from peerchaos.runtime.kubernetes.attached import AttachedRuntime

        return AttachedRuntime(
            config.spec.namespace,
            config.attach,
            state_dir,
            kubeconfig=config.kubeconfig,
            context=config.context,
            grace_period_s=config.grace_period_s,
            watch=True,  # started by the control: nothing is applied
        )
    if config.runtime == "kubernetes":
        from peerchaos.runtime.kubernetes.runtime import KubernetesRuntime

        return KubernetesRuntime(
            config.spec,
            state_dir,
            kubeconfig=config.kubeconfig,
            context=config.context,
            grace_period_s=config.grace_period_s,
            delete_pvcs=config.delete_pvcs,
            watch=True,  # the cluster's pod and endpoint changes: ground truth of the run
        )
    from peerchaos.runtime.local.runtime import LocalRuntime

    return LocalRuntime(
        state_dir,
        config.spec.local,
        restart_delay_s=config.restart_delay_s,
        # If this process dies without tearing down (SIGKILL), the control plane does.
        owner_pid=os.getpid() if owns else None,
    )


def current() -> Session | None:
    return _current


def close_session() -> None:
    """Forget the session; a temp state dir it made and never used goes too."""
    global _current
    if _current is not None:
        _current.finished = True
        # Nothing of an attached ensemble is ever up: its state dir holds only what
        # peerchaos broke and has not healed yet.
        attached = getattr(_current.runtime, "holds_faults", None)
        keep = attached() if attached is not None else _current.runtime.is_up()
        if _current.owns_state_dir and not keep:
            with contextlib.suppress(PeerchaosError):
                ownership.remove_owned(_current.state_dir)
            from peerchaos.runtime.local.watchdog import RUN_ID_ENV

            os.environ.pop(RUN_ID_ENV, None)  # processes started later are not this run's
    _current = None
