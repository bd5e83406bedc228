"""Credentials from the environment: a GCS token, AWS keys, a Hugging Face token.

Values live only in memory and in request headers; `repr` and errors never show them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from podkit.errors import TransferError

GCS_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"


@dataclass(frozen=True)
class AwsKeys:
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str = field(default="", repr=False)


def aws_keys(env: dict[str, str]) -> AwsKeys | None:
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN); None for anonymous."""
    access, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    if bool(access) != bool(secret):
        raise TransferError(
            "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
            hint="set both (or neither, for a public bucket) in the endpoint's environment",
        )
    if not access:
        return None
    return AwsKeys(access, secret, env.get("AWS_SESSION_TOKEN", ""))


def hf_token(env: dict[str, str]) -> str:
    return env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or ""


class GcsToken:
    """A bearer token for GCS: GCS_OAUTH_TOKEN, or a service-account JSON (refreshed)."""

    def __init__(self, env: dict[str, str]) -> None:
        self._static = env.get("GCS_OAUTH_TOKEN", "")
        self._info = _service_account_info(env)
        self._lock = threading.Lock()
        self._token = ""
        self._expires = 0.0

    def __repr__(self) -> str:
        return "GcsToken(<redacted>)"

    @property
    def anonymous(self) -> bool:
        return not self._static and self._info is None

    def header(self) -> dict[str, str]:
        if self._static:
            return {"Authorization": f"Bearer {self._static}"}
        if self._info is None:
            return {}
        with self._lock:
            if time.time() > self._expires - 300:
                self._refresh()
            return {"Authorization": f"Bearer {self._token}"}

    def _refresh(self) -> None:
        try:
            from google.auth.transport.requests import Request
            from google.oauth2 import service_account
        except ImportError as exc:  # pragma: no cover - the worker extra installs it
            raise TransferError(
                "a GCS service account is configured but google-auth is not installed",
                hint="install podkit[worker]",
            ) from exc
        try:
            creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                self._info, scopes=[GCS_SCOPE]
            )
            creds.refresh(Request())
        except Exception as exc:
            raise TransferError(
                f"GCS service account could not get a token ({type(exc).__name__})",
                hint="check the service-account JSON secret and its access to the bucket",
            ) from None
        self._token = str(creds.token)
        self._expires = creds.expiry.timestamp() if creds.expiry else time.time() + 3000


def _service_account_info(env: dict[str, str]) -> dict[str, object] | None:
    """PODKIT_GCS_CREDENTIALS_JSON (the JSON itself) or GOOGLE_APPLICATION_CREDENTIALS (a path)."""
    raw = env.get("PODKIT_GCS_CREDENTIALS_JSON", "")
    where = "PODKIT_GCS_CREDENTIALS_JSON"
    if not raw and env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        where = "GOOGLE_APPLICATION_CREDENTIALS"
        path = Path(env["GOOGLE_APPLICATION_CREDENTIALS"])
        try:
            raw = path.read_text()
        except OSError as exc:
            raise TransferError(
                f"GOOGLE_APPLICATION_CREDENTIALS points at {path}, which cannot be read "
                f"({exc.strerror})",
                hint="mount the service-account JSON there, or set PODKIT_GCS_CREDENTIALS_JSON",
            ) from None
    if not raw:
        return None
    try:
        info = json.loads(raw)
    except json.JSONDecodeError:
        raise TransferError(
            f"{where} is not valid JSON", hint="paste the whole service-account key file"
        ) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise TransferError(
            f"{where} is not a service-account key (type must be service_account)",
            hint="create a key for a service account with storage.objects.get/list",
        )
    return info


def environ() -> dict[str, str]:
    return dict(os.environ)
