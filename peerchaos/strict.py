"""Strict pydantic models and their errors as the one line peerchaos speaks.

Specs (and anything else modelled with pydantic) take values as YAML wrote them — `true`
is not 1, `"3"` is not 3, NaN is no number — and a `ValidationError` becomes
``<source>: <field.path>: <problem> (got <value>)``, the first problem only.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _kinds(annotation: Any) -> set[Any]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set(typing.get_args(annotation))
    return {annotation}


class Strict(BaseModel):
    """Unknown fields refused, frozen, finite numbers, values typed as written."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _typed_as_written(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML's own types, not pydantic's coercions: `true` is not 1, "3" is not 3."""
        kinds = _kinds(cls.model_fields[info.field_name].annotation)
        if bool in kinds:
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false (got {value!r})")
        elif kinds & {int, float} and isinstance(value, bool | str):
            what = "an integer" if int in kinds else "a number"
            raise ValueError(f"must be {what} (got {value!r})")
        return value


def _part(part: Any) -> str:
    # A key someone typed may hold anything, a newline included: quote all but plain names.
    text = str(part)
    return text if _PLAIN_KEY.fullmatch(text) else repr(part)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(_part(part) for part in loc) or "(top level)"


# Pydantic's wording ("Input should be less than or equal to 9") rephrased as the rest of
# peerchaos speaks ("must be at most 9"); `ctx` carries the limit. Unlisted types keep theirs.
_PLAIN_MESSAGES = {
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of fields",
    "model_type": "must be a mapping of fields",
    "literal_error": "must be {expected}",
    "extra_forbidden": "unknown field",
    "finite_number": "must be a finite number",
}


def _plain(value: Any) -> Any:
    # Limits declared on float fields arrive as 0.0 / 300.0; a person wrote 0 and 300.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _seen(first: Any, message: str) -> str:
    """The " (got ...)" suffix: what the person wrote, unless the message already says."""
    if "input" not in first or first["type"] in ("missing", "extra_forbidden"):
        return ""
    if "got" in message:
        return ""
    seen = first["input"]
    if isinstance(seen, dict | list):
        # Model-level validators say what they saw; a whole mapping would only add noise.
        # A wrong container type is still worth naming, briefly.
        return f" (got {type(seen).__name__})" if first["type"].endswith("_type") else ""
    shown = repr(seen)
    if len(shown) > 80:  # one line, not a pasted file
        shown = f"{shown[:60]}… ({len(shown)} characters)"
    return f" (got {shown})"


def first_error_line(
    error: ValidationError,
    source: str,
    rename: typing.Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None,
) -> str:
    """The first problem as one line; `rename` maps its field path to the one the person
    wrote (a field they wrote elsewhere, moved before validation)."""
    first = error.errors()[0]
    if rename is not None:
        first = {**first, "loc": rename(tuple(first["loc"]))}
    template = _PLAIN_MESSAGES.get(first["type"])
    if template is not None:
        ctx = {key: _plain(value) for key, value in first.get("ctx", {}).items()}
        message = template.format(**ctx)
    else:
        message = first["msg"].removeprefix("Value error, ")
    return f"{source}: {_field_path(first['loc'])}: {message}{_seen(first, message)}"
