"""Every client operation's request/response models agree with the OpenAPI documents.

The documents are loaded from `shared/reference/` (never hand-copied): each model field must
exist in the operation's schema under its wire name, with a compatible JSON type, and a
Literal field's values must be allowed by the schema's enum. Nested models are checked too.
"""

from __future__ import annotations

import json
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import podkit.runpod.client  # noqa: F401  (registers every resource's operations)
from podkit.runpod.resources._crud import OPERATIONS, Operation

REFERENCE_DIRS = [
    Path(__file__).resolve().parents[3] / "shared" / "reference",
    Path(__file__).resolve().parents[4] / "shared" / "reference",
    Path("/work/shared/reference"),
]
DOCS = {"v2": "runpod-rest-v2.openapi.json", "v1": "runpod-rest-v1.openapi.json"}
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


@cache
def document(api: str) -> dict[str, Any]:
    for folder in REFERENCE_DIRS:
        path = folder / DOCS[api]
        if path.is_file():
            return dict(json.loads(path.read_text()))
    pytest.fail(f"OpenAPI document {DOCS[api]} not found in {REFERENCE_DIRS}")


def deref(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def branches(doc: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and every allOf/anyOf/oneOf part, dereferenced, flattened."""
    schema = deref(doc, schema)
    out = [schema]
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            out.extend(branches(doc, part))
    return out


def properties(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = {}
    for part in branches(doc, schema):
        for name, prop in part.get("properties", {}).items():
            # The same member in several oneOf variants: any variant's type is acceptable.
            props[name] = {"anyOf": [props[name], prop]} if name in props else prop
    return props


def json_types(doc: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for part in branches(doc, schema):
        kind = part.get("type")
        found.update([kind] if isinstance(kind, str) else kind or [])
    return found


def enum_values(doc: dict[str, Any], schema: dict[str, Any]) -> set[Any] | None:
    values: set[Any] = set()
    for part in branches(doc, schema):
        values.update(part.get("enum", []))
        if "const" in part:
            values.add(part["const"])
    return values or None


def strip_optional(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Annotated:
        return strip_optional(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(strip_optional(arg))
        return out
    return [annotation]


def check_value(doc: dict[str, Any], annotation: Any, schema: dict[str, Any], where: str) -> None:
    variants = strip_optional(annotation)
    if len(variants) > 1 and all(
        isinstance(v, type) and issubclass(v, BaseModel) for v in variants
    ):
        check_union(doc, variants, schema, where)
        return
    (kind,) = variants
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    allowed = json_types(doc, schema)
    if kind is Any:
        return
    if origin is typing.Literal:
        enum = enum_values(doc, schema)
        assert enum is not None, f"{where}: model has a Literal, schema has no enum"
        assert set(args) <= enum, f"{where}: {set(args) - enum} not in schema enum {enum}"
    elif origin is list:
        assert "array" in allowed, f"{where}: model list, schema {allowed}"
        items = next((p["items"] for p in branches(doc, schema) if "items" in p), {})
        check_value(doc, args[0], items, f"{where}[]")
    elif origin is dict:
        assert "object" in allowed, f"{where}: model dict, schema {allowed}"
    elif isinstance(kind, type) and issubclass(kind, BaseModel):
        check_model(doc, kind, schema, where)
    else:
        expected = JSON_TYPES[kind]
        ok = expected in allowed or (expected == "number" and "integer" in allowed)
        assert ok or not allowed, f"{where}: model {expected}, schema {allowed}"


def check_union(doc: dict[str, Any], models: list[Any], schema: dict[str, Any], where: str) -> None:
    options = [p for p in branches(doc, schema) if "properties" in p]
    for model in models:
        tag = model.model_fields["type"].default
        match = [o for o in options if tag in (enum_values(doc, o["properties"]["type"]) or ())]
        assert match, f"{where}: no schema variant for {model.__name__} ({tag})"
        check_model(doc, model, match[0], f"{where}<{tag}>")


def check_model(
    doc: dict[str, Any], model: type[BaseModel], schema: dict[str, Any], where: str
) -> None:
    props = properties(doc, schema)
    assert props, f"{where}: schema has no properties"
    for name, field in model.model_fields.items():
        wire = field.alias or name
        assert wire in props, f"{where}: field {wire!r} of {model.__name__} not in the schema"
        check_value(doc, field.annotation, props[wire], f"{where}.{wire}")


def operation_schema(op: Operation) -> dict[str, Any]:
    spec = document(op.api)["paths"][op.path][op.method.lower()]
    return dict(spec)


def content_schema(node: dict[str, Any]) -> dict[str, Any]:
    return dict(node["content"]["application/json"]["schema"])


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.api} {op.method} {op.path}")
def test_operation_models_match_openapi(op: Operation) -> None:
    doc = document(op.api)
    spec = operation_schema(op)
    if op.request is not None:
        body = content_schema(spec["requestBody"])
        check_model(doc, op.request, body, f"{op.method} {op.path} request")
    success = next(code for code in spec["responses"] if code.startswith("2"))
    if op.response is None:
        assert success == "204", f"{op.method} {op.path}: expected an empty 204 response"
        return
    schema = deref(doc, content_schema(spec["responses"][success]))
    if op.list_key == "[]":
        assert "array" in json_types(doc, schema), f"{op.path}: v1 lists are bare arrays"
        schema = schema["items"]
    elif op.list_key:
        schema = properties(doc, schema)[op.list_key]["items"]
    check_model(doc, op.response, schema, f"{op.method} {op.path} response")


def test_every_resource_method_has_an_operation_row() -> None:
    routes = {(op.api, op.method, op.path) for op in OPERATIONS}
    for api, prefix in (("v2", "/v2/serverless"), ("v1", "/endpoints")):
        for method in ("GET", "POST", "PATCH", "DELETE"):
            assert any(r[0] == api and r[1] == method and r[2].startswith(prefix) for r in routes)


def test_a_stray_field_would_be_caught() -> None:
    class Bogus(BaseModel):
        image_name: str

    doc = document("v2")
    schema = content_schema(
        operation_schema(
            next(
                op
                for op in OPERATIONS
                if op.api == "v2" and op.method == "POST" and op.path == "/v2/serverless"
            )
        )["requestBody"]
    )
    with pytest.raises(AssertionError, match="image_name"):
        check_model(doc, Bogus, schema, "bogus")
