"""Google Cloud Storage over the JSON API: list with crc32c + generation, pinned media URLs.

Every data request carries `generation=<n>`: if the object is replaced mid-download, the old
generation answers 404 and the engine restarts the file on the new one. Verification uses
crc32c only (composite objects have no md5). An object stored gzip-encoded
(`Content-Encoding: gzip`) lands as stored: compressed, as its size and crc32c describe it.
STORAGE_EMULATOR_HOST points at an emulator.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlencode

from podkit.config.models import ParsedSource
from podkit.errors import TransferError
from podkit.worker.transfer._fetch import Fetcher, FetchError, Pages
from podkit.worker.transfer.credentials import GcsToken
from podkit.worker.transfer.endpoints import endpoint_from
from podkit.worker.transfer.remote import RemoteFile, safe_relative
from podkit.worker.transfer.verify import Expected, gcs_crc32c_hex

DEFAULT_ENDPOINT = "https://storage.googleapis.com"


def gcs_endpoint(env: dict[str, str]) -> str:
    return endpoint_from(env, ("STORAGE_EMULATOR_HOST",), bare_host=True) or DEFAULT_ENDPOINT


class GcsSource:
    """`gs://bucket/prefix`: every object under the prefix (or the one object it names)."""

    changed_statuses = frozenset({404, 412})

    def __init__(self, parsed: ParsedSource, env: dict[str, str]) -> None:
        self.bucket = parsed.bucket
        self.prefix = parsed.prefix
        self.label = f"gs://{parsed.bucket}/{parsed.prefix}"
        self.endpoint = gcs_endpoint(env)
        self._objects = f"{self.endpoint}/storage/v1/b/{quote(self.bucket)}/o"
        self.token = GcsToken(env)

    def headers(self, url: str) -> dict[str, str]:
        return self.token.header()

    def list_files(self, fetcher: Fetcher) -> list[RemoteFile]:
        directory = (
            self.prefix if not self.prefix or self.prefix.endswith("/") else self.prefix + "/"
        )
        items = self._list_prefix(fetcher, directory)
        if not items and directory != self.prefix:
            single = self._get_meta(fetcher, self.prefix)
            if single is not None:
                return [self._remote(single, self.prefix.rsplit("/", 1)[-1])]
        files = []
        for item in items:
            name = str(item["name"])
            if name.endswith("/"):
                continue  # a "directory placeholder" object
            files.append(self._remote(item, name[len(directory) :]))
        return files

    def _list_prefix(self, fetcher: Fetcher, prefix: str) -> list[dict[str, object]]:
        items: list[dict[str, object]] = []
        pages = Pages(fetcher)
        token = ""
        while True:
            query = {"prefix": prefix, "maxResults": "1000"}
            if token:
                try:
                    pages.next(token)
                except FetchError as exc:
                    raise _listing_error(self.label, exc) from None
                query["pageToken"] = token
            url = f"{self._objects}?{urlencode(query)}"
            page = self._json(fetcher, url)
            found = page.get("items", [])
            items.extend(found if isinstance(found, list) else [])
            token = str(page.get("nextPageToken") or "")
            if not token:
                return items

    def _json(self, fetcher: Fetcher, url: str) -> dict[str, object]:
        try:
            return dict(fetcher.json(url, self.headers(url)))
        except FetchError as exc:
            raise _listing_error(self.label, exc) from None

    def _get_meta(self, fetcher: Fetcher, name: str) -> dict[str, object] | None:
        url = f"{self._objects}/{_object_path(name)}"
        try:
            return dict(fetcher.json(url, self.headers(url)))
        except FetchError as exc:
            if exc.status == 404:
                return None
            raise _listing_error(self.label, exc) from None

    def _remote(self, item: dict[str, object], relative: str) -> RemoteFile:
        name, generation = str(item["name"]), str(item["generation"])
        if not generation.isdigit():
            raise TransferError(f"{self.label}: {name!r} has a generation that is not a number")
        url = f"{self._objects}/{_object_path(name)}?alt=media&generation={generation}"
        crc = gcs_crc32c_hex(str(item["crc32c"])) if item.get("crc32c") else ""
        size = int(str(item["size"]))
        # Stored gzip-encoded, an object is served decompressed (and without ranges) unless
        # the request accepts gzip: then it comes as stored, as its size and crc32c describe.
        stored_gzip = "gzip" in str(item.get("contentEncoding") or "").lower()
        return RemoteFile(
            path=safe_relative(relative, source=self.label),
            url=url,
            size=size,
            version=f"gen{generation}:{crc}",
            expected=Expected(size=size, crc32c=crc),
            pin_headers=(("Accept-Encoding", "gzip"),) if stored_gzip else (),
        )

    def refresh(self, fetcher: Fetcher, old: RemoteFile) -> RemoteFile | None:
        name = old.url.split("/o/", 1)[1].split("?", 1)[0]
        item = self._get_meta(fetcher, unquote(name))
        return None if item is None else self._remote(item, old.path)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~/-]*")


def _object_path(name: str) -> str:
    """An object name as one path segment (`/` encoded too); the common case without quote()."""
    return name.replace("/", "%2F") if _PLAIN_NAME.fullmatch(name) else quote(name, safe="")


def _listing_error(label: str, exc: FetchError) -> TransferError:
    hint = "check the bucket name and that the credentials may list it"
    if exc.status in (401, 403):
        hint = "set PODKIT_GCS_CREDENTIALS_JSON (credentials JSON) with storage.objects.list"
    return TransferError(f"{label}: listing failed: {exc}", hint=exc.hint or hint)
