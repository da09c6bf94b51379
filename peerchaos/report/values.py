"""A measured figure as the report reads and writes it: a number, "> X s" or "—".

`summary.json` holds a trial's figure as seconds, or as `null` with
`<figure>_censored: true` and its lower bound under `censored_at_s` when the trial's
window ended first (`peerchaos.measure.stats`). The report never shows a censored figure
as a number and never drops it: it reads "> X s". `null` without the flag means the
figure does not apply (no election was due) and reads "—". Summaries written before the
censoring existed simply lack the flags; their figures read as before.
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure.stats import Value, from_trial

DASH = "—"


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def seconds(value: Any, signed: bool = False) -> str:
    if not number(value):
        return DASH
    return f"{value:+.3f} s" if signed else f"{value:.3f} s"


def value_text(value: Value | None) -> str:
    """ "1.284 s", "> 12.560 s" or "—"."""
    if value is None:
        return DASH
    if value.censored:
        return f"> {value.at_least:.3f} s" if value.at_least is not None else "> ? s"
    return seconds(value.s)


def trial_value(trial: dict[str, Any], key: str) -> Value | None:
    """The trial's figure `key` as a Value; a censored one without its bound gets the
    trial's window (the figure was not reached within it)."""
    found = from_trial(trial, key)
    if found is not None and found.censored and found.at_least is None:
        window = trial.get("window_s")
        return Value(None, True, float(window)) if number(window) else found
    return found


def trial_figure(trial: dict[str, Any], key: str) -> str:
    return value_text(trial_value(trial, key))


def stat_value(dist: dict[str, Any], stat: str) -> Value | None:
    """A statistic of a `metrics` entry; censored as `<stat>_censored` + `<stat>_at_least`."""
    if dist.get(f"{stat}_censored"):
        bound = dist.get(f"{stat}_at_least")
        return Value(None, True, float(bound) if number(bound) else None)
    found = dist.get(stat)
    return Value(float(found)) if number(found) else None


def stat_text(dist: dict[str, Any] | None, stat: str) -> str:
    return value_text(stat_value(dist, stat)) if isinstance(dist, dict) else DASH


def count_text(dist: dict[str, Any] | None) -> str:
    """n, and how many of them were censored."""
    if not isinstance(dist, dict) or not number(dist.get("n")):
        return DASH
    censored = dist.get("n_censored")
    if number(censored) and censored:
        return f"{dist['n']} ({censored} censored)"
    return str(dist["n"])


def share(value: Any) -> str:
    """A fraction as a percentage."""
    return f"{100 * value:.1f} %" if number(value) else DASH


def milliseconds(value: Any) -> str:
    if not number(value):
        return DASH
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:g} s"


def worst(values: list[Value | None]) -> Value | None:
    """The largest figure; a censored one (a lower bound) outranks every reached one."""
    found = [v for v in values if v is not None and (v.censored or v.s is not None)]
    if not found:
        return None
    return max(found, key=lambda v: (v.censored, (v.at_least if v.censored else v.s) or 0.0))


def dict_of(value: Any) -> dict[str, Any]:
    """`value` when it is a dict, else an empty one (a hand-edited summary may hold anything)."""
    return value if isinstance(value, dict) else {}


def list_of(value: Any) -> list[Any]:
    """`value` when it is a list, else an empty one."""
    return value if isinstance(value, list) else []
