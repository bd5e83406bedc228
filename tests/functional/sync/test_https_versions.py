"""An https file replaced while its byte ranges download, on servers that give no strong ETag
to pin: the weak ETag or Last-Modified of each answer is checked, and a file with no
validator at all is fetched in one stream; a placed file is never made of two versions."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.worker.transfer import SyncOptions, sync_models
from tests.functional.sync.scripted import Answer, ScriptedServer, Seen

V1 = random.Random(1).randbytes(1 << 20)
V2 = random.Random(2).randbytes(1 << 20)
OPTIONS = SyncOptions(
    connections=4,
    chunk_size=128 << 10,
    range_threshold=128 << 10,
    fsync=False,
    retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05),
)
VALIDATORS = {
    "last-modified": lambda v: (
        f"Last-Modified: {'Wed' if v == 1 else 'Thu'}, 2{v} Oct 2015 07:28:00 GMT\r\n"
    ),
    "weak-etag": lambda v: f'ETag: W/"v{v}"\r\n',
    "none": lambda v: "",
}


class Replaced:
    """Serves V1 until the `at`-th GET arrives, V2 from then on (that GET included); V1
    only where `at` is None."""

    def __init__(self, validators: Callable[[int], str], at: int | None = 3) -> None:
        self.validators, self.at, self.version, self.gets = validators, at, 1, 0
        self._lock = threading.Lock()

    def __call__(self, seen: Seen) -> Answer:
        with self._lock:
            self.gets += seen.method == "GET"
            if self.gets == self.at:
                self.version = 2
            version = self.version
        body = V1 if version == 1 else V2
        head = f"Content-Length: {{}}\r\n{self.validators(version)}"
        if seen.method == "HEAD":
            return _answer("200 OK", head.format(len(body)), b""), "keep"
        asked = seen.headers.get("range")
        if asked is None:
            return _answer("200 OK", head.format(len(body)), body), "keep"
        start, end = map(int, asked.removeprefix("bytes=").split("-"))
        part = body[start : end + 1]
        extra = f"Content-Range: bytes {start}-{end}/{len(body)}\r\n"
        return _answer("206 Partial Content", head.format(len(part)) + extra, part), "keep"


def _answer(status: str, headers: str, body: bytes) -> bytes:
    return f"HTTP/1.1 {status}\r\n{headers}\r\n".encode() + body


@pytest.mark.parametrize("kind", ["last-modified", "weak-etag"])
def test_a_file_replaced_between_its_ranges_lands_whole_in_its_new_version(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], volume: Path, kind: str
) -> None:
    server = serve(Replaced(VALIDATORS[kind]))
    entry = ModelSource(source=f"{server.url}/m.bin", destination="m")
    report = sync_models([entry], volume, options=OPTIONS, env={})
    assert report.status == "ok", report.message
    assert (volume / "m/m.bin").read_bytes() == V2
    assert sum(seen.method == "HEAD" for seen in server.seen) >= 2  # read again once changed


def test_a_file_with_no_validator_is_fetched_in_one_stream(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], volume: Path
) -> None:
    server = serve(Replaced(VALIDATORS["none"]))
    entry = ModelSource(source=f"{server.url}/m.bin", destination="m")
    report = sync_models([entry], volume, options=OPTIONS, env={})
    assert report.status == "ok", report.message
    assert (volume / "m/m.bin").read_bytes() == V1
    gets = [seen for seen in server.seen if seen.method == "GET"]
    assert [seen.headers.get("range") for seen in gets] == [None]


def test_a_file_with_a_sha256_and_no_validator_is_still_fetched_in_ranges(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], volume: Path
) -> None:
    server = serve(Replaced(VALIDATORS["none"], at=None))
    entry = ModelSource(
        source=f"{server.url}/m.bin", destination="m", sha256=hashlib.sha256(V1).hexdigest()
    )
    report = sync_models([entry], volume, options=OPTIONS, env={})
    assert report.status == "ok", report.message
    assert (volume / "m/m.bin").read_bytes() == V1
    assert all(s.headers.get("range") for s in server.seen if s.method == "GET")
