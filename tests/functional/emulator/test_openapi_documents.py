"""The shipped OpenAPI documents are the reference copies, byte for byte, and are served."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import httpx
import pytest

from podkit.emulator.openapi import V1, V2

REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference"
# SHA-256 of the reference copies, so the check also holds where that folder is absent (CI).
REFERENCE_SHA256 = {
    V1: "a8f5aebc4338883270a5d97f8b9a89ba4b7838d1c99f0a8392e117937caba57c",
    V2: "b8bce61c5a2290d28a7cb2ed53173637166817249986cb18b101b2fd651fd313",
}


@pytest.mark.parametrize("name", [V1, V2])
def test_documents_equal_the_reference(name: str) -> None:
    shipped = resources.files("podkit.emulator.openapi").joinpath(name).read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == REFERENCE_SHA256[name]
    if (REFERENCE / name).exists():  # in a checkout next to the reference folder
        assert shipped == (REFERENCE / name).read_bytes()


def test_documents_are_served_without_a_key(api: httpx.Client) -> None:
    for path, name in (("/v2/openapi.json", V2), ("/v1/openapi.json", V1)):
        r = httpx.get(str(api.base_url) + path)
        assert r.status_code == 200
        assert r.content == resources.files("podkit.emulator.openapi").joinpath(name).read_bytes()
