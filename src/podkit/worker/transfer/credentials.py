"""Credentials from the environment: a GCS token, AWS keys, a Hugging Face token.

Values are read with the whitespace around them cut (a token pasted with its newline would be a
header podkit cannot send, a key with one a signature that never matches). They live only in
memory and in request headers; `repr` never shows them, and an error quotes google-auth's words
only with every secret of the environment, of the credentials JSON and of any token shape
masked.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podkit.errors import TransferError
from podkit.redact import Redactor, google_credential_secrets

GCS_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"


@dataclass(frozen=True)
class AwsKeys:
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str = field(default="", repr=False)


def aws_keys(env: dict[str, str]) -> AwsKeys | None:
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN); None for anonymous."""
    access, secret = env_value(env, "AWS_ACCESS_KEY_ID"), env_value(env, "AWS_SECRET_ACCESS_KEY")
    if bool(access) != bool(secret):
        raise TransferError(
            "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
            hint="set both (or neither, for a public bucket) in the endpoint's environment",
        )
    if not access:
        return None
    return AwsKeys(access, secret, env_value(env, "AWS_SESSION_TOKEN"))


def env_value(env: Mapping[str, str], name: str) -> str:
    """A credential from the environment without the whitespace around it ("" when unset)."""
    return env.get(name, "").strip()


def in_words(exc: Exception, env: Mapping[str, str], secrets: Iterable[str] = ()) -> str:
    """A credential library's words for a failure, on one line and at most 300 characters,
    with the secrets of the environment, `secrets` and any token shape masked."""
    redactor = Redactor(env)
    for value in secrets:
        redactor.register(value)
    words = redactor.scrub(" ".join(str(exc).split()))
    return f"{type(exc).__name__}: {words[:300]}" if words else type(exc).__name__


def hf_token(env: dict[str, str]) -> str:
    return env_value(env, "HF_TOKEN") or env_value(env, "HUGGING_FACE_HUB_TOKEN")


# The JSON credential types google-auth loads (`google.auth.load_credentials_from_dict`).
GCS_CREDENTIAL_TYPES = frozenset(
    {
        "service_account",
        "authorized_user",
        "external_account",
        "external_account_authorized_user",
        "impersonated_service_account",
    }
)


class GcsToken:
    """A bearer token for GCS, from the first of: GCS_OAUTH_TOKEN; a credentials JSON in
    PODKIT_GCS_CREDENTIALS_JSON or at GOOGLE_APPLICATION_CREDENTIALS (its path, or the JSON
    itself; a service account, an authorized user, an external account / workload identity
    federation, an impersonated service account); google-auth's default chain (gcloud's
    application-default login, the metadata server on Google Cloud). None of them: anonymous
    (a public bucket). Against an emulator (STORAGE_EMULATOR_HOST) the default chain is asked
    only if GCE_METADATA_HOST names a metadata server."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._static = env_value(env, "GCS_OAUTH_TOKEN")
        self._info, self._source = _credentials_info(env)
        emulated = bool(env.get("STORAGE_EMULATOR_HOST")) and not env.get("GCE_METADATA_HOST")
        self._chain = not self._static and self._info is None and not emulated
        self._lock = threading.Lock()
        self._creds: Any = None
        self._token = ""
        self._expires = 0.0

    def __repr__(self) -> str:
        return "GcsToken(<redacted>)"

    @property
    def anonymous(self) -> bool:
        return not self._static and self._info is None and not self._chain

    def header(self) -> dict[str, str]:
        if self._static:
            return {"Authorization": f"Bearer {self._static}"}
        if self.anonymous:
            return {}
        with self._lock:
            if time.time() > self._expires - 300:
                self._refresh()
            return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _refresh(self) -> None:
        google_auth, request = _google_auth()
        if self._creds is None:
            self._creds = self._load(google_auth)
            if self._creds is None:
                self._chain, self._expires = False, float("inf")  # nothing found: anonymous
                return
        try:
            self._creds.refresh(request)
        except Exception as exc:
            raise TransferError(
                f"GCS credentials from {self._source} could not get a token "
                f"({self._in_words(exc)})",
                hint="check the credentials JSON (or the workload's identity) and its access "
                "to the bucket",
            ) from None
        self._token = str(self._creds.token)
        expiry = getattr(self._creds, "expiry", None)
        self._expires = expiry_seconds(expiry) if expiry else time.time() + 3000

    def _in_words(self, exc: Exception) -> str:
        return in_words(exc, self._env, google_credential_secrets(self._info or {}))

    def _load(self, google_auth: Any) -> Any:
        if self._info is not None:
            try:
                return _from_info(google_auth, self._info)
            except Exception as exc:
                raise TransferError(
                    f"the GCS credentials JSON could not be loaded ({self._in_words(exc)})",
                    hint="check that the JSON is complete (a key file, or a credential "
                    "configuration from gcloud iam workload-identity-pools)",
                ) from None
        try:
            creds, _ = google_auth.default(scopes=[GCS_SCOPE])
        except google_auth.exceptions.DefaultCredentialsError:
            return None
        return creds


def expiry_seconds(expiry: datetime) -> float:
    """A token's expiry as seconds since the epoch. google-auth's is a naive datetime in UTC:
    read as local time, it would be off by the machine's UTC offset (a token refreshed for
    every request east of Greenwich, trusted hours after it expired west of it)."""
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=UTC)
    return expiry.timestamp()


def _from_info(google_auth: Any, info: dict[str, object]) -> Any:
    """Credentials of each JSON type, loaded by the class google-auth has for it (its generic
    loader would also look the project up, a request to another API the sync does not need)."""
    kind, scopes = info["type"], [GCS_SCOPE]
    if kind == "service_account":
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_info(info, scopes=scopes)  # type: ignore[no-untyped-call]
    if kind == "authorized_user":
        from google.oauth2 import credentials

        return credentials.Credentials.from_authorized_user_info(info, scopes=scopes)  # type: ignore[no-untyped-call]
    if kind == "external_account":
        source = info.get("credential_source")
        source = source if isinstance(source, dict) else {}
        from google.auth import aws, identity_pool, pluggable

        module: Any = identity_pool
        if str(source.get("environment_id", "")).startswith("aws"):
            module = aws
        elif "executable" in source:
            module = pluggable
        return module.Credentials.from_info(info, scopes=scopes)
    if kind == "external_account_authorized_user":
        from google.auth import external_account_authorized_user

        return external_account_authorized_user.Credentials.from_info(info)  # type: ignore[no-untyped-call]
    creds, _ = google_auth.load_credentials_from_dict(info, scopes=scopes)
    return creds


def _google_auth() -> tuple[Any, Any]:
    try:
        import google.auth
        import google.auth.exceptions
        from google.auth.transport.requests import Request
    except ImportError as exc:  # pragma: no cover - the worker extra installs it
        raise TransferError(
            "GCS credentials are configured but google-auth is not installed",
            hint="install podkit[worker]",
        ) from exc
    return google.auth, Request()


def _read_named_file(named: str) -> str:
    """The credentials file GOOGLE_APPLICATION_CREDENTIALS names; its path is shown in errors
    only when it reads as a path (one line, no NUL, within the system's limits)."""
    try:
        return Path(named).read_text()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the value
        shown = named if named.isprintable() and len(named) <= 255 else "a value that is no path"
        reason = getattr(exc, "strerror", None) or "not a file name"
        raise TransferError(
            f"GOOGLE_APPLICATION_CREDENTIALS points at {shown}, which cannot be read ({reason})",
            hint="mount the credentials JSON there, or set PODKIT_GCS_CREDENTIALS_JSON",
        ) from None


def _credentials_info(env: dict[str, str]) -> tuple[dict[str, object] | None, str]:
    """The credentials JSON of PODKIT_GCS_CREDENTIALS_JSON (the JSON itself) or
    GOOGLE_APPLICATION_CREDENTIALS (a path, or the JSON itself), and where it came from."""
    raw = env.get("PODKIT_GCS_CREDENTIALS_JSON", "")
    where = "PODKIT_GCS_CREDENTIALS_JSON"
    named = env.get("GOOGLE_APPLICATION_CREDENTIALS", "")
    if not raw and named.lstrip().startswith("{"):  # the file's text given instead of its path
        raw, where = named, "GOOGLE_APPLICATION_CREDENTIALS (given as JSON text)"
    elif not raw and named:
        where = "GOOGLE_APPLICATION_CREDENTIALS"
        raw = _read_named_file(named)
    if not raw:
        return None, "google-auth's default credentials"
    try:
        info = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise TransferError(
            f"{where} is not valid JSON", hint="paste the whole credentials file"
        ) from None
    if not isinstance(info, dict) or info.get("type") not in GCS_CREDENTIAL_TYPES:
        raise TransferError(
            f"{where} is not a credentials JSON google-auth knows (its type must be one of "
            f"{', '.join(sorted(GCS_CREDENTIAL_TYPES))})",
            hint="use a service-account key, `gcloud auth application-default login`'s file, "
            "or a workload identity federation configuration",
        )
    return info, where


def environ() -> dict[str, str]:
    return dict(os.environ)
