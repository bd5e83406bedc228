"""COVERAGE.md lists every operation of both OpenAPI documents."""

from __future__ import annotations

from importlib import resources

from podkit.emulator.openapi import V1, V2, load


def test_coverage_lists_every_operation() -> None:
    text = resources.files("podkit.emulator").joinpath("COVERAGE.md").read_text()
    missing = [
        f"{method.upper()} {prefix}{path}"
        for name, prefix in ((V2, ""), (V1, "/v1"))
        for path, ops in load(name).doc["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
        and f"`{method.upper()} {prefix}{path}`" not in text
    ]
    assert missing == []
