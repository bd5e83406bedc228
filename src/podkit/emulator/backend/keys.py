"""API keys and their permissions, modelled on RunPod's console keys.

The console offers three kinds of key: **All** (read/write everywhere), **Read Only**, and
**Restricted** (each API set separately; serverless endpoints one by one, default none). A key
is given as `KEY[:SCOPE]` (`podkit emulator start --api-key`, a keys file, `LocalRunPod`):

    all                                  read/write everywhere (the default)
    read                                 read-only everywhere: every write is a 403
    none                                 nothing: every request is a 403
    api=LEVEL,endpoints=LEVEL,endpoint/ID_OR_NAME=LEVEL,...
                                         restricted: `api` is the control planes (v2 and v1),
                                         `endpoints` every endpoint's data plane, `endpoint/X`
                                         one endpoint's (by id or name); unnamed parts: none

LEVEL is `write` (read/write), `read` or `none`. Without configured keys, any key is its own
account (the emulator's open mode). With keys, only those keys are accepted (401 otherwise) and
they all share one account, named after the first key, as one user's keys do on the platform.
Keys are never stored: only a hash of each is kept, in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from podkit.emulator.runtime import account_id

Level = Literal["write", "read", "none"]
LEVELS: tuple[Level, ...] = ("write", "read", "none")
SCOPE_HELP = (
    "SCOPE is all, read, none, or api=LEVEL,endpoints=LEVEL,endpoint/ID_OR_NAME=LEVEL "
    "(LEVEL: write, read or none)"
)


@dataclass(frozen=True)
class KeyScope:
    """What one key may do: on the control planes, and on each endpoint's data plane."""

    api: Level = "write"
    endpoints: Level = "write"
    per_endpoint: Mapping[str, Level] = field(default_factory=lambda: MappingProxyType({}))
    text: str = "all"

    def endpoint(self, endpoint_id: str, name: str | None = None) -> Level:
        """This key's level on one endpoint's data plane (by id first, then by name)."""
        for ident in (endpoint_id, name):
            if ident is not None and ident in self.per_endpoint:
                return self.per_endpoint[ident]
        return self.endpoints


ALL = KeyScope()
PRESETS = {
    "all": ALL,
    "read": KeyScope("read", "read", text="read"),
    "none": KeyScope("none", "none", text="none"),
}


def parse_scope(text: str) -> KeyScope:
    """A SCOPE string -> KeyScope; ValueError names the bad part."""
    text = text.strip()
    if text in PRESETS:
        return PRESETS[text]
    api: Level = "none"
    endpoints: Level = "none"
    per: dict[str, Level] = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, raw = part.partition("=")
        level = _level(raw.strip(), part) if sep else None
        if level is None:
            raise ValueError(f"scope part {part!r} is not NAME=LEVEL; {SCOPE_HELP}")
        if name == "api":
            api = level
        elif name == "endpoints":
            endpoints = level
        elif name.startswith("endpoint/") and name[9:]:
            per[name[9:]] = level
        else:
            raise ValueError(f"scope part {part!r}: unknown name {name!r}; {SCOPE_HELP}")
    return KeyScope(api, endpoints, MappingProxyType(per), text)


def _level(raw: str, part: str) -> Level:
    for level in LEVELS:
        if raw == level:
            return level
    raise ValueError(f"scope part {part!r}: level must be write, read or none")


def parse_key_spec(spec: str) -> tuple[str, KeyScope]:
    """`KEY[:SCOPE]` -> (key, scope). The key never appears in an error message."""
    key, _, scope = spec.strip().partition(":")
    key = key.strip()
    if not key:
        raise ValueError(f"an API key spec has an empty key; use KEY[:SCOPE] ({SCOPE_HELP})")
    return key, parse_scope(scope) if scope.strip() else ALL


def read_keys_file(path: Path) -> list[str]:
    """The `KEY[:SCOPE]` lines of a keys file (blank lines and `#` comments skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read the keys file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:  # never quote the bytes: they may be a key
        raise ValueError(f"the keys file {path} is not UTF-8 text (byte {exc.start})") from exc
    specs = [line.strip() for line in lines]
    return [s for s in specs if s and not s.startswith("#")]


class KeyRing:
    """The configured keys (by hash) and the scopes test controls set on top."""

    def __init__(self, specs: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._configured: dict[str, KeyScope] = {}
        self._account: str | None = None
        self._overrides: dict[str, KeyScope] = {}
        self.configure(specs)

    def configure(self, specs: Iterable[str]) -> None:
        """Accept only these `KEY[:SCOPE]` keys from now on ([]: open mode again)."""
        parsed = [parse_key_spec(s) for s in specs]
        with self._lock:
            self._configured = {account_id(k): scope for k, scope in parsed}
            self._account = account_id(parsed[0][0]) if parsed else None

    @property
    def configured(self) -> bool:
        return self._account is not None

    def scope(self, key: str) -> KeyScope | None:
        """The key's scope; None when keys are configured and this is not one of them."""
        digest = account_id(key)
        with self._lock:
            if self._account is not None and digest not in self._configured:
                return None
            return self._overrides.get(digest) or self._configured.get(digest, ALL)

    def account_of(self, key: str) -> str:
        """The account a key acts for: the shared one when keys are configured."""
        return self._account or account_id(key)

    def override(self, key: str, scope: str | None) -> None:
        """Change a key's scope until `reset` (None: back to its configured scope)."""
        parsed = None if scope is None else parse_scope(scope)
        digest = account_id(key)
        with self._lock:
            if self._account is not None and digest not in self._configured:
                raise ValueError("that key is not one of the configured API keys")
            if parsed is None:
                self._overrides.pop(digest, None)
            else:
                self._overrides[digest] = parsed

    def reset(self) -> None:
        """Drop the overrides; the configured keys stay (they are the server's settings)."""
        with self._lock:
            self._overrides.clear()
