"""Where the data plane lives for a target, and the API key to call it with.

Targets (the team-wide contract): `runpod` (default) -> `https://api.runpod.ai/v2`;
`local` -> `$PODKIT_LOCAL_URL/v2` (default `http://127.0.0.1:8765`); any `http(s)://` origin ->
that origin's `/v2`. `PODKIT_TARGET` sets it when no `--target` is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from podkit.errors import AuthError, ConfigError

RUNPOD_DATAPLANE_URL = "https://api.runpod.ai/v2"
RUNPOD_CONTROL_V2_ORIGIN = "https://api.runpod.io"
DEFAULT_LOCAL_URL = "http://127.0.0.1:8765"


def target_origin(target: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The origin serving all three APIs for `target`, or None for the real RunPod hosts."""
    env = os.environ if env is None else env
    name = (target or env.get("PODKIT_TARGET") or "runpod").strip()
    if name == "runpod":
        return None
    if name == "local":
        return (env.get("PODKIT_LOCAL_URL") or DEFAULT_LOCAL_URL).rstrip("/")
    if name.startswith(("http://", "https://")):
        return name.rstrip("/")
    raise ConfigError(
        f"unknown target {name!r} (from --target or PODKIT_TARGET)",
        hint="use `runpod`, `local` or an http(s):// origin such as http://127.0.0.1:8765",
    )


def dataplane_url(target: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The data plane's base URL (`.../v2`) for `target`."""
    origin = target_origin(target, env)
    return RUNPOD_DATAPLANE_URL if origin is None else f"{origin}/v2"


def control_origin(target: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The v2 control plane's origin (paths carry `/v2/...`) for `target`."""
    origin = target_origin(target, env)
    return RUNPOD_CONTROL_V2_ORIGIN if origin is None else origin


def api_key(env: Mapping[str, str] | None = None) -> str:
    """The API key from `RUNPOD_API_KEY`; its value is never shown anywhere."""
    env = os.environ if env is None else env
    key = (env.get("RUNPOD_API_KEY") or "").strip()
    if not key:
        raise AuthError(
            "RUNPOD_API_KEY is not set",
            hint="export RUNPOD_API_KEY=... (any non-empty key works against the local RunPod)",
        )
    return key
