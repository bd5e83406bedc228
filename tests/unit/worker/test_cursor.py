"""Listing cursors are opaque, tied to their listing, and refuse tampering."""

from __future__ import annotations

import base64
import json

import pytest

from podkit.errors import WorkerInputError
from podkit.worker.listing import ListingSpec, decode_cursor, encode_cursor

SPEC = ListingSpec(path="/runpod-volume/models", max_depth=3, limit=10)


def test_round_trip_keeps_odd_names() -> None:
    key = ("sd", "caf\udce9", "x y.bin")
    assert decode_cursor(SPEC, encode_cursor(SPEC, key)) == key


@pytest.mark.parametrize(
    "other",
    [
        ListingSpec(path="/runpod-volume", max_depth=3, limit=10),
        ListingSpec(path="/runpod-volume/models", max_depth=1, limit=10),
    ],
)
def test_cursor_is_tied_to_its_listing(other: ListingSpec) -> None:
    with pytest.raises(WorkerInputError, match="field 'cursor'"):
        decode_cursor(other, encode_cursor(SPEC, ("a",)))


@pytest.mark.parametrize("key", [[], ["a/b"], ["x\x00"], [""], [1], "a"])
def test_tampered_keys_are_refused(key: object) -> None:
    raw = json.dumps({"v": 1, "p": SPEC.path, "d": SPEC.max_depth, "k": key}).encode()
    cursor = base64.urlsafe_b64encode(raw).decode()
    with pytest.raises(WorkerInputError, match="field 'cursor'"):
        decode_cursor(SPEC, cursor)


def test_garbage_is_refused() -> None:
    for junk in ["!!!", "e30", base64.urlsafe_b64encode(b"\xff\xfe").decode()]:
        with pytest.raises(WorkerInputError):
            decode_cursor(SPEC, junk)


def test_a_cursor_nested_past_any_parser_is_refused_in_words() -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 12_000).decode()
    with pytest.raises(WorkerInputError, match="field 'cursor'"):
        decode_cursor(SPEC, cursor)
