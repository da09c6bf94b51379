"""Trials and their windows: which fault events make one trial, and how long it is watched.

One fault on several pods is one trial. The nemesis writes a `trial` marker naming the
pods it hit; the runtime writes one `fault` event per pod (a partition: one per group
set). Events a marker names are grouped under it; events no marker explains (a run
without markers, a fault by hand) are grouped when they are of the same kind and follow
each other within `GROUP_S`. A trial's window runs from its fault to the next trial's
fault, or to the end of the observation.
"""

from __future__ import annotations

from typing import Any

GROUP_S = 0.25  # unmarked fault events this close together are one fault on several pods
MARKER_SLACK_S = 2.0  # a marked fault's per-pod events all follow the marker's t_fault


def _t_fault(event: dict[str, Any]) -> float:
    return float(event.get("t_fault", event["t"]))


def _pods_of(event: dict[str, Any]) -> list[str]:
    if event.get("pod"):
        return [str(event["pod"])]
    return [str(p) for group in event.get("groups") or [] for p in group]


def _victims(event: dict[str, Any]) -> list[str]:
    """The pods a fault event hit: its pod, or for a partition the smallest group (the
    side cut off; every group lists pods, but the majority side was not the target)."""
    if event.get("pod"):
        return [str(event["pod"])]
    groups = [list(map(str, g)) for g in event.get("groups") or [] if g]
    return min(groups, key=len) if groups else []


def _fault_fields(kind: str, members: list[dict[str, Any]], marker: dict | None) -> dict:
    pods: list[str] = []
    if marker and marker.get("pods") and kind != "endpoints":
        pods = [str(p) for p in marker["pods"]]  # what the nemesis aimed at
    for event in members if not pods else []:
        pods += [p for p in _victims(event) if p not in pods]
    first = members[0] if members else (marker or {})
    fields: dict[str, Any] = {"fault": kind, "pods": pods, "pod": pods[0] if pods else None}
    ips = [e["ip"] for e in members if e.get("ip")]
    if ips:
        fields["ip"] = ips[0]
        fields["ips"] = ips
    for key in ("groups", "service"):
        if first.get(key):
            fields[key] = first[key]
    fields["source"] = "external" if first.get("source") == "external" else "peerchaos"
    if marker:
        fields["target"] = marker.get("target")
    for key in ("observed_by", "reason"):  # how an external fault was recognised
        if first.get(key):
            fields[key] = first[key]
    return fields


def _grouped(faults: list[dict[str, Any]], markers: list[dict[str, Any]]) -> list[dict]:
    taken: set[int] = set()
    groups = []
    for marker in sorted(markers, key=_t_fault):
        start = _t_fault(marker)
        wanted = set(marker.get("pods") or [])
        members = []
        for i, event in enumerate(faults):
            in_time = start - 0.001 <= _t_fault(event) <= start + MARKER_SLACK_S
            same = event.get("fault") == marker.get("fault")
            named = not wanted or bool(wanted & set(_pods_of(event))) or event.get("service")
            if i not in taken and in_time and same and named:
                taken.add(i)
                members.append(event)
        kind = str(marker.get("fault"))
        t_fault = min([start] + [_t_fault(e) for e in members])
        groups.append({"t_fault": t_fault, "fault": _fault_fields(kind, members, marker)})
    loose = [e for i, e in enumerate(faults) if i not in taken]
    run: list[dict[str, Any]] = []
    for event in [*loose, None]:  # type: ignore[list-item]
        same = (
            event is not None
            and run
            and event.get("fault") == run[0].get("fault")
            and event.get("source") == run[0].get("source")
            and _t_fault(event) - _t_fault(run[-1]) <= GROUP_S
            and not set(_pods_of(event)) & {p for e in run for p in _pods_of(e)}
        )
        if same:
            run.append(event)
            continue
        if run:
            kind = str(run[0].get("fault"))
            groups.append({"t_fault": _t_fault(run[0]), "fault": _fault_fields(kind, run, None)})
        run = [event] if event is not None else []
    return sorted(groups, key=lambda g: g["t_fault"])


def observation_end(events: list[dict[str, Any]]) -> float:
    """When watching stopped: the observers' stop, else the last event."""
    stops = [e["t"] for e in events if e["kind"] == "observe_stop"]
    return max(stops) if stops else max((e["t"] for e in events), default=0.0)


def trials(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each trial: its fault (kind, pods, source), `t_fault` and `until`, in time order."""
    faults = sorted((e for e in events if e["kind"] == "fault"), key=_t_fault)
    markers = [e for e in events if e["kind"] == "trial"]
    groups = _grouped(faults, markers)
    end = observation_end(events)
    windows = []
    for i, group in enumerate(groups):
        until = groups[i + 1]["t_fault"] if i + 1 < len(groups) else max(end, group["t_fault"])
        windows.append({**group, "until": until})
    return windows
