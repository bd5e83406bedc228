"""The store a source talks to, when the environment points it elsewhere: `HF_ENDPOINT` (a
mirror), `STORAGE_EMULATOR_HOST` (a GCS emulator), `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`
(an S3-compatible store). A value that is not an http(s) URL with a host fails at once, naming
the variable, rather than as a request to nowhere that blames the bucket or the repo.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from podkit.errors import TransferError


def endpoint_from(
    env: Mapping[str, str], names: tuple[str, ...], *, bare_host: bool = False
) -> str:
    """The first of `names` that is set, without a trailing slash ("" when none is);
    `bare_host`: `host:port` alone means `http://host:port` (as the GCS libraries read it)."""
    name, value = next(((n, env[n].strip()) for n in names if env.get(n, "").strip()), ("", ""))
    if not value:
        return ""
    url = value if "://" in value or not bare_host else f"http://{value}"
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        valid = False
    if not valid or parts.query or parts.fragment:
        raise TransferError(
            f"{name}={_shown(value)} is not an http(s) URL of a host",
            hint=f"set {name} to https://host[:port] (or unset it to use the default store)",
        )
    if parts.username is not None or parts.password is not None:
        raise TransferError(
            f"{name}={_shown(value)} holds a user and password, which every message "
            "naming a file's URL would carry",
            hint=f"set {name} to https://host[:port] and the store's credentials in their own "
            "variables (HF_TOKEN, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a GCS credentials "
            "JSON)",
        )
    return url.rstrip("/")


def _shown(value: str) -> str:
    """The value for a message: all before its last @ masked (a user and password, whatever
    they hold: a slash, a space, another @), and any query or fragment cut."""
    shown = value.split("?", 1)[0].split("#", 1)[0]
    if "@" in shown:
        scheme, sep, _ = shown.partition("://")
        host = shown.rsplit("@", 1)[1]
        shown = f"{scheme}://***@{host}" if sep and "@" not in scheme else f"***@{host}"
    return shown + ("?***" if "?" in value or "#" in value else "")
