"""API keys on the data plane: Bearer or raw, one account per key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.requests import Request

AccountResolver = Callable[[str], str]


def api_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>` or a bare `Authorization: <key>`."""
    header = request.headers.get("authorization", "").strip()
    if header[:7].lower() == "bearer ":
        header = header[7:].strip()
    return header or None


def account_for_key(key: str) -> str:
    """The default account of a key: a stable digest, so the key itself is never stored."""
    return "acct-" + hashlib.sha256(key.encode()).hexdigest()[:16]
