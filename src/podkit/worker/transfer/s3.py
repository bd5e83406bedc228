"""Amazon S3 (and compatible stores): ListObjectsV2, SigV4-signed GETs pinned with `If-Match`.

Single-part objects are verified by their md5 ETag; multipart ones by recomputing
`md5(part md5s)-N` with the part size read from `HEAD ?partNumber=1`. A replaced object
answers 412 to the pinned ETag and is restarted on its new version. Credentials, region and
signing are botocore's (`aws`); a bucket in another region than the one configured answers
with its own (`x-amz-bucket-region`), and the listing is asked again there (once: a region
that keeps changing is an error). Listings are read by local names, whatever the namespace
(GCS's XML API has its own). Buckets whose names hold dots are addressed path-style (a
dotted virtual host does not match the wildcard certificate). AWS_ENDPOINT_URL_S3 (or
AWS_ENDPOINT_URL) points at a compatible store or an emulator (path-style requests).
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote, unquote, unquote_plus

from podkit.config.models import ParsedSource
from podkit.errors import TransferError
from podkit.worker.transfer._fetch import (
    NOT_THE_STORE,
    Fetcher,
    FetchError,
    Pages,
    raise_for_status,
    read_document,
)
from podkit.worker.transfer.aws import AwsAuth
from podkit.worker.transfer.endpoints import endpoint_from
from podkit.worker.transfer.remote import RemoteFile, safe_relative
from podkit.worker.transfer.verify import Expected

# Elements by their local names: AWS answers in its 2006-03-01 namespace, other stores (GCS's
# XML API, some emulators) in another one or in none.
_ANY = "{*}"
# A name that can be a DNS label under the wildcard certificate: no dots, no capitals.
_VIRTUAL_HOSTABLE = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_REGION_ANSWERS = frozenset({301, 307, 400})  # PermanentRedirect, AuthorizationHeaderMalformed
_LISTING_HINT = "check the bucket, AWS_REGION and the AWS keys (they need s3:ListBucket)"


def s3_base_url(bucket: str, region: str, endpoint: str = "") -> str:
    """The URL of the bucket: path-style on a custom endpoint or for a name that cannot be a
    virtual host, `https://<bucket>.s3.<region>.amazonaws.com` otherwise."""
    if endpoint:
        return f"{endpoint.rstrip('/')}/{quote(bucket)}"
    if _VIRTUAL_HOSTABLE.fullmatch(bucket):
        return f"https://{bucket}.s3.{region}.amazonaws.com"
    return f"https://s3.{region}.amazonaws.com/{quote(bucket)}"


class S3Source:
    """`s3://bucket/prefix`: every object under the prefix (or the one object it names)."""

    changed_statuses = frozenset({412})

    def __init__(self, parsed: ParsedSource, env: dict[str, str]) -> None:
        self.bucket = parsed.bucket
        self.prefix = parsed.prefix
        self.label = f"s3://{parsed.bucket}/{parsed.prefix}"
        self.auth = AwsAuth(env)
        self._endpoint = endpoint_from(env, ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"))
        self._set_region(self.auth.default_region())
        self._first_region = self.region
        self._region_followed = False

    def _set_region(self, region: str) -> None:
        self.region = region
        self.base = s3_base_url(self.bucket, region, self._endpoint)

    def headers(self, url: str) -> dict[str, str]:
        return self.auth.sign("GET", url, self.region)

    def list_files(self, fetcher: Fetcher) -> list[RemoteFile]:
        directory = (
            self.prefix if not self.prefix or self.prefix.endswith("/") else self.prefix + "/"
        )
        entries = self._list_prefix(fetcher, directory)
        if not entries and directory != self.prefix:
            name = self.prefix.rsplit("/", 1)[-1]
            found = [e for e in self._list_prefix(fetcher, self.prefix) if e[0] == self.prefix]
            return [self._remote(fetcher, key, size, etag, name) for key, size, etag in found]
        return [
            self._remote(fetcher, key, size, etag, key[len(directory) :])
            for key, size, etag in entries
            if not key.endswith("/")
        ]

    def _list_prefix(self, fetcher: Fetcher, prefix: str) -> list[tuple[str, int, str]]:
        entries: list[tuple[str, int, str]] = []
        pages = Pages(fetcher)
        token = ""
        try:
            while True:
                # Keys come URL-encoded: a control character in one is not allowed in XML 1.0.
                query = {
                    "list-type": "2",
                    "prefix": prefix,
                    "max-keys": "1000",
                    "encoding-type": "url",
                }
                if token:
                    pages.next(token)
                    query["continuation-token"] = token
                page = fetcher.retrying(functools.partial(self._page, fetcher, _aws_query(query)))
                root = _listing(page)
                entries.extend(_contents(root))
                token = root.findtext(f"{_ANY}NextContinuationToken") or ""
                if root.findtext(f"{_ANY}IsTruncated") != "true" or not token:
                    return entries
        except FetchError as exc:
            raise TransferError(
                f"{self.label}: listing failed: {exc}", hint=exc.hint or _LISTING_HINT
            ) from None

    def _page(self, fetcher: Fetcher, query: str) -> str:
        """One listing page; a bucket of another region says which, and is asked again there
        (once per source: a region that keeps changing is an error)."""
        while True:
            url = f"{self.base}/?{query}"
            with fetcher.open(url, self.headers(url), data=False) as response:
                region = response.header("x-amz-bucket-region")
                if response.status not in _REGION_ANSWERS or not region or region == self.region:
                    raise_for_status(response)
                    return read_document(response)
            self._follow_region(region)

    def _follow_region(self, region: str) -> None:
        if self._region_followed:
            raise FetchError(
                f"the bucket's region keeps changing: asked in {self._first_region}, it named "
                f"{self.region}, and asked there, {region}",
                hint="set AWS_REGION to the bucket's region, and check that "
                "AWS_ENDPOINT_URL_S3 (where set) reaches one store, not a proxy in front of "
                "several",
            )
        self._region_followed = True
        self._set_region(region)

    def _remote(
        self, fetcher: Fetcher, key: str, size: int, etag: str, relative: str
    ) -> RemoteFile:
        bare = etag.strip('"')
        expected = Expected(size=size)
        if bare and "-" not in bare:
            expected = Expected(size=size, md5=bare)
        elif "-" in bare:
            part = self._part_size(fetcher, key)
            expected = Expected(size=size, s3_multipart_etag=bare, s3_part_size=part)
        return RemoteFile(
            path=safe_relative(relative, source=self.label),
            url=f"{self.base}/{quote(key)}",
            size=size,
            version=f"etag:{bare}",
            expected=expected,
            pin_headers=(("If-Match", etag),) if etag else (),
        )

    def _part_size(self, fetcher: Fetcher, key: str) -> int:
        url = f"{self.base}/{quote(key)}?partNumber=1"
        try:
            response = fetcher.head(url, self.auth.sign("HEAD", url, self.region))
            raise_for_status(response, expected=(200, 206))
        except FetchError:
            return 0  # unknown part layout: size and If-Match still hold
        return int(response.header("Content-Length") or 0)

    def refresh(self, fetcher: Fetcher, old: RemoteFile) -> RemoteFile | None:
        name = unquote(old.url[len(self.base) + 1 :])
        found = [e for e in self._list_prefix(fetcher, name) if e[0] == name]
        if not found:
            return None
        _, size, etag = found[0]
        return self._remote(fetcher, name, size, etag, old.path)


def _listing(page: str) -> ET.Element:
    """A ListObjectsV2 page as XML; FetchError for XML of another kind (a proxy's, an error
    document answered with 200), which would otherwise read as an empty listing."""
    root = ET.fromstring(page)
    if root.tag.rpartition("}")[2] != "ListBucketResult":
        raise FetchError(
            f"the store answered a <{root.tag.rpartition('}')[2]}> document, not an S3 listing "
            "(ListBucketResult)",
            hint=NOT_THE_STORE,
        )
    return root


def _contents(root: ET.Element) -> list[tuple[str, int, str]]:
    """(key, size, ETag) of each object of a listing page; keys decoded where the store says
    it encoded them (a store that ignores `encoding-type` sends them as they are)."""
    encoded = root.findtext(f"{_ANY}EncodingType") == "url"
    return [
        (
            _key(item.findtext(f"{_ANY}Key") or "", encoded),
            int(item.findtext(f"{_ANY}Size") or 0),
            (item.findtext(f"{_ANY}ETag") or "").strip(),
        )
        for item in root.iterfind(f"{_ANY}Contents")
    ]


def _key(text: str, encoded: bool) -> str:
    try:
        return unquote_plus(text, errors="strict") if encoded else text
    except UnicodeDecodeError:
        raise FetchError(
            f"the listing names an object {text!r} that is not URL-encoded UTF-8",
            hint=NOT_THE_STORE,
        ) from None


def _aws_query(query: dict[str, str]) -> str:
    """A query in SigV4 canonical form: sorted, everything but unreserved characters encoded."""
    return "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
