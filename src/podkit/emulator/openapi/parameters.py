"""Query parameters checked against the operation's declared parameters.

Query strings are text: each value is read as its schema's type first (`4` -> 4, `true` ->
true, `a,b` -> ["a", "b"] for a non-exploded array), then validated, so `vcpuCount=1` breaks
`minimum: 2` and `includeWorkers=yes` is not a boolean. Undeclared parameters are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from podkit.emulator.openapi.documents import OpenApiDocument

_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def check_query(
    doc: OpenApiDocument, method: str, template: str, query: Iterable[tuple[str, str]]
) -> list[str]:
    """Why this query breaks the operation's query parameters ([] when it does not)."""
    declared = _query_parameters(doc, method, template)
    if not declared:
        return []
    given: dict[str, list[str]] = {}
    for name, value in query:
        given.setdefault(name, []).append(value)
    instance: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in declared.items():
        schema = _deref(doc, param.get("schema", {}))
        properties[name] = param.get("schema", {})
        if param.get("required"):
            required.append(name)
        if name in given:
            instance[name] = _read(doc, schema, given[name], param.get("explode", True))
    schema = {"type": "object", "properties": properties, "required": required}
    return [
        "query parameter " + v.message.removeprefix("$.").removeprefix("$: ")
        for v in doc.violations(schema, instance)
    ]


def _query_parameters(doc: OpenApiDocument, method: str, template: str) -> dict[str, Any]:
    path_item = doc.doc["paths"].get(template, {})
    op = doc.operation(method, template) or {}
    found: dict[str, Any] = {}
    for param in [*path_item.get("parameters", []), *op.get("parameters", [])]:
        param = _deref(doc, param)
        if param.get("in") == "query" and "name" in param:
            found[param["name"]] = param
    return found


def _deref(doc: OpenApiDocument, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = doc.resolve(node["$ref"])
    return node


def _read(doc: OpenApiDocument, schema: Any, values: list[str], explode: bool) -> Any:
    """Strings as the schema's type would have them (left as text when they do not fit)."""
    if isinstance(schema, dict) and schema.get("type") == "array":
        items = _deref(doc, schema.get("items", {}))
        # Not exploded: `a,b` is two items and an empty value an empty array.
        parts = values if explode else [p for v in values if v for p in v.split(",")]
        return [_scalar(items, p) for p in parts]
    return _scalar(schema, values[-1])


def _scalar(schema: Any, text: str) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "integer" in kinds and _INTEGER.match(text):
        return int(text)
    if "number" in kinds and _NUMBER.match(text):
        return float(text)
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    return text
