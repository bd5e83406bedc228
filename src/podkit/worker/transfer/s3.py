"""Amazon S3 (and compatible stores): ListObjectsV2, SigV4-signed GETs pinned with `If-Match`.

Single-part objects are verified by their md5 ETag; multipart ones by recomputing
`md5(part md5s)-N` with the part size read from `HEAD ?partNumber=1`. A replaced object
answers 412 to the pinned ETag and is restarted on its new version. AWS_ENDPOINT_URL_S3 (or
AWS_ENDPOINT_URL) points at a compatible store or an emulator (path-style requests).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

from podkit.config.models import ParsedSource
from podkit.errors import TransferError
from podkit.worker.transfer._fetch import Fetcher, FetchError, raise_for_status
from podkit.worker.transfer.credentials import AwsKeys, aws_keys
from podkit.worker.transfer.remote import RemoteFile, safe_relative
from podkit.worker.transfer.verify import Expected

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


class S3Source:
    """`s3://bucket/prefix`: every object under the prefix (or the one object it names)."""

    changed_statuses = frozenset({412})

    def __init__(self, parsed: ParsedSource, env: dict[str, str]) -> None:
        self.bucket = parsed.bucket
        self.prefix = parsed.prefix
        self.label = f"s3://{parsed.bucket}/{parsed.prefix}"
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or ""
        if endpoint:
            self.base = f"{endpoint.rstrip('/')}/{quote(self.bucket)}"
        else:
            self.base = f"https://{self.bucket}.s3.{self.region}.amazonaws.com"
        self.keys = aws_keys(env)

    def headers(self, url: str) -> dict[str, str]:
        if self.keys is None:
            return {}
        return sigv4_headers(url, self.keys, self.region)

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
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
            if token:
                query["continuation-token"] = token
            url = f"{self.base}/?{_aws_query(query)}"
            try:
                root = ET.fromstring(fetcher.text(url, self.headers(url)))
            except FetchError as exc:
                raise TransferError(
                    f"{self.label}: listing failed: {exc}",
                    hint=exc.hint
                    or "check the bucket, AWS_REGION and the AWS keys (they need s3:ListBucket)",
                ) from None
            for item in root.iter(f"{_NS}Contents"):
                key = item.findtext(f"{_NS}Key") or ""
                size = int(item.findtext(f"{_NS}Size") or 0)
                etag = (item.findtext(f"{_NS}ETag") or "").strip()
                entries.append((key, size, etag))
            token = root.findtext(f"{_NS}NextContinuationToken") or ""
            if root.findtext(f"{_NS}IsTruncated") != "true" or not token:
                return entries

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
            auth = sigv4_headers(url, self.keys, self.region, method="HEAD") if self.keys else {}
            response = fetcher.head(url, auth)
            raise_for_status(response, expected=(200, 206))
        except FetchError:
            return 0  # unknown part layout: size and If-Match still hold
        return int(response.header("Content-Length") or 0)

    def refresh(self, fetcher: Fetcher, old: RemoteFile) -> RemoteFile | None:
        key = old.url[len(self.base) + 1 :]
        from urllib.parse import unquote

        name = unquote(key)
        found = [e for e in self._list_prefix(fetcher, name) if e[0] == name]
        if not found:
            return None
        _, size, etag = found[0]
        return self._remote(fetcher, name, size, etag, old.path)


def sigv4_headers(
    url: str,
    keys: AwsKeys,
    region: str,
    *,
    method: str = "GET",
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """AWS Signature Version 4 headers for a GET/HEAD (no body: the empty-payload hash)."""
    moment = now or dt.datetime.now(dt.UTC)
    stamp, day = moment.strftime("%Y%m%dT%H%M%SZ"), moment.strftime("%Y%m%d")
    parts = urlsplit(url)
    host = parts.netloc
    query = "&".join(sorted(_canonical_pairs(parts.query)))
    headers = {"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": stamp}
    if keys.session_token:
        headers["x-amz-security-token"] = keys.session_token
    signed = ";".join(sorted(headers))
    canonical_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers))
    scope = f"{day}/{region}/s3/aws4_request"
    request = "\n".join([method, parts.path or "/", query, canonical_headers, signed, EMPTY_SHA256])
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    key = _signing_key(keys.secret_key, day, region)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    result = {k: v for k, v in headers.items() if k != "host"}
    result["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={keys.access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return result


def _aws_query(query: dict[str, str]) -> str:
    """A query in SigV4 canonical form: sorted, everything but unreserved characters encoded."""
    return "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )


def _canonical_pairs(query: str) -> list[str]:
    pairs = []
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        pairs.append(f"{name}={value}")
    return pairs


def _signing_key(secret: str, day: str, region: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
