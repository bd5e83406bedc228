"""The proxy variables the control-plane client reads (`HTTPS_PROXY`, `HTTP_PROXY`,
`ALL_PROXY`, lower case too), checked in words: httpx rejects an unknown scheme, a URL it
cannot parse or a SOCKS proxy without its extra with a traceback from deep inside."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.util import find_spec

import httpx

from podkit.config.problems import clip_key
from podkit.errors import ConfigError
from podkit.redact import scrub

PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)
SCHEMES = ("http", "https", "socks5", "socks5h")


def proxy_problem(environ: Mapping[str, str] | None = None) -> ConfigError | None:
    """The first proxy variable httpx cannot use, as an error naming it; None if all are fine."""
    env = os.environ if environ is None else environ
    for name in PROXY_VARIABLES:
        value = env.get(name, "").strip()
        if not value:
            continue
        shown = clip_key(scrub(value))
        try:
            url = httpx.URL(value if "://" in value else f"http://{value}")
        except httpx.InvalidURL as exc:
            return _refused(name, f"{shown!r} is not a URL ({exc})")
        if url.scheme not in SCHEMES:
            return _refused(
                name, f"{shown!r} has the scheme {url.scheme!r}; use {', '.join(SCHEMES)}"
            )
        if url.scheme.startswith("socks") and find_spec("socksio") is None:
            return _refused(
                name, f"{shown!r} is a SOCKS proxy, which needs httpx's socks extra (socksio)"
            )
    return None


def _refused(name: str, why: str) -> ConfigError:
    return ConfigError(
        f"the proxy in {name} cannot be used: {why}",
        hint=f"fix {name} (http://HOST:PORT) or unset it",
    )
