"""The system's part of an ensemble spec: its defaults, its settings group, older spellings.

- The values that depend on the system — the ensemble's name, the image, the Services'
  names and ports, the readiness probe's kind — come from `System.spec_defaults()` where
  the spec does not set them.
- Each system's own settings live in its group (`zookeeper: {tick_time_ms: 500}`). A
  setting written at the top level, as specs did before the groups (`tick_time_ms: 500`),
  is moved into its group; written both ways with different values it is refused in one
  line; a problem with it is named as it was written (`rename`).
- Overrides (`spec_overrides`, `--var jvm_dns_cache_s`) replace a system's settings one
  by one, whichever way either side writes them (`merge_overrides`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peerchaos.systems import DEFAULT_SYSTEM, all_systems, get_system, unavailable_reason


def readiness_kinds() -> tuple[str, ...]:
    """Every readiness kind of every available system, in registry order."""
    kinds: list[str] = []
    for system in all_systems():
        kinds += [kind for kind in system.readiness_kinds if kind not in kinds]
    return tuple(kinds)


def _moved(data: dict[str, Any]) -> dict[str, list[str]]:
    """Group -> the settings `data` writes at the top level that belong to it."""
    return {
        system.name: [key for key in system.top_level_keys if key in data]
        for system in all_systems()
        if any(key in data for key in system.top_level_keys)
    }


def lift(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its top-level system settings moved into their groups (ValueError when
    one is given both ways with different values)."""
    moved = _moved(data)
    if not moved:
        return data
    lifted = dict(data)
    for group, keys in moved.items():
        inside = lifted.get(group, {})
        if not isinstance(inside, dict):
            continue  # the group's own type error names it
        for key in keys:
            if key in inside and inside[key] != data[key]:
                raise ValueError(
                    f"{key} is given twice, at the top level ({data[key]!r}) and as "
                    f"{group}.{key} ({inside[key]!r}); write it once"
                )
        lifted[group] = {**inside, **{key: lifted.pop(key) for key in keys}}
    return lifted


def with_defaults(defaults: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """`data` with `defaults` where it sets nothing (mappings merged key by key)."""
    merged = dict(data)
    for key, value in defaults.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = with_defaults(value, merged[key])
    return merged


def prepare(data: dict[str, Any]) -> dict[str, Any]:
    """Settings into their groups, then the named system's defaults (an unknown system:
    none, so that the `system` field's own error is the one named)."""
    data = lift(data)
    name = data.get("system", DEFAULT_SYSTEM)
    if not isinstance(name, str) or unavailable_reason(name) is not None:
        return data
    return with_defaults(get_system(name).spec_defaults(), data)


def rename(data: Any) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """A field path inside a group, for a setting `data` wrote at the top level, as written."""
    moved = _moved(data) if isinstance(data, dict) else {}

    def written(loc: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(loc) >= 2 and loc[1] in moved.get(loc[0], ()):
            return loc[1:]
        return loc

    return written


def merge_overrides(dump: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A spec dump with `overrides` applied: top-level fields replaced as a whole, a
    system's settings one by one (the result writes the dump's at the top level, so a
    problem with an override is named as the override wrote it)."""
    merged = dict(dump)
    replaced = dict(overrides)
    for system in all_systems():
        group = merged.get(system.name)
        if not isinstance(group, dict):
            continue
        given = overrides.get(system.name)
        given = given if isinstance(given, dict) else None
        flat = {
            key: value
            for key, value in group.items()
            if key in system.top_level_keys and (given is None or key not in given)
        }
        rest = {key: value for key, value in group.items() if key not in flat}
        del merged[system.name]
        for key, value in flat.items():
            merged.setdefault(key, value)
        if given is not None:
            merged[system.name] = {**rest, **given}
            del replaced[system.name]
        elif rest:
            merged[system.name] = rest
    merged.update(replaced)
    return merged
