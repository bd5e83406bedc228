"""Where credentials go when a store points elsewhere (a listing's next page, a redirect), and
how a listing that repeats itself or a redirect of an odd form ends: scripted servers on
loopback, each answer written by the test."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from podkit._http import RetryPolicy
from podkit.config.models import parse_source
from podkit.errors import TransferError
from podkit.worker.transfer._fetch import Fetcher, FetchError
from podkit.worker.transfer.hf import HfSource, next_link
from podkit.worker.transfer.remote import listed
from podkit.worker.transfer.s3 import S3Source
from tests.functional.sync.scripted import Answer, ScriptedServer, Seen

COMMIT = "c" * 40
TOKEN = "hf_CANARY_TOKEN_31"
SESSION = "CANARY-SESSION-TOKEN-31"


def _json(body: object, *extra: str) -> Answer:
    data = json.dumps(body).encode()
    head = "".join(f"{line}\r\n" for line in extra)
    return f"HTTP/1.1 200 OK\r\n{head}Content-Length: {len(data)}\r\n\r\n".encode() + data, "keep"


def _file(name: str) -> list[dict[str, object]]:
    return [{"type": "file", "path": name, "size": 1, "oid": "0" * 40}]


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    fetcher = Fetcher(4, environ={}, retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02))
    yield fetcher
    fetcher.close()


def _mirror(link: str) -> ScriptedServer:
    """An HF mirror whose first tree page links to `link` ({self} is the mirror's own URL)."""

    def script(seen: Seen) -> Answer:
        if "/revision/" in seen.target:
            return _json({"sha": COMMIT})
        if "cursor" not in seen.target:
            return _json(_file("a.bin"), f"Link: {link.format(self=server.url)}")
        return _json(_file("b.bin"))

    server = ScriptedServer(script)
    return server


def _hf(server: ScriptedServer) -> HfSource:
    return HfSource(parse_source("hf://o/r@main"), {"HF_ENDPOINT": server.url, "HF_TOKEN": TOKEN})


def test_a_next_page_on_another_origin_is_asked_for_without_the_token(fetcher: Fetcher) -> None:
    other = ScriptedServer(lambda seen: _json(_file("b.bin")))
    mirror = _mirror(f'<{other.url}/api/models/o/r/tree/{COMMIT}?cursor=2>; rel="next"')
    try:
        assert sorted(f.path for f in listed(_hf(mirror), fetcher)) == ["a.bin", "b.bin"]
        assert [seen.headers.get("authorization") for seen in other.seen] == [None]
        assert all(seen.headers["authorization"] == f"Bearer {TOKEN}" for seen in mirror.seen)
    finally:
        mirror.stop()
        other.stop()


@pytest.mark.parametrize(
    "link",
    [
        "<{self}/api/models/o/r/tree/" + COMMIT + "?recursive=true&cursor=2>; rel=next",
        "</api/models/o/r/tree/" + COMMIT + '?recursive=true&cursor=2>; rel="next"',
        '<{self}/x?cursor=1>; rel="prev", <{self}/x?cursor=2>; type="a"; rel="next"',
    ],
    ids=["unquoted", "relative", "among others"],
)
def test_every_form_of_a_next_link_is_followed(fetcher: Fetcher, link: str) -> None:
    mirror = _mirror(link)
    try:
        assert sorted(f.path for f in listed(_hf(mirror), fetcher)) == ["a.bin", "b.bin"]
    finally:
        mirror.stop()


def test_a_listing_that_links_back_to_a_page_it_gave_ends_in_words(fetcher: Fetcher) -> None:
    mirror = _mirror("<{self}/api/models/o/r/tree/" + COMMIT + '?recursive=true>; rel="next"')
    try:
        with pytest.raises(TransferError, match="already given"):
            listed(_hf(mirror), fetcher)
        assert sum("/tree/" in seen.target for seen in mirror.seen) == 2
    finally:
        mirror.stop()


def test_next_link_reads_rfc_8288_forms() -> None:
    page = "https://h/api/models/o/r/tree/c?recursive=true"
    assert next_link('<https://h/n>; REL="Next last"', page) == "https://h/n"
    assert next_link('<https://h/p>; rel="prev"', page) is None
    assert next_link("", page) is None
    assert next_link("<?cursor=2>; rel=next", page) == "https://h/api/models/o/r/tree/c?cursor=2"


_LISTING = (
    b'<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<IsTruncated>false</IsTruncated><Contents><Key>p/a.bin</Key><Size>1</Size>"
    b'<ETag>"0cc175b9c0f1b6a831c399e269772661"</ETag></Contents></ListBucketResult>'
)


def test_a_signed_request_sent_to_another_origin_leaves_its_session_token_behind(
    fetcher: Fetcher,
) -> None:
    other = ScriptedServer(
        lambda seen: (
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(_LISTING) + _LISTING,
            "keep",
        )
    )
    moved = f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {other.url}/bkt\r\n"
    store = ScriptedServer(lambda seen: ((moved + "Content-Length: 0\r\n\r\n").encode(), "keep"))
    env = {
        "AWS_ENDPOINT_URL_S3": store.url, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "CANARY-SECRET", "AWS_SESSION_TOKEN": SESSION,
        "AWS_REGION": "us-east-1",
    }  # fmt: skip
    try:
        assert [f.path for f in listed(S3Source(parse_source("s3://bkt/p/"), env), fetcher)] == [
            "a.bin"
        ]
        assert store.seen[0].headers["x-amz-security-token"] == SESSION  # sent where signed
        sent = [seen.headers for seen in other.seen]
        assert sent and not any(
            k.startswith("x-amz-") or k == "authorization" for h in sent for k in h
        )
    finally:
        store.stop()
        other.stop()


@pytest.mark.parametrize(
    ("location", "path"),
    [("/dl/\u00e9.bin", "/dl/%C3%A9.bin"), ("/dl/a b.bin", "/dl/a%20b.bin")],
    ids=["utf-8", "space"],
)
def test_a_redirect_to_a_name_beyond_ascii_reaches_that_name(
    fetcher: Fetcher, location: str, path: str
) -> None:
    def script(seen: Seen) -> Answer:
        if seen.target == "/start":
            head = b"HTTP/1.1 302 Found\r\nLocation: " + location.encode() + b"\r\n"
            return head + b"Content-Length: 0\r\n\r\n", "keep"
        if seen.target == path:
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "keep"
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "keep"

    server = ScriptedServer(script)
    try:
        assert fetcher.text(f"{server.url}/start", {}) == "ok"
        assert [seen.target for seen in server.seen] == ["/start", path]
    finally:
        server.stop()


def test_a_redirect_to_a_url_that_does_not_parse_is_a_worded_refusal(fetcher: Fetcher) -> None:
    answer = b"HTTP/1.1 302 Found\r\nLocation: http://[::1/x\r\nContent-Length: 0\r\n\r\n"
    server = ScriptedServer(lambda seen: (answer, "keep"))
    try:
        with pytest.raises(FetchError, match="redirected to a URL that is not valid"):
            fetcher.text(f"{server.url}/doc", {})
    finally:
        server.stop()
