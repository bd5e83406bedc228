"""Load a document once, find an operation's request/response schema, validate against it."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

from podkit.emulator.openapi.messages import Violation, describe

V1 = "runpod-rest-v1.openapi.json"
V2 = "runpod-rest-v2.openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(eq=False)
class OpenApiDocument:
    """One OpenAPI document with lazily built validators per schema reference."""

    name: str
    raw: bytes
    doc: dict[str, Any] = field(init=False)
    prefix: str = ""  # v1 paths are served under /v1; the document's paths lack it

    def __post_init__(self) -> None:
        self.doc = json.loads(self.raw)
        self._uri = f"urn:podkit:{self.name}"
        oas31 = self.doc["openapi"].startswith("3.1")
        spec = DRAFT202012 if oas31 else DRAFT7
        self._validator_cls = Draft202012Validator if oas31 else Draft7Validator
        # OpenAPI 3.0 schemas are not JSON Schema: `nullable: true` allows null, which
        # Draft 7 knows nothing of. Validate a translated copy; `doc` stays as published.
        schemas = self.doc if oas31 else from_oas30(self.doc)
        resource: Resource[Any] = spec.create_resource(schemas)
        self._registry: Registry[Any] = Registry().with_resource(self._uri, resource)
        self._routes: list[tuple[re.Pattern[str], str]] = [
            (self._pattern(p), str(p)) for p in self.doc["paths"]
        ]
        # Literal segments beat parameters (`/v2/registries/delegations` before `{id}`).
        self._routes.sort(key=lambda r: r[1].count("{"))

    def _pattern(self, path: str) -> re.Pattern[str]:
        regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(self.prefix + path))
        return re.compile(f"^{regex}$")

    def match(self, path: str) -> str | None:
        """The document path template a served path belongs to."""
        for pattern, template in self._routes:
            if pattern.match(path):
                return template
        return None

    def operation(self, method: str, template: str) -> dict[str, Any] | None:
        op = self.doc["paths"].get(template, {}).get(method.lower())
        return op if isinstance(op, dict) else None

    def request_ref(self, method: str, template: str) -> str | None:
        op = self.operation(method, template) or {}
        content = op.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        ref = schema.get("$ref")
        return str(ref) if isinstance(ref, str) else None

    def response_schema(self, method: str, template: str, status: int) -> dict[str, Any] | None:
        """The JSON schema of a response, following `$ref`d responses; None if undeclared."""
        op = self.operation(method, template) or {}
        responses = op.get("responses", {})
        resp = responses.get(str(status)) or responses.get("default")
        if resp is None:
            return None
        if "$ref" in resp:
            resp = self.resolve(resp["$ref"])
        for media, body in resp.get("content", {}).items():
            if "json" in media and "schema" in body:
                schema = body["schema"]
                return schema if isinstance(schema, dict) else None
        return None

    def resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.doc
        for part in ref.split("#", 1)[-1].strip("/").split("/"):
            node = node[part]
        return node if isinstance(node, dict) else {}

    def violations(self, schema: dict[str, Any], instance: Any) -> list[Violation]:
        """Every way `instance` breaks `schema` (refs resolve inside this document)."""
        validator = self._validator(json.dumps(schema, sort_keys=True))
        return describe(validator.iter_errors(instance), props_of=self._props)

    def check_request(self, method: str, template: str, body: Any) -> list[Violation]:
        ref = self.request_ref(method, template)
        if ref is None:
            return []
        return self.violations({"$ref": ref}, body)

    def _props(self, schema: Any) -> set[str]:
        """Property names a (possibly allOf-composed) schema declares at its own level."""
        if not isinstance(schema, dict):
            return set()
        if "$ref" in schema:
            schema = self.resolve(schema["$ref"])
        names = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            names |= self._props(part)
        return names

    @functools.lru_cache(maxsize=256)  # noqa: B019 - documents live for the whole process
    def _validator(self, schema_json: str) -> Any:
        schema = json.loads(schema_json)
        if "$ref" in schema:
            schema = {"$ref": self._uri + schema["$ref"]}
        else:
            schema = _rebase_refs(schema, self._uri)
        return self._validator_cls(schema, registry=self._registry)


def from_oas30(node: Any) -> Any:
    """An OpenAPI 3.0 document with each `nullable: true` schema made to accept null."""
    if isinstance(node, list):
        return [from_oas30(v) for v in node]
    if not isinstance(node, dict):
        return node
    nullable = node.get("nullable") is True
    out = {
        k: from_oas30(v) for k, v in node.items() if not (k == "nullable" and v in (True, False))
    }
    if not nullable:
        return out
    if isinstance(out.get("type"), str) and "enum" not in out:
        return {**out, "type": [out["type"], "null"]}
    return {"anyOf": [out, {"type": "null"}]}


def _rebase_refs(node: Any, uri: str) -> Any:
    if isinstance(node, dict):
        return {
            k: (uri + v if k == "$ref" and v.startswith("#") else _rebase_refs(v, uri))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase_refs(v, uri) for v in node]
    return node


@functools.cache
def load(name: str) -> OpenApiDocument:
    """A shipped document by file name (`V1` or `V2`)."""
    raw = resources.files("podkit.emulator.openapi").joinpath(name).read_bytes()
    return OpenApiDocument(name=name, raw=raw, prefix="/v1" if name == V1 else "")
