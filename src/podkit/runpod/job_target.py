"""Where the data plane lives for a target, and the API key to call it with.

Targets follow `podkit.runpod.target`: `runpod` (default) -> the real hosts (data plane
`https://api.runpod.ai/v2`); `local` -> `$PODKIT_LOCAL_URL` (default `http://127.0.0.1:8765`);
any `http(s)://` origin -> that origin for all three APIs. `PODKIT_TARGET` sets it when no
`--target` is given. The key comes from `RUNPOD_API_KEY` or the credentials profile.
"""

from __future__ import annotations

from collections.abc import Mapping

from podkit.runpod.credentials import load_api_key
from podkit.runpod.target import resolve_target


def dataplane_url(target: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The data plane's base URL (`.../v2`) for `target`."""
    return f"{resolve_target(target, env).data_plane}/v2"


def api_key(env: Mapping[str, str] | None = None) -> str:
    """The raw API key, for an Authorization header only; never shown anywhere."""
    return load_api_key(env).reveal()
