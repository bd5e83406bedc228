"""Where the API calls go: the real RunPod hosts, the local RunPod, or any origin.

`--target local` (or `PODKIT_TARGET=local`) uses `PODKIT_LOCAL_URL` (default
`http://127.0.0.1:8765`); `PODKIT_TARGET=<url>` sends all three APIs to that origin; the
default `runpod` uses the real hosts. Paths always carry their generation prefix
(`/v2/...`, `/v1/...`), so one origin can serve everything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from podkit.errors import ConfigError
from podkit.redact import REDACTOR, public_url

DEFAULT_LOCAL_URL = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class Target:
    """The origins of the three RunPod APIs (no trailing slash, no path)."""

    name: str
    control_v2: str
    control_v1: str
    data_plane: str

    @property
    def is_local(self) -> bool:
        return self.name != "runpod"


RUNPOD = Target(
    name="runpod",
    control_v2="https://api.runpod.io",
    control_v1="https://rest.runpod.io",
    data_plane="https://api.runpod.ai",
)


def _origin(url: str) -> str:
    url = url.strip()
    REDACTOR.register_url(url)  # a password or token in it is never shown from here on
    shown = _shown(url)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"target {shown!r} is not an http(s) URL",
            hint="use --target local, --target runpod or --target http://HOST:PORT",
        )
    try:
        parts = urlsplit(url)
        if parts.port == 0:  # urlsplit takes it; nothing can listen there
            raise ValueError("port 0 is no port to connect to")
    except ValueError as exc:  # also a port that is not a number in range
        raise ConfigError(
            f"target {shown!r} is not a valid URL ({exc})", hint="use --target http://HOST:PORT"
        ) from None
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError(
            f"target {shown!r} carries a query string or fragment; API paths are appended to "
            "the target, so it must end at the host or a path",
            hint="drop everything from '?' or '#'; the API key goes in RUNPOD_API_KEY",
        )
    if not parts.hostname:
        raise ConfigError(
            f"target {shown!r} names no host",
            hint="use --target http://HOST:PORT",
        )
    return url.rstrip("/")


def _shown(url: str) -> str:
    """The URL as an error may show it: no query or fragment (either may carry a token, and
    neither belongs in a target) and no userinfo."""
    base = url.partition("#")[0].partition("?")[0]
    return public_url(base) if "@" not in base else "(with credentials)"


def resolve_target(value: str | None = None, environ: Mapping[str, str] | None = None) -> Target:
    """Resolve `--target` (or `PODKIT_TARGET`) into the three origins."""
    env = os.environ if environ is None else environ
    choice = (value or env.get("PODKIT_TARGET") or "runpod").strip()
    if choice == "runpod":
        return RUNPOD
    if choice == "local":
        origin = _origin(env.get("PODKIT_LOCAL_URL") or DEFAULT_LOCAL_URL)
        return Target("local", origin, origin, origin)
    origin = _origin(choice)
    return Target(origin, origin, origin, origin)
