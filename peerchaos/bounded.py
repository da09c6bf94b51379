"""Numbers and names a person typed, checked against their limits before anything runs.

One set of rules for every entry point — CLI options, `--var` values, the experiment's
configuration and activity arguments — so `trials` means the same everywhere:

- an integer is an integer: `true` is not 1, 2.7 is not 2, "2.7" is not 2 (2.0, "2" and
  "2.0" are);
- a number is finite: NaN and infinity are refused, since every comparison with NaN is
  false and would switch a limit off;
- a string may stand for a number (a `--var` or an option always arrives as one).

Each check raises `ValueError` with the problem alone ("must be between 1 and 1000
(got -5)"); callers prefix the field they checked.
"""

from __future__ import annotations

import math
import re
from typing import Any

# A run's or experiment's name becomes a directory: one path component, no hidden names.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _limits(low: float | None, high: float | None, above: bool) -> str:
    if low is not None and high is not None and not above:
        return f"must be between {low:g} and {high:g}"
    if low is not None and high is not None:
        return f"must be greater than {low:g} and at most {high:g}"
    if low is not None:
        return f"must be greater than {low:g}" if above else f"must be at least {low:g}"
    return f"must be at most {high:g}"


def _in_range(value: float, seen: Any, low: float | None, high: float | None, above: bool) -> None:
    too_low = low is not None and (value <= low if above else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        raise ValueError(f"{_limits(low, high, above)} (got {seen!r})")


def _integer_text(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        pass
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"must be an integer (got {value!r})") from None
    if not math.isfinite(number):
        raise ValueError(f"must be an integer (got {value!r})")
    if not number.is_integer():
        raise ValueError(f"must be a whole number (got {value!r})")
    return int(number)


def integer(value: Any, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int within [low, high]; whole floats and integer strings pass."""
    if isinstance(value, bool):
        raise ValueError(f"must be an integer, not true/false (got {value!r})")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be a whole number (got {value!r})")
        result = int(value)
    elif isinstance(value, str):
        result = _integer_text(value)
    else:
        raise ValueError(f"must be an integer (got {value!r})")
    _in_range(result, value, low, high, above=False)
    return result


def real(
    value: Any, low: float | None = None, high: float | None = None, above: bool = False
) -> float:
    """`value` as a finite float within [low, high] (or (low, high] with `above`)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not true/false (got {value!r})")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise ValueError(f"must be a number (got {value!r})") from None
    else:
        raise ValueError(f"must be a number (got {value!r})")
    if not math.isfinite(result):
        raise ValueError(f"must be a finite number (got {value!r})")
    _in_range(result, value, low, high, above)
    return result


def text(value: Any, allow_empty: bool = False) -> str:
    """A one-line string (a path, a context name, an address)."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string (got {value!r})")
    if not allow_empty and not value.strip():
        raise ValueError(f"must not be empty (got {value!r})")
    if any(ch in value for ch in "\n\r\0"):
        raise ValueError(f"must be one line without NUL (got {value!r})")
    return value


def name(value: Any) -> str:
    """A name that becomes one directory: letters, digits, '.', '_', '-', 100 at most."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise ValueError(
            "must be letters, digits, '.', '_' or '-', starting with a letter or digit, "
            f"at most 100 (got {value!r})"
        )
    return value
