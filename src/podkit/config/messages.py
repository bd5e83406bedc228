"""A pydantic error on podkit.toml -> (what is wrong, the fix), in words.

No regex, class name or pydantic phrasing reaches the user, and a value is shown at most once
(never under `worker` or `smoke`, whose values may be secrets). Ranges come from the schema's
own bounds, so the message and docs/config.md say the same thing.
"""

from __future__ import annotations

import difflib
import tomllib
import typing
from collections.abc import Sequence
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.functional_validators import BeforeValidator

from podkit.config.durations import format_duration, parse_duration

Loc = tuple[str | int, ...]

# Values under these sections may be secrets (an env value, a mistyped secret, a job input):
# messages about them never repeat what the file holds, except the keys known to hold plain
# numbers. ([[models]] sources arrive masked.)
PRIVATE_ROOTS = frozenset({"worker", "smoke"})
PLAIN_KEYS = frozenset({("worker", "container_disk_gb"), ("worker", "ports")})
RESERVED_KEYS = frozenset({"environment"})

_EXPECTED = {
    "string_type": "text in quotes",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list [...]",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
_EXAMPLE = {
    "text in quotes": '"..."',
    "a whole number": "2",
    "a number": "4",
    "true or false": "true",
    "a list [...]": '["..."]',
}


def key_of(loc: Loc) -> str:
    """`endpoint.gpu_types[1]`, `models[0].source`, or `(top level)`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def kind_of(value: Any) -> str:
    """The TOML kind of a value, in words."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "a date" if value is not None else "nothing"


def field_at(root: type[BaseModel], loc: Loc) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model that holds the last part of `loc`, and that part's field (or None)."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if model is None:
            return None, None
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        model = model_of(info.annotation) if info else None
    if model is None or not loc or isinstance(loc[-1], int):
        return model, None
    return model, model.model_fields.get(str(loc[-1]))


def model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = model_of(arg)
        if found is not None:
            return found
    return None


def describe(root: type[BaseModel], loc: Loc, error: Any) -> tuple[str, str]:
    """(what is wrong, the fix) for one pydantic error at `loc`."""
    kind = error["type"]
    got = error.get("input")
    shown = _shown(loc, got)
    leaf = str(loc[-1]) if loc and not isinstance(loc[-1], int) else key_of(loc)
    model, field = field_at(root, loc)
    if kind == "extra_forbidden":
        return "unknown key", _near_key(model, str(loc[-1]) if loc else "")
    if kind == "missing":
        return "required key is missing", _add(leaf, model, field)
    if kind in _EXPECTED:
        return _wrong_type(_EXPECTED[kind], got, shown, loc, field)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _out_of_range(field, got, shown, leaf)
    if kind == "literal_error":
        return _not_allowed(field, got, shown)
    if kind == "finite_number":
        return f"must be a finite number, not {got}", f"write it as {leaf} = {_EXAMPLE['a number']}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty", f"give {leaf} a value, or delete the line"
    if kind in ("string_too_long", "too_long"):
        most = (error.get("ctx") or {}).get("max_length")
        return f"is longer than {most}", f"shorten {leaf} to at most {most}"
    text = str(error["msg"]).removeprefix("Value error, ")
    what, _, fix = text.partition("; ")
    return what, fix or "see docs/config.md for the allowed values"


def _shown(loc: Loc, got: Any) -> str:
    """` (got X)`, or '' where the value may be a secret or is a whole table/list."""
    if got is None or isinstance(got, dict | list) or not loc:
        return ""
    if loc[0] in PRIVATE_ROOTS and tuple(loc[:2]) not in PLAIN_KEYS:
        return ""
    return f" ({got!r})"


def _near_key(model: type[BaseModel] | None, name: str) -> str:
    if model is None:
        return "delete it (see docs/config.md)"
    allowed = sorted(n for n in model.model_fields if n not in RESERVED_KEYS)
    for section, info in model.model_fields.items():
        inner = model_of(info.annotation)
        if inner is not None and name in inner.model_fields:
            return f"it belongs in the {section} section: {section}.{name}"
    close = difflib.get_close_matches(name, allowed, n=1)
    listing = f"allowed here: {', '.join(allowed)}"
    return f"did you mean {close[0]!r}? ({listing})" if close else f"delete it ({listing})"


def _add(leaf: str, model: type[BaseModel] | None, field: FieldInfo | None) -> str:
    if field is not None and model_of(field.annotation) is not None:
        return f"add the [{leaf}] table (see docs/config.md)"
    return f"add {leaf} = ... (see docs/config.md)"


def _wrong_type(
    expected: str, got: Any, shown: str, loc: Loc, field: FieldInfo | None
) -> tuple[str, str]:
    what = f"must be {expected}, not {kind_of(got)}{shown}"
    leaf = str(loc[-1]) if loc else ""
    if loc and isinstance(loc[-1], int):
        return what, f"write each item of {key_of(loc[:-1])} as {expected}"
    if expected == "a table":
        if any(isinstance(part, int) for part in loc):
            return what, f'write it as an inline table: {leaf} = {{ key = "value" }}'
        return what, f"write it as a [{key_of(loc)}] table with one key per line"
    inner = typing.get_args(field.annotation) if field is not None else ()
    if expected == "a list [...]" and inner and model_of(inner[0]) is not None:
        return what, f"write each entry as a [[{leaf}]] table"
    if isinstance(got, str) and shown:
        try:
            parsed = tomllib.loads(f"v = {got}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = None
        if parsed is not None and not isinstance(parsed, str):
            return what, f"drop the quotes: {leaf} = {got if len(got) <= 60 else '[...]'}"
    example = _EXAMPLE.get(expected, "...")
    return what, f"write it as {leaf} = {example}"


def bounds(field: FieldInfo | None) -> tuple[float | None, float | None]:
    """The (low, high) a field allows, from its `ge/gt/le/lt` constraints."""
    low = high = None
    for item in field.metadata if field is not None else ():
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            low = float(getattr(item, "ge", getattr(item, "gt", 0)))
        if isinstance(item, annotated_types.Le | annotated_types.Lt):
            high = float(getattr(item, "le", getattr(item, "lt", 0)))
    return low, high


def is_duration(field: FieldInfo | None) -> bool:
    """Whether the field takes a duration (`Seconds`)."""
    metadata: Sequence[Any] = field.metadata if field is not None else ()
    return any(isinstance(m, BeforeValidator) and m.func is parse_duration for m in metadata)


def show_range(field: FieldInfo | None) -> str:
    """`1..8`, or `10m..24h` for a duration."""
    low, high = bounds(field)
    fmt = format_duration if is_duration(field) else (lambda v: f"{v:g}")
    return f"{fmt(low) if low is not None else ''}..{fmt(high) if high is not None else ''}"


def _out_of_range(field: FieldInfo | None, got: Any, shown: str, leaf: str) -> tuple[str, str]:
    allowed = show_range(field)
    if is_duration(field) and isinstance(got, int | float) and shown:
        shown = f" ({format_duration(float(got))})"
    return f"out of range{shown}: allowed {allowed}", f"set {leaf} within {allowed}"


def _not_allowed(field: FieldInfo | None, got: Any, shown: str) -> tuple[str, str]:
    annotation = field.annotation if field is not None else None
    allowed = [str(a) for a in typing.get_args(annotation)]
    listing = ", ".join(repr(a) for a in allowed)
    close = difflib.get_close_matches(str(got), allowed, n=1) if isinstance(got, str) else []
    fix = f"did you mean {close[0]!r}? (one of {listing})" if close else f"use one of {listing}"
    return f"not an allowed value{shown}", fix
