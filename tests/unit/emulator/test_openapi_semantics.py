"""Each shipped document is validated with its own OpenAPI version's semantics."""

from __future__ import annotations

from podkit.emulator.openapi import V1, V2, load
from podkit.emulator.openapi.documents import from_oas30

POD = {"$ref": "#/components/schemas/PodCreateInput"}


def test_v1_nullable_fields_accept_null_and_nothing_else() -> None:
    v1 = load(V1)
    assert v1.doc["openapi"].startswith("3.0")
    assert v1.violations(POD, {"imageName": "x", "containerDiskInGb": None}) == []
    assert v1.violations({"$ref": "#/components/schemas/Pod"}, {"publicIp": None}) == []
    wrong = v1.violations(POD, {"imageName": "x", "containerDiskInGb": "big"})
    assert [v.field for v in wrong] == ["containerDiskInGb"]
    not_nullable = {"$ref": "#/components/schemas/NetworkVolumeCreateInput"}
    refused = v1.violations(not_nullable, {"name": "v", "size": None, "dataCenterId": "EU-RO-1"})
    assert [v.message for v in refused] == ["$.size: expected integer, got null"]


def test_the_translation_keeps_the_published_document() -> None:
    assert load(V1).doc["components"]["schemas"]["Pod"]["properties"]["publicIp"]["nullable"]
    assert load(V2).doc["openapi"].startswith("3.1")  # 3.1 is JSON Schema already


def test_nullable_forms() -> None:
    assert from_oas30({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert from_oas30({"type": "string", "nullable": False}) == {"type": "string"}
    enum = from_oas30({"type": "string", "enum": ["A"], "nullable": True})
    assert enum == {"anyOf": [{"type": "string", "enum": ["A"]}, {"type": "null"}]}
    ref = from_oas30({"$ref": "#/x", "nullable": True})
    assert ref == {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}
    # A property that is itself named "nullable" is a schema, not the keyword.
    props = {"properties": {"nullable": {"type": "boolean"}}}
    assert from_oas30(props) == props
