"""S3 credentials, region and request signing through botocore.

Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) from the sync's
environment when set; otherwise botocore's own chain (the profile AWS_PROFILE names in the
shared credentials and config files, SSO and process credentials, web identity as EKS sets it,
container credentials as ECS sets them, then the instance metadata service). Nothing found:
requests go unsigned (a public bucket). The region: AWS_REGION, AWS_DEFAULT_REGION, the
profile's region, else us-east-1, corrected by the bucket's own answer (`x-amz-bucket-region`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from podkit.errors import TransferError
from podkit.worker.transfer.credentials import aws_keys, in_words

DEFAULT_REGION = "us-east-1"


class AwsAuth:
    """Signs S3 requests with the credentials the chain finds (looked up once, on first use;
    botocore refreshes temporary ones)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._keys = aws_keys(dict(env))
        self._profile = env.get("AWS_PROFILE") or None
        self._lock = threading.Lock()
        self._session: Any = None
        self._credentials: Any = None
        self._resolved = False
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""

    def __repr__(self) -> str:
        return "AwsAuth(<redacted>)"

    def default_region(self) -> str:
        """The configured region, else the profile's, else us-east-1."""
        if self.region:
            return self.region
        try:
            found = self._botocore_session().get_config_variable("region")
        except Exception:  # a broken profile: the credentials lookup names it
            found = None
        return str(found or DEFAULT_REGION)

    def sign(self, method: str, url: str, region: str) -> dict[str, str]:
        """SigV4 headers for a body-less request; {} when there are no credentials."""
        credentials = self._lookup()
        if credentials is None:
            return {}
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        try:  # temporary credentials (web identity, a container's) are fetched here
            frozen = credentials.get_frozen_credentials()
        except Exception as exc:
            raise self._unloaded(exc) from None
        request = AWSRequest(method=method, url=url)
        S3SigV4Auth(frozen, "s3", region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}

    def _lookup(self) -> Any:
        if self._resolved:
            return self._credentials
        with self._lock:
            if not self._resolved:
                self._credentials = self._find()
                self._resolved = True
        return self._credentials

    def _find(self) -> Any:
        from botocore.credentials import Credentials

        if self._keys is not None:
            keys = self._keys
            return Credentials(keys.access_key, keys.secret_key, keys.session_token or None)
        try:
            return self._botocore_session().get_credentials()
        except Exception as exc:
            raise self._unloaded(exc) from None

    def _unloaded(self, exc: Exception) -> TransferError:
        return TransferError(
            f"AWS credentials could not be loaded ({in_words(exc, self._env)})",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or fix AWS_PROFILE, "
            "AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN or the files they name",
        )

    def _botocore_session(self) -> Any:
        if self._session is None:
            try:
                import botocore.session
            except ImportError as exc:  # pragma: no cover - the worker extra installs it
                raise TransferError(
                    "s3:// sources need botocore", hint="install podkit[worker]"
                ) from exc
            self._session = botocore.session.Session(profile=self._profile)
        return self._session
