"""A single file over HTTPS: size and ETag from a HEAD, `If-Match` pins the version (a
weak ETag or a Last-Modified is checked on every answer instead; with no validator and no
sha256 the file is fetched in one stream, never as ranges that could mix two versions).

Integrity comes from the Content-Length and, when the entry declares it, a sha256.
PODKIT_HTTPS_TOKEN, when set, is sent as a bearer token.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from podkit.config.models import ParsedSource
from podkit.errors import TransferError
from podkit.worker.transfer._fetch import Fetcher, FetchError, Response, raise_for_status
from podkit.worker.transfer.credentials import env_value
from podkit.worker.transfer.remote import RemoteFile, safe_relative
from podkit.worker.transfer.verify import Expected


class HttpsSource:
    """`https://host/path/file`: one file, placed under its own name."""

    changed_statuses = frozenset({412})

    def __init__(self, parsed: ParsedSource, env: dict[str, str], sha256: str | None) -> None:
        self.url = parsed.url
        self.label = parsed.url
        self.sha256 = sha256 or ""
        self._token = env_value(env, "PODKIT_HTTPS_TOKEN")

    def headers(self, url: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def list_files(self, fetcher: Fetcher) -> list[RemoteFile]:
        try:
            size, response = self._probe(fetcher)
        except FetchError as exc:
            # The message already starts with the URL, which is this source's label.
            raise TransferError(
                str(exc), hint=exc.hint or "check the URL and that it is reachable"
            ) from None
        if size is None:
            raise TransferError(
                f"{self.label}: the server does not tell the file's size (no Content-Length, "
                "or a range's Content-Range with the total as *)",
                hint="serve the file with a known length (a static file server does)",
            )
        etag = response.header("ETag") or ""
        modified = response.header("Last-Modified") or ""
        name = unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])
        version = etag or f"lm:{modified}"
        pins, validators = _pins(etag, modified)
        return [
            RemoteFile(
                path=safe_relative(name, source=self.label),
                url=self.url,
                size=size,
                version=f"{version}:{self.sha256}",
                expected=Expected(size=size, sha256=self.sha256),
                pin_headers=pins,
                validators=validators,
                splittable=bool(etag or modified or self.sha256),
            )
        ]

    def _probe(self, fetcher: Fetcher) -> tuple[int | None, Response]:
        """Size and validators from a HEAD; servers that refuse HEAD get a 1-byte range GET."""
        response = fetcher.head(self.url, self.headers(self.url))
        if response.status in (403, 405, 501):
            with fetcher.open(
                self.url, {**self.headers(self.url), "Range": "bytes=0-0"}, data=False
            ) as ranged:
                raise_for_status(ranged, expected=(200, 206))
                return _ranged_size(ranged), ranged
        raise_for_status(response)
        length = response.header("Content-Length")
        return (int(length) if length and length.isdigit() else None), response

    def refresh(self, fetcher: Fetcher, old: RemoteFile) -> RemoteFile | None:
        return self.list_files(fetcher)[0]


def _pins(
    etag: str, modified: str
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The request headers that pin the listed version, and the answer headers that must
    repeat it: a strong ETag is pinned by If-Match (the server refuses another version with
    412); a weak one cannot be (If-Match compares strongly), so each answer must carry it
    unchanged, and a Last-Modified without a strong ETag is pinned by If-Unmodified-Since
    and checked the same way."""
    if etag and not etag.startswith("W/"):
        return (("If-Match", etag),), ()
    pins = (("If-Unmodified-Since", modified),) if modified else ()
    checks = tuple(
        (name, value) for name, value in (("ETag", etag), ("Last-Modified", modified)) if value
    )
    return pins, checks


def _ranged_size(response: Response) -> int | None:
    """The file's size from the answer to `Range: bytes=0-0`: a 206's Content-Range total (its
    Content-Length is the range's, 1 byte), or a 200's Content-Length (the whole file); None
    when neither tells it (`bytes 0-0/*`: the server does not know the total)."""
    if response.status == 206:
        total = (response.header("Content-Range") or "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.header("Content-Length")
    return int(length) if length and length.isdigit() else None
