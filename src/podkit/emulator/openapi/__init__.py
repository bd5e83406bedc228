"""The official RunPod OpenAPI documents (verbatim copies) and validation against them.

Schemas are never copied by hand: each request body is validated against the component its
operation names, with `$ref`s resolved inside the loaded document.
"""

from __future__ import annotations

from podkit.emulator.openapi.documents import V1, V2, OpenApiDocument, load
from podkit.emulator.openapi.messages import Violation

__all__ = ["V1", "V2", "OpenApiDocument", "Violation", "load"]
