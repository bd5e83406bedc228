"""Check a response the emulator sent against the response schema its operation declares."""

from __future__ import annotations

import json

from podkit.emulator.openapi.documents import V1, V2, load


def response_problems(method: str, path: str, status: int, content_type: str,
                      body: bytes) -> list[str]:  # fmt: skip
    """Why this response breaks its OpenAPI operation ([] if it conforms or is not covered).

    Paths outside both documents (data plane, worker protocol, admin) are not checked; a
    success status the operation does not declare is a problem. v1 declares few error
    responses and no error bodies, so undeclared v1 errors are not.
    """
    doc = load(V1) if path.startswith("/v1/") else load(V2)
    template = doc.match(path)
    if template is None or doc.operation(method, template) is None:
        return []
    op = doc.operation(method, template) or {}
    declared = op.get("responses", {})
    where = f"{method} {path} -> {status}"
    if str(status) not in declared and "default" not in declared:
        ok = status >= 300
        return [] if ok else [f"{where}: success status not declared by {doc.name} {template}"]
    if status == 204:
        return [f"{where}: 204 must have no body"] if body else []
    schema = doc.response_schema(method, template, status)
    if schema is None or "event-stream" in content_type:
        return []
    if "json" not in content_type:
        return [f"{where}: content type {content_type!r} is not JSON"]
    try:
        instance = json.loads(body)
    except ValueError:
        return [f"{where}: body is not JSON"]
    return [f"{where}: {v.message}" for v in doc.violations(schema, instance)]
