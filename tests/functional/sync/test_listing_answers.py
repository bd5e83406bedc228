"""Listings and size probes that answer in a way the stores' own servers rarely do: an S3
listing in another XML namespace (GCS's XML API) or in none, XML of another kind, a page token
handed back again, a listing still going when the sync's deadline has passed, a bucket whose
region keeps changing, and an HTTPS server that knows no total for a range. Each is a file
landed or one error in words, never a listing that goes on for ever, an empty success or a
traceback. A scripted server on loopback makes these answers (moto and fake-gcs-server do not).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from podkit.config.models import ModelSource, parse_source
from podkit.errors import TransferError
from podkit.worker.transfer import sync_models
from podkit.worker.transfer._fetch import Fetcher
from podkit.worker.transfer.gcs import GcsSource
from podkit.worker.transfer.remote import Source, listed
from podkit.worker.transfer.s3 import S3Source
from tests.functional.sync.scripted import Answer, ScriptedServer, Seen
from tests.functional.sync.test_sources import SMALL

Serve = Callable[[Callable[[Seen], Answer]], ScriptedServer]
DATA = b"weights"
ETAG = f'"{hashlib.md5(DATA).hexdigest()}"'
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
GCS_XML_NS = "http://doc.s3.amazonaws.com/2006-03-01"  # GCS's XML API
PAGES = 6  # what a scripted listing hands out at most, so a defect ends instead of hanging


def _answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _s3_page(xmlns: str, token: str = "", root: str = "ListBucketResult") -> bytes:
    attribute = f' xmlns="{xmlns}"' if xmlns else ""
    more = f"<NextContinuationToken>{token}</NextContinuationToken>" if token else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{root}{attribute}>'
        f"<IsTruncated>{'true' if token else 'false'}</IsTruncated>{more}"
        f"<Contents><Key>m/w.bin</Key><Size>{len(DATA)}</Size><ETag>{ETAG}</ETag></Contents>"
        f"</{root}>"
    ).encode()


def _s3_env(server: ScriptedServer) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL_S3": server.url, "AWS_REGION": "us-east-1"}


def _listings(server: ScriptedServer) -> int:
    return sum("list-type=2" in seen.target or "/o?" in seen.target for seen in server.seen)


@pytest.mark.parametrize("xmlns", [S3_NS, GCS_XML_NS, ""], ids=["aws", "gcs-xml-api", "none"])
def test_an_s3_listing_in_any_namespace_lands_its_files(
    serve: Serve, volume: Path, xmlns: str
) -> None:
    def script(seen: Seen) -> Answer:
        if "list-type=2" in seen.target:
            return _answer(200, _s3_page(xmlns)), "keep"
        return _answer(200, DATA, {"ETag": ETAG}), "keep"

    server = serve(script)
    entry = ModelSource(source="s3://bkt/m/", destination="ns")
    report = sync_models([entry], volume, options=SMALL, env=_s3_env(server))
    assert report.status == "ok", report.message
    assert (volume / "ns/w.bin").read_bytes() == DATA


@pytest.mark.parametrize(
    ("encoding", "key", "name"),
    [("", "m/a+b%20c.bin", "a+b%20c.bin"), ("url", "m/a%2Bb+c%20d.bin", "a+b c d.bin")],
    ids=["store-ignores-encoding-type", "url"],
)
def test_s3_keys_are_decoded_only_where_the_listing_says_they_were_encoded(
    serve: Serve, volume: Path, encoding: str, key: str, name: str
) -> None:
    tag = f"<EncodingType>{encoding}</EncodingType>" if encoding else ""
    page = (
        f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{S3_NS}">'
        f"<IsTruncated>false</IsTruncated>{tag}"
        f"<Contents><Key>{key}</Key><Size>{len(DATA)}</Size><ETag>{ETAG}</ETag></Contents>"
        "</ListBucketResult>"
    ).encode()

    def script(seen: Seen) -> Answer:
        if "list-type=2" in seen.target:
            assert "encoding-type=url" in seen.target
            return _answer(200, page), "keep"
        return _answer(200, DATA, {"ETag": ETAG}), "keep"

    server = serve(script)
    entry = ModelSource(source="s3://bkt/m/", destination="enc")
    report = sync_models([entry], volume, options=SMALL, env=_s3_env(server))
    assert report.status == "ok", report.message
    assert [p.name for p in (volume / "enc").iterdir() if not p.name.startswith(".")] == [name]


def test_s3_xml_that_is_not_a_listing_is_an_error_not_an_empty_bucket(
    serve: Serve, volume: Path
) -> None:
    page = _s3_page(S3_NS, root="ListAllMyBucketsResult")
    server = serve(lambda seen: (_answer(200, page), "keep"))
    entry = ModelSource(source="s3://bkt/m/", destination="other")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=SMALL, env=_s3_env(server))
    assert caught.value.message.startswith("s3://bkt/m/: listing failed:")
    assert "<ListAllMyBucketsResult>" in caught.value.message
    assert "not an S3 listing" in caught.value.message
    assert "AWS_ENDPOINT_URL_S3" in (caught.value.hint or "")
    assert not (volume / "other").exists()


def _s3_pages(tokens: Callable[[int], str]) -> Callable[[Seen], Answer]:
    """Listing pages; the one asked for n-th (from 1) hands out `tokens(n)`, none after PAGES."""
    asked: list[str] = []

    def script(seen: Seen) -> Answer:
        asked.append(seen.target)
        token = tokens(len(asked)) if len(asked) < PAGES else ""
        return _answer(200, _s3_page(S3_NS, token)), "keep"

    return script


def _gcs_pages(tokens: Callable[[int], str]) -> Callable[[Seen], Answer]:
    asked: list[str] = []

    def script(seen: Seen) -> Answer:
        asked.append(seen.target)
        token = tokens(len(asked)) if len(asked) < PAGES else ""
        item = {"name": f"m/{len(asked)}.bin", "generation": "1", "size": "1"}
        page: dict[str, object] = {"items": [item]}
        if token:
            page["nextPageToken"] = token
        return _answer(200, json.dumps(page).encode()), "keep"

    return script


def _source(kind: str, server: ScriptedServer) -> Source:
    if kind == "s3":
        return S3Source(parse_source("s3://bkt/m/"), _s3_env(server))
    return GcsSource(parse_source("gs://bkt/m/"), {"STORAGE_EMULATOR_HOST": server.url})


PAGED = {"s3": _s3_pages, "gs": _gcs_pages}


@pytest.mark.parametrize("kind", sorted(PAGED))
def test_a_page_token_handed_back_again_ends_the_listing_in_words(serve: Serve, kind: str) -> None:
    server = serve(PAGED[kind](lambda n: f"T{n}" if n < 3 else "T1"))
    fetcher = Fetcher(2, environ={})
    try:
        with pytest.raises(TransferError) as caught:
            listed(_source(kind, server), fetcher)
    finally:
        fetcher.close()
    assert "listing failed: the listing handed back a page it had already given" in str(
        caught.value
    )
    assert "store itself" in (caught.value.hint or "")
    assert _listings(server) == 3  # the pages of T1 and T2 once each, and no more


@pytest.mark.parametrize("kind", sorted(PAGED))
def test_no_page_is_asked_for_once_the_deadline_has_passed(serve: Serve, kind: str) -> None:
    server = serve(PAGED[kind](lambda n: f"T{n}"))
    fetcher = Fetcher(2, environ={}, time_left=lambda: -1.0)
    try:
        with pytest.raises(TransferError) as caught:
            listed(_source(kind, server), fetcher)
    finally:
        fetcher.close()
    assert "the sync's deadline passed while listing" in caught.value.message
    assert "more time" in (caught.value.hint or "")
    assert _listings(server) == 1


def test_a_bucket_whose_region_keeps_changing_is_one_error_in_words(
    serve: Serve, volume: Path
) -> None:
    regions = iter(f"eu-west-{n}" for n in range(1, 100))

    def script(seen: Seen) -> Answer:
        body = b"<Error><Code>PermanentRedirect</Code></Error>"
        return _answer(301, body, {"x-amz-bucket-region": next(regions)}), "keep"

    server = serve(script)
    entry = ModelSource(source="s3://bkt/m/", destination="moving")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=SMALL, env=_s3_env(server))
    message = caught.value.message
    assert message.startswith("s3://bkt/m/: listing failed: the bucket's region keeps changing")
    assert "us-east-1" in message and "eu-west-1" in message and "eu-west-2" in message
    assert "AWS_REGION" in (caught.value.hint or "")
    assert len(server.seen) == 2  # the configured region, then the one the bucket named


def test_a_range_answer_without_a_total_is_an_unknown_size_not_a_one_byte_file(
    serve: Serve, volume: Path
) -> None:
    body = b"x" * 1000

    def script(seen: Seen) -> Answer:
        if seen.method == "HEAD":
            return _answer(405), "keep"
        first, _, last = seen.headers.get("range", "bytes=0-").removeprefix("bytes=").partition("-")
        if not last:
            return _answer(200, body), "keep"
        part = body[int(first) : int(last) + 1]
        return _answer(206, part, {"Content-Range": f"bytes {first}-{last}/*"}), "keep"

    server = serve(script)
    entry = ModelSource(source=f"{server.url}/model.bin", destination="star")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=SMALL, env={})
    assert "does not tell the file's size" in caught.value.message
    assert "known length" in (caught.value.hint or "")
    assert not (volume / "star/model.bin").exists()
