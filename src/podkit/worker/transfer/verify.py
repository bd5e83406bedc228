"""Checksums: streaming hashers, crc32c combination across chunks, and read-back verification.

What each store gives: GCS records crc32c for every object (md5 is
absent on composite objects, so it is never required); S3 gives an md5 ETag for single-part
objects, `md5(part md5s)-N` for multipart ones, and optional full-object checksums; Hugging
Face gives sha256 for LFS files and the git blob sha1 for the rest; plain HTTPS gives only a
length, plus the sha256 the user declares.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import google_crc32c

_CRC32C_POLY = 0x82F63B78
READBACK_BLOCK = 8 * 1024 * 1024


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


class Crc32c:
    """crc32c as a hashlib-like object (hexdigest is 8 hex digits, big-endian)."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = google_crc32c.extend(self.value, data)

    def hexdigest(self) -> str:
        return f"{self.value:08x}"


class GitBlobSha1:
    """The git blob id: sha1 of b'blob <size>\\0' + content (Hugging Face non-LFS files)."""

    def __init__(self, size: int) -> None:
        self._sha = hashlib.sha1(b"blob %d\0" % size)

    def update(self, data: bytes) -> None:
        self._sha.update(data)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of a whole body."""
    sha = hashlib.sha1(b"blob %d\0" % len(data))
    sha.update(data)
    return sha.hexdigest()


def crc32c_of(data: bytes) -> int:
    return int(google_crc32c.value(data))


def gcs_crc32c_hex(b64: str) -> str:
    """GCS and S3 send crc32c as base64 of 4 big-endian bytes; return 8 hex digits."""
    return base64.b64decode(b64).hex()


def b64_to_hex(b64: str) -> str:
    return base64.b64decode(b64).hex()


def _gf2_times(matrix: tuple[int, ...], vector: int) -> int:
    total, index = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(_gf2_times(matrix, matrix[n]) for n in range(32))


@lru_cache(maxsize=64)
def _shift_operator(length: int) -> tuple[int, ...]:
    """The GF(2) matrix that appends `length` zero bytes to a crc32c register."""
    result = tuple(1 << n for n in range(32))  # identity
    odd = (_CRC32C_POLY, *(1 << n for n in range(31)))  # one zero bit
    power = _gf2_square(_gf2_square(_gf2_square(odd)))  # eight zero bits = one byte
    while length:
        if length & 1:
            result = tuple(_gf2_times(power, column) for column in result)
        length >>= 1
        if length:
            power = _gf2_square(power)
    return result


def crc32c_combine(crc1: int, crc2: int, length2: int) -> int:
    """crc32c(A + B) from crc32c(A), crc32c(B) and len(B) (zlib's crc32_combine, cached)."""
    if length2 == 0:
        return crc1
    return _gf2_times(_shift_operator(length2), crc1) ^ crc2


def combine_chunks(crcs: list[tuple[int, int]]) -> int:
    """Fold (crc, length) pairs in file order into the whole file's crc32c."""
    total = 0
    for crc, length in crcs:
        total = crc32c_combine(total, crc, length)
    return total


@dataclass(frozen=True)
class Expected:
    """What a finished file must match. Empty fields are not checked."""

    size: int
    crc32c: str = ""  # 8 hex digits
    md5: str = ""
    sha256: str = ""
    git_sha1: str = ""
    s3_multipart_etag: str = ""  # "<hex>-<parts>"
    s3_part_size: int = 0
    crc32: str = ""  # S3 full-object CRC32, 8 hex digits

    def needs_readback(self) -> bool:
        """True when a parallel download still needs one sequential pass to verify."""
        return bool(self.md5 or self.sha256 or self.git_sha1 or self.crc32 or self.multipart())

    def multipart(self) -> bool:
        return bool(self.s3_multipart_etag and self.s3_part_size)

    def streaming_hashers(self) -> dict[str, Hasher]:
        """Hashers to feed while a single stream is written (crc32c is tracked separately)."""
        hashers: dict[str, Hasher] = {}
        if self.md5:
            hashers["md5"] = hashlib.md5(usedforsecurity=False)
        if self.sha256:
            hashers["sha256"] = hashlib.sha256()
        if self.git_sha1:
            hashers["git_sha1"] = GitBlobSha1(self.size)
        if self.crc32:
            hashers["crc32"] = _Crc32()
        return hashers

    def body_mismatches(self, body: bytes) -> list[str]:
        """Names of the checksums a whole body in memory fails, each computed in one call
        (a small file's: the hashers' objects and their dictionary cost a third of a 16 KiB
        file's git sha1)."""
        wrong = []
        if self.crc32c and f"{crc32c_of(body):08x}" != self.crc32c:
            wrong.append("crc32c")
        if self.md5 and hashlib.md5(body, usedforsecurity=False).hexdigest() != self.md5:
            wrong.append("md5")
        if self.sha256 and hashlib.sha256(body).hexdigest() != self.sha256:
            wrong.append("sha256")
        if self.git_sha1 and git_blob_sha1(body) != self.git_sha1:
            wrong.append("git_sha1")
        if self.crc32 and f"{zlib.crc32(body):08x}" != self.crc32:
            wrong.append("crc32")
        return wrong

    def mismatches(self, digests: dict[str, str]) -> list[str]:
        """Names of checksums that were computed and differ from the expected value."""
        wrong = []
        for name in ("crc32c", "md5", "sha256", "git_sha1", "crc32", "s3_multipart_etag"):
            want = getattr(self, name)
            got = digests.get(name)
            if want and got is not None and got != want:
                wrong.append(name)
        return wrong


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value:08x}"


class S3PartEtag:
    """Recomputes an S3 multipart ETag: md5 of the concatenated part md5s, then `-<parts>`."""

    def __init__(self, part_size: int) -> None:
        self.part_size = part_size
        self._digests: list[bytes] = []
        self._part = hashlib.md5(usedforsecurity=False)
        self._in_part = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), self.part_size - self._in_part)
            self._part.update(view[:take])
            self._in_part += take
            view = view[take:]
            if self._in_part == self.part_size:
                self._close_part()

    def _close_part(self) -> None:
        self._digests.append(self._part.digest())
        self._part = hashlib.md5(usedforsecurity=False)
        self._in_part = 0

    def hexdigest(self) -> str:
        if self._in_part:
            self._close_part()
        whole = hashlib.md5(b"".join(self._digests), usedforsecurity=False).hexdigest()
        return f"{whole}-{len(self._digests)}"


def readback_digests(
    path: Path,
    expected: Expected,
    *,
    crc32c: bool = False,
    on_block: Callable[[int], None] | None = None,
) -> dict[str, str]:
    """Read a file once and compute every checksum `expected` asks for (crc32c only when
    asked: ranged downloads already have it from their chunks)."""
    hashers = expected.streaming_hashers()
    if crc32c and expected.crc32c:
        hashers["crc32c"] = Crc32c()
    if expected.multipart():
        hashers["s3_multipart_etag"] = S3PartEtag(expected.s3_part_size)
    with path.open("rb") as handle:
        while block := handle.read(READBACK_BLOCK):
            for hasher in hashers.values():
                hasher.update(block)
            if on_block is not None:
                on_block(len(block))
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


class PrefixHasher:
    """Hashes a ranged download in file order while later ranges are still arriving.

    sha256 and md5 do not combine across ranges, so instead of one read-back pass after the
    last range, each finished range that extends the contiguous prefix is read back (from the
    page cache: it was just written) and fed to the hashers right away. Only one thread hashes
    at a time; others move on and the holder picks up their ranges.
    """

    def __init__(self, expected: Expected, temp: Path, chunks: list[tuple[int, int]]) -> None:
        self._hashers = expected.streaming_hashers()
        if expected.multipart():
            self._hashers["s3_multipart_etag"] = S3PartEtag(expected.s3_part_size)
        self._temp, self._chunks = temp, chunks
        self._next = 0
        self._lock = threading.Lock()

    def advance(self, done: Mapping[int, object], *, wait: bool = False) -> None:
        """Hash every finished range at the front; with `wait`, block for a running pass."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            with self._temp.open("rb") as handle:
                while self._next in done:
                    start, end = self._chunks[self._next]
                    handle.seek(start)
                    left = end - start
                    while left:
                        block = handle.read(min(READBACK_BLOCK, left))
                        if not block:
                            raise OSError(f"{self._temp} is shorter than expected")
                        for hasher in self._hashers.values():
                            hasher.update(block)
                        left -= len(block)
                    self._next += 1
        finally:
            self._lock.release()

    def digests(self, done: Mapping[int, object]) -> dict[str, str]:
        """Finish the remaining ranges and return the checksums."""
        self.advance(done, wait=True)
        return {name: hasher.hexdigest() for name, hasher in self._hashers.items()}
