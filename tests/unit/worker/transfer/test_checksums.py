"""Every checksum podkit verifies (pure; the read-back passes are in
tests/functional/sync/test_readback.py), against independent references (hashlib, zlib, crc32c,
published test vectors), at the edges where an off-by-one hides: empty input, exact part
multiples, a short last part, blocks that straddle parts."""

from __future__ import annotations

import base64
import hashlib
import random
import zlib

import google_crc32c
import pytest

from podkit.worker.transfer import verify
from podkit.worker.transfer.verify import (
    Crc32c,
    Expected,
    GitBlobSha1,
    S3PartEtag,
    b64_to_hex,
    combine_chunks,
    crc32c_combine,
    crc32c_of,
    gcs_crc32c_hex,
)

RND = random.Random(21)
CHECK = b"123456789"  # the standard CRC check input


def _etag(data: bytes, part: int) -> str:
    parts = [data[i : i + part] for i in range(0, len(data), part)]
    whole = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f"{whole}-{len(parts)}"


def test_crc32c_matches_the_published_check_value_and_pads_to_eight_digits() -> None:
    crc = Crc32c()
    crc.update(CHECK[:4])
    crc.update(CHECK[4:])
    assert crc.hexdigest() == "e3069283"
    assert crc32c_of(CHECK) == 0xE3069283
    small = Crc32c()
    small.value = 0x1F
    assert small.hexdigest() == "0000001f"
    assert Crc32c().hexdigest() == "00000000"


def test_git_blob_sha1_is_gits_object_id() -> None:
    blob = GitBlobSha1(6)
    blob.update(b"hello\n")
    assert blob.hexdigest() == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object
    assert GitBlobSha1(0).hexdigest() == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_base64_checksums_become_hex() -> None:
    crc = google_crc32c.value(CHECK).to_bytes(4, "big")
    assert gcs_crc32c_hex(base64.b64encode(crc).decode()) == "e3069283"
    assert b64_to_hex(base64.b64encode(b"\x00\x01\xff").decode()) == "0001ff"


@pytest.mark.parametrize("split", [0, 1, 4096, 99_999, 100_000])
def test_crc32c_combine_equals_the_crc_of_the_concatenation(split: int) -> None:
    data = RND.randbytes(100_000)
    a, b = data[:split], data[split:]
    combined = crc32c_combine(google_crc32c.value(a), google_crc32c.value(b), len(b))
    assert combined == google_crc32c.value(data)


@pytest.mark.parametrize("length", [1, 2, 3, 7, 8, 255, 256, 65_537])
def test_crc32c_combine_for_every_shift_length(length: int) -> None:
    a, b = b"podkit", RND.randbytes(length)
    assert crc32c_combine(crc32c_of(a), crc32c_of(b), length) == crc32c_of(a + b)


def test_crc32c_combine_is_right_with_a_cold_cache() -> None:
    verify._shift_operator.cache_clear()  # the shift matrices are built, not remembered
    a, b = b"cold", RND.randbytes(1000)
    assert crc32c_combine(crc32c_of(a), crc32c_of(b), len(b)) == crc32c_of(a + b)


def test_combining_no_chunks_and_empty_chunks() -> None:
    assert combine_chunks([]) == 0
    assert combine_chunks([(crc32c_of(CHECK), 9), (0, 0)]) == crc32c_of(CHECK)
    assert crc32c_combine(0xDEADBEEF, 0, 0) == 0xDEADBEEF


@pytest.mark.parametrize(
    ("field", "value"),
    [("md5", "a"), ("sha256", "a"), ("git_sha1", "a"), ("crc32", "a")],
)
def test_each_whole_file_checksum_needs_a_read_back_and_gets_a_hasher(
    field: str, value: str
) -> None:
    expected = Expected(size=9, **{field: value})  # type: ignore[arg-type]
    assert expected.needs_readback()
    assert set(expected.streaming_hashers()) == {field}


def test_crc32c_alone_needs_no_read_back_and_no_streaming_hasher() -> None:
    expected = Expected(size=9, crc32c="e3069283")
    assert not expected.needs_readback()
    assert expected.streaming_hashers() == {}


def test_multipart_needs_both_the_etag_and_the_part_size() -> None:
    assert Expected(size=9, s3_multipart_etag="x-2", s3_part_size=5).multipart()
    assert Expected(size=9, s3_multipart_etag="x-2", s3_part_size=5).needs_readback()
    assert not Expected(size=9, s3_multipart_etag="x-2").multipart()
    assert not Expected(size=9, s3_multipart_etag="x-2").needs_readback()
    assert not Expected(size=9, s3_part_size=5).multipart()


def test_streaming_hashers_compute_the_real_digests() -> None:
    data = RND.randbytes(5000)
    expected = Expected(size=len(data), md5="a", sha256="a", git_sha1="a", crc32="a")
    hashers = expected.streaming_hashers()
    for hasher in hashers.values():
        hasher.update(data[:1234])
        hasher.update(data[1234:])
    assert {k: h.hexdigest() for k, h in hashers.items()} == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "git_sha1": hashlib.sha1(b"blob 5000\0" + data).hexdigest(),
        "crc32": f"{zlib.crc32(data):08x}",
    }


def _true_digests(data: bytes) -> dict[str, str]:
    return {
        "crc32c": f"{google_crc32c.value(data):08x}",
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "git_sha1": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
        "crc32": f"{zlib.crc32(data):08x}",
    }


def test_a_whole_body_is_judged_by_every_checksum_given_in_a_fixed_order() -> None:
    data = RND.randbytes(16 * 1024)
    true = _true_digests(data)
    assert Expected(size=len(data), **true).body_mismatches(data) == []
    assert Expected(size=len(data)).body_mismatches(data) == []  # nothing given: nothing judged
    for name in true:
        wrong = Expected(size=len(data), **{**true, name: "0" * len(true[name])})
        assert wrong.body_mismatches(data) == [name]
    flipped = bytes([data[0] ^ 1]) + data[1:]
    assert Expected(size=len(data), **true).body_mismatches(flipped) == list(true)
    assert Expected(size=0, **_true_digests(b"")).body_mismatches(b"") == []


def test_crc32_pads_to_eight_digits() -> None:
    hasher = Expected(size=1, crc32="a").streaming_hashers()["crc32"]
    hasher.update(b'"')  # zlib.crc32 of this byte is 0x0762ae69: one leading zero
    assert hasher.hexdigest() == "0762ae69"


@pytest.mark.parametrize(
    "name", ["crc32c", "md5", "sha256", "git_sha1", "crc32", "s3_multipart_etag"]
)
def test_each_checksum_is_compared(name: str) -> None:
    expected = Expected(size=1, **{name: "good"})  # type: ignore[arg-type]
    assert expected.mismatches({name: "good"}) == []
    assert expected.mismatches({name: "bad"}) == [name]
    assert expected.mismatches({}) == []  # not computed: not judged here


def test_mismatches_are_named_in_a_fixed_order_and_unset_ones_are_ignored() -> None:
    expected = Expected(size=1, crc32c="c", md5="m", sha256="s", s3_multipart_etag="e-2")
    got = {"s3_multipart_etag": "x", "sha256": "x", "md5": "x", "crc32c": "x", "crc32": "x"}
    assert expected.mismatches(got) == ["crc32c", "md5", "sha256", "s3_multipart_etag"]


@pytest.mark.parametrize(
    ("size", "part", "cuts"),
    [
        (30, 10, [7, 13, 30]),  # exact multiple, blocks straddling parts
        (25, 10, [25]),  # short last part
        (10, 10, [10]),  # one full part
        (9, 10, [3, 9]),  # one short part
        (21, 10, [10, 20, 21]),  # blocks on part boundaries, a 1-byte last part
    ],
)
def test_s3_multipart_etag_at_part_boundaries(size: int, part: int, cuts: list[int]) -> None:
    data = RND.randbytes(size)
    etag = S3PartEtag(part)
    start = 0
    for cut in cuts:
        etag.update(data[start:cut])
        start = cut
    assert etag.hexdigest() == _etag(data, part)
