"""Turn JSON-schema errors into messages that say exactly what was wrong and how to fix it.

The wording follows the platform's observed style (`$: additional properties 'bogus' not
allowed`); locations are JSON paths from the body's root (`$`, `$.workers.min`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

# Names a v1 client sends where v2 expects another (and back), for "did you mean" hints.
RENAMES = {
    "imageName": "image",
    "containerDiskInGb": "disk",
    "containerRegistryAuthId": "registry",
    "isPublic": "public",
    "isServerless": "serverless",
    "dataCenterId": "dataCenter",
    "dockerStartCmd": "args",
    "networkVolumeIds": "networkVolumes",
    "networkVolumeId": "networkVolumes",
    "executionTimeoutMs": "timeout",
    "workersMin": "workers.min",
    "workersMax": "workers.max",
    "idleTimeout": "workers.idleTimeout",
    "scalerType": "scaling.type",
    "scalerValue": "scaling",
    "gpuTypeIds": "gpu.pools",
    "gpuCount": "gpu.count",
    "image": "imageName",
    "disk": "containerDiskInGb",
    "dataCenter": "dataCenterId",
    "networkVolumes": "networkVolumeIds",
    "timeout": "executionTimeoutMs",
    "args": "dockerStartCmd",
    "public": "isPublic",
    "serverless": "isServerless",
    "registry": "containerRegistryAuthId",
}
OBJECT_FORM = '{"KEY": "value"}'
# Values that may be secrets: env values and registry credentials are never quoted back.
SECRET_FIELDS = frozenset({"env", "password", "username", "accessSecret", "accessId"})
# Fields that belong elsewhere: (resource kind, field) -> where they go. The first deploy
# mistakes people make, per the references.
_ON_ENDPOINT = "network volumes attach to the endpoint, not the template; send it on the endpoint"
MISPLACED = {
    ("template", "networkVolumeId"): _ON_ENDPOINT,
    ("template", "networkVolumeIds"): _ON_ENDPOINT,
    ("template", "networkVolumes"): _ON_ENDPOINT,
    ("template", "dockerArgs"): "dockerArgs is GraphQL-only; use dockerStartCmd (v1, an array of "
    "strings) or args (v2, one string)",
    (
        "v1 endpoint",
        "env",
    ): "a v1 endpoint takes its env from its template; set env on the template",
    ("v1 endpoint", "imageName"): "a v1 endpoint takes its image from its template (templateId)",
}


def misplaced_hint(path_template: str, field: str | None) -> str:
    """'; <where it goes>' for a field sent to the wrong kind of resource, else ''."""
    kind = "template" if "/templates" in path_template else "endpoint"
    if path_template.startswith("/endpoints"):  # v1 document paths carry no /v1 prefix
        kind = "v1 endpoint"
    hint = MISPLACED.get((kind, field or ""))
    return f"; {hint}" if hint else ""


REQUIRED_HINTS = {
    "templateId": "the template whose image and env the endpoint runs; create one with "
    "POST /v1/templates and pass its id",
    "image": "the container image to run (or give templateId)",
}


@dataclass(frozen=True)
class Violation:
    """One thing wrong with a request body."""

    location: str  # "$", "$.env", "$.workers.min"
    field: str | None  # the offending property name, when there is one
    kind: str  # unknown | type | enum | required | other
    message: str  # "<location>: <what is wrong>[; how to fix]"


def location(path: Iterable[Any]) -> str:
    loc = "$"
    for part in path:
        loc += f"[{part}]" if isinstance(part, int) else f".{part}"
    return loc


def describe(
    errors: Iterable[ValidationError], *, props_of: Callable[[Any], set[str]]
) -> list[Violation]:
    """Readable violations, deepest cause first within each error, duplicates dropped.

    `props_of(schema)` names the properties a schema declares (through `allOf` and `$ref`):
    a declared property reported as unevaluated only failed its own schema, which is
    reported separately.
    """
    found: list[Violation] = []
    for error in errors:
        leaf = _leaf(error)
        found.extend(_explain(leaf, props_of(leaf.schema)))
    named = {(v.location, v.field) for v in found if v.kind != "unknown"}
    wrong_type = [v.location for v in found if v.kind == "type"]
    # Inside a value of the wrong type, nested complaints only repeat the first one.
    found = [
        v for v in found if not any(v.location.startswith((w + "[", w + ".")) for w in wrong_type)
    ]
    result: list[Violation] = []
    for v in found:
        parent = v.location
        # A property that failed its own schema is also "unevaluated"; report the real cause.
        if v.kind == "unknown" and (f"{parent}.{v.field}", v.field) in named:
            continue
        if v not in result:
            result.append(v)
    return result


def _leaf(error: ValidationError) -> ValidationError:
    while error.context:
        best = best_match(error.context)
        if best is None:
            break
        error = best
    return error


def _explain(error: ValidationError, props: set[str]) -> list[Violation]:
    loc = location(error.absolute_path)
    name = next((str(p) for p in reversed(error.absolute_path) if isinstance(p, str)), None)
    kind = str(error.validator)
    if kind in ("additionalProperties", "unevaluatedProperties"):
        extra = re.findall(r"'([^']+)'", error.message.split("(", 1)[-1])
        return [
            Violation(loc, n, "unknown", _unknown(loc, n, props)) for n in extra if n not in props
        ]
    if kind == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        msg = f"{loc}: {json.dumps(error.instance)} is not one of the allowed values: {allowed}"
        return [Violation(loc, name, "enum", msg)]
    if kind == "required":
        missing = re.findall(r"'([^']+)'", error.message)[:1] or ["?"]
        msg = f"{loc}: missing required property '{missing[0]}'"
        if missing[0] in REQUIRED_HINTS:
            msg += f" ({REQUIRED_HINTS[missing[0]]})"
        return [Violation(f"{loc}.{missing[0]}", missing[0], "required", msg)]
    if kind == "type":
        return [Violation(loc, name, "type", _type_message(loc, error))]
    if _secret(error):
        rule = f"{kind} {json.dumps(error.validator_value)}"
        return [Violation(loc, name, "other", f"{loc}: the value breaks {rule}")]
    return [Violation(loc, name, "other", f"{loc}: {error.message}")]


def _secret(error: ValidationError) -> bool:
    return any(part in SECRET_FIELDS for part in error.absolute_path)


def _unknown(loc: str, name: str, props: set[str]) -> str:
    msg = f"{loc}: additional properties '{name}' not allowed"
    hint = RENAMES.get(name)
    if hint and hint.split(".")[0] in props:
        return f"{msg}; this API calls it '{hint}'"
    close = difflib.get_close_matches(name, sorted(props), n=1)
    return f"{msg}; did you mean '{close[0]}'?" if close else msg


def _type_message(loc: str, error: ValidationError) -> str:
    expected = error.validator_value
    got = _json_type(error.instance)
    if expected == "object" and isinstance(error.instance, list):
        msg = f"{loc}: must be an object of string values like {OBJECT_FORM}, not an array"
        converted = object_form(error.instance)
        if converted is not None:
            shown = dict.fromkeys(converted, "...") if _secret(error) else converted
            msg += f"; send {json.dumps(shown)} instead"
        return msg
    want = " or ".join(expected) if isinstance(expected, list) else expected
    if error.instance is None:
        return f"{loc}: expected {want}, got null"
    if _secret(error):
        return f"{loc}: expected {want}, got {got}"
    return f"{loc}: expected {want}, got {got} {json.dumps(error.instance)[:60]}"


def object_form(items: list[Any]) -> dict[str, str] | None:
    """`["A=1"]` or `[{"key": "A", "value": "1"}]` as the object `{"A": "1"}`, if it is one."""
    result: dict[str, str] = {}
    for item in items:
        if isinstance(item, str) and "=" in item:
            key, _, value = item.partition("=")
            result[key] = value
        elif isinstance(item, dict) and {"key", "value"} <= set(item):
            result[str(item["key"])] = str(item["value"])
        else:
            return None
    return result


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
