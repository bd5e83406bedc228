"""Each shipped document is validated with its own OpenAPI version's semantics."""

from __future__ import annotations

from podkit.emulator.openapi import V1, V2, load
from podkit.emulator.openapi.documents import from_oas30
from podkit.emulator.openapi.parameters import check_query

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


def test_query_parameters_are_read_as_their_types_then_validated() -> None:
    v2, v1 = load(V2), load(V1)
    cpus, gpus = "/v2/catalog/cpus", "/v2/catalog/gpus"
    assert check_query(v2, "GET", cpus, [("vcpuCount", "4"), ("unknown", "x")]) == []
    assert check_query(v2, "GET", cpus, [("vcpuCount", "1")]) == [
        "query parameter vcpuCount: 1 is less than the minimum of 2"
    ]
    assert check_query(v2, "GET", cpus, [("include", "")]) == []  # an empty array
    codes = check_query(v2, "GET", gpus, [("countryCodes", "FR,de")])
    assert codes == ["query parameter countryCodes[1]: 'de' does not match '^[A-Z]{2}$'"]
    assert check_query(v1, "GET", "/endpoints", [("includeWorkers", "true")]) == []
    bad = check_query(v1, "GET", "/endpoints", [("includeWorkers", "yes")])
    assert bad == ['query parameter includeWorkers: expected boolean, got string "yes"']
    assert check_query(v2, "GET", "/v2/serverless", [("anything", "1")]) == []
