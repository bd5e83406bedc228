"""Hugging Face repositories: resolve the revision to a commit, list its tree, fetch by commit.

URLs name the commit sha, so a moving branch cannot mix versions within one sync. LFS files
are verified by sha256, the rest by their git blob sha1. HF_ENDPOINT points at a mirror;
HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) is sent as a bearer token.
"""

from __future__ import annotations

import functools
import json
import re
from urllib.parse import quote, urljoin

from podkit.config.models import ParsedSource
from podkit.errors import TransferError
from podkit.worker.transfer._fetch import Fetcher, FetchError, Pages, raise_for_status, same_origin
from podkit.worker.transfer.credentials import hf_token
from podkit.worker.transfer.endpoints import endpoint_from
from podkit.worker.transfer.remote import RemoteFile, safe_relative
from podkit.worker.transfer.verify import Expected

DEFAULT_ENDPOINT = "https://huggingface.co"
_LINK = re.compile(r"<([^>]*)>((?:\s*;[^,;]*)*)")
_REL = re.compile(r'\brel\s*=\s*("[^"]*"|[^\s;,]+)', re.IGNORECASE)


class HfSource:
    """`hf://org/repo@revision`."""

    changed_statuses = frozenset({412})

    def __init__(self, parsed: ParsedSource, env: dict[str, str]) -> None:
        self.repo = parsed.repo
        self.revision = parsed.revision
        self.label = f"hf://{parsed.repo}@{parsed.revision}"
        self.endpoint = endpoint_from(env, ("HF_ENDPOINT",)) or DEFAULT_ENDPOINT
        self._token = hf_token(env)

    def headers(self, url: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def list_files(self, fetcher: Fetcher) -> list[RemoteFile]:
        commit = self._commit(fetcher)
        files = []
        for item in self._tree(fetcher, commit):
            if item.get("type") != "file":
                continue
            files.append(self._remote(item, commit))
        return files

    def _commit(self, fetcher: Fetcher) -> str:
        url = f"{self.endpoint}/api/models/{self.repo}/revision/{quote(self.revision, safe='')}"
        try:
            info = fetcher.json(url, self.headers(url))
        except FetchError as exc:
            hint = "check the repo id and revision"
            if exc.status in (401, 403):
                hint = "set HF_TOKEN for a gated or private repo"
            raise TransferError(f"{self.label}: {exc}", hint=exc.hint or hint) from None
        return str(info["sha"])

    def _tree(self, fetcher: Fetcher, commit: str) -> list[dict[str, object]]:
        url: str | None = f"{self.endpoint}/api/models/{self.repo}/tree/{commit}?recursive=true"
        items: list[dict[str, object]] = []
        pages = Pages(fetcher)
        try:
            while url:
                body, link = fetcher.retrying(functools.partial(self._page, fetcher, url))
                items.extend(json.loads(body))
                url = next_link(link, url)
                if url:
                    pages.next(url)
        except FetchError as exc:
            raise TransferError(f"{self.label}: listing failed: {exc}", hint=exc.hint) from None
        return items

    def _page(self, fetcher: Fetcher, url: str) -> tuple[bytes, str]:
        # The token goes only to the endpoint's own origin, wherever a page's link points.
        headers = self.headers(url) if same_origin(url, self.endpoint) else {}
        with fetcher.open(url, headers, data=False) as response:
            raise_for_status(response)
            return b"".join(iter(response.read, b"")), response.header("Link") or ""

    def _remote(self, item: dict[str, object], commit: str) -> RemoteFile:
        path = str(item["path"])
        size = int(str(item["size"]))
        lfs = item.get("lfs")
        if isinstance(lfs, dict) and lfs.get("oid"):
            expected = Expected(size=size, sha256=str(lfs["oid"]))
            version = f"{commit}:{lfs['oid']}"
        else:
            expected = Expected(size=size, git_sha1=str(item.get("oid", "")))
            version = f"{commit}:{item.get('oid', '')}"
        return RemoteFile(
            path=safe_relative(path, source=self.label),
            url=f"{self.endpoint}/{self.repo}/resolve/{commit}/{quote(path)}",
            size=size,
            version=version,
            expected=expected,
        )

    def refresh(self, fetcher: Fetcher, old: RemoteFile) -> RemoteFile | None:
        return old  # commit-addressed: the content cannot change under the same URL


def next_link(header: str, page_url: str) -> str | None:
    """The `rel="next"` target of a Link header (RFC 8288: the relation quoted or not, among
    other parameters, the target relative to the page), or None."""
    for target, params in _LINK.findall(header):
        for rel in _REL.findall(params):
            if "next" in rel.strip('"').lower().split():
                return urljoin(page_url, str(target).strip())
    return None
