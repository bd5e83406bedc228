"""The API key: from `RUNPOD_API_KEY`, else a profile file; never printed.

Profile file: `~/.config/podkit/credentials.toml` (or `$PODKIT_CREDENTIALS`), with one table
per profile; `PODKIT_PROFILE` (default `default`) picks one::

    [default]
    api_key = "..."
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from podkit.errors import AuthError, ConfigError
from podkit.redact import register, scrub

REDACTED = "***"


class ApiKey:
    """A secret string whose repr and str never show the value."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source

    def reveal(self) -> str:
        """The raw key, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return f"ApiKey({REDACTED}, source={self.source!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def credentials_path(environ: Mapping[str, str], home: Path) -> Path:
    explicit = environ.get("PODKIT_CREDENTIALS")
    if explicit:
        return Path(explicit)
    base = environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else home / ".config") / "podkit" / "credentials.toml"


def _from_file(path: Path, profile: str) -> str | None:
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:  # never quote the bytes: they hold keys
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(
            f"{path}: cannot read the credentials file ({why})",
            hint='fix the file (TOML, [default] api_key = "...") or set RUNPOD_API_KEY',
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML ({exc})", hint="fix the file or set RUNPOD_API_KEY"
        ) from None
    except RecursionError:
        raise ConfigError(
            f"{path}: not valid TOML (lists or tables nested too deeply to read)",
            hint='fix the file (TOML, [default] api_key = "...") or set RUNPOD_API_KEY',
        ) from None
    table = data.get(profile)
    if not isinstance(table, dict):
        return None
    value = table.get("api_key")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{path}: profile [{profile}] has no api_key string",
            hint=f'add api_key = "..." under [{profile}]',
        )
    return value.strip()


def load_api_key(environ: Mapping[str, str] | None = None, home: Path | None = None) -> ApiKey:
    """Find the API key, or raise AuthError saying where podkit looked."""
    env = os.environ if environ is None else environ
    value = env.get("RUNPOD_API_KEY", "").strip()
    if value:
        return _checked(ApiKey(value, "RUNPOD_API_KEY"))
    profile = env.get("PODKIT_PROFILE", "default")
    path = credentials_path(env, home or Path.home())
    from_file = _from_file(path, profile)
    if from_file:
        return _checked(ApiKey(from_file, f"{path} [{profile}]"))
    raise AuthError(
        f"no RunPod API key: RUNPOD_API_KEY is not set and {path} has no [{profile}] api_key",
        hint="export RUNPOD_API_KEY=... (any non-empty key works against --target local)",
    )


def _checked(key: ApiKey) -> ApiKey:
    """Register the key (no output or file podkit writes shows it from here on), and refuse
    one an Authorization header cannot carry: the HTTP library's error would quote it."""
    value = key.reveal()
    register(value)
    if not all("!" <= char <= "~" for char in value):
        raise AuthError(
            f"the API key in {key.source} holds a space, a line break or a non-ASCII "
            "character, which no RunPod key has",
            hint="copy the key again from the RunPod console (Settings > API Keys)",
        )
    return key


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace the given secret values, then everything `podkit.redact` knows of."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return scrub(text)
