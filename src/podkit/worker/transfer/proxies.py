"""Which proxy a model-sync request goes through, read from the environment as curl reads it.

`https://` URLs: `https_proxy`, then `HTTPS_PROXY`; `http://` URLs: `http_proxy` only (curl
ignores an upper-case `HTTP_PROXY`, which a CGI program can receive from a request header);
then `all_proxy` / `ALL_PROXY` for either. `no_proxy` / `NO_PROXY` lists the hosts, domains
and address ranges that go direct (`*` for all). A proxy URL may hold a user and password:
libcurl sends them to the proxy, and podkit never prints the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_NAMES = {
    "https": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"),
    "http": ("http_proxy", "all_proxy", "ALL_PROXY"),
}


@dataclass(frozen=True)
class Proxies:
    """The proxy for each scheme ("" for none) and the hosts that bypass it."""

    http: str = ""
    https: str = ""
    no_proxy: str = ""

    def for_url(self, url: str) -> str:
        """The proxy for `url` ("" to go direct); libcurl applies `no_proxy` to the host."""
        return self.https if url[:6].lower() == "https:" else self.http


def proxies_from(environ: Mapping[str, str]) -> Proxies:
    """The proxies the environment names, by the rules in the module's docstring."""

    def first(names: tuple[str, ...]) -> str:
        return next((environ[name] for name in names if environ.get(name)), "")

    return Proxies(
        http=first(_NAMES["http"]),
        https=first(_NAMES["https"]),
        no_proxy=first(("no_proxy", "NO_PROXY")),
    )
