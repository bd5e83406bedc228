"""The `[[models]]` entry of podkit.toml: what must be on the network volume.

Each entry names one source and where its files land under the volume::

    [[models]]
    source = "gs://my-bucket/talking-head/"      # or s3://, https://, hf://org/repo@rev
    destination = "models/talking-head"          # relative to /runpod-volume
    include = ["*.safetensors", "*.json"]        # optional globs on the path below the prefix
    exclude = ["*.md"]
    sha256 = "..."                               # optional, only for a single-file source

The same list is the input of the worker's `sync_models` action and of `podkit models sync`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from podkit.errors import ConfigError

VOLUME_ROOT = "/runpod-volume"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_HF_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_HF_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SourceKind(StrEnum):
    """Where a model comes from."""

    GCS = "gs"
    S3 = "s3"
    HTTPS = "https"
    HF = "hf"


class ParsedSource(BaseModel):
    """A source URL split into its parts."""

    model_config = ConfigDict(frozen=True)

    kind: SourceKind
    bucket: str = ""
    prefix: str = ""
    url: str = ""
    repo: str = ""
    revision: str = "main"


def parse_source(value: str) -> ParsedSource:
    """Split `gs://b/p`, `s3://b/p`, `https://...` or `hf://org/repo@rev`; ValueError if invalid."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ValueError(
            f"{value!r} has no scheme; use gs://bucket/prefix, s3://bucket/prefix, "
            "https://host/path or hf://org/repo@revision"
        )
    if scheme in ("gs", "s3"):
        return _parse_bucket(SourceKind(scheme), value, rest)
    if scheme == "https" or scheme == "http":
        return _parse_https(value)
    if scheme == "hf":
        return _parse_hf(value, rest)
    raise ValueError(
        f"unsupported scheme {scheme!r} in {value!r}; use gs://, s3://, https:// (http:// on "
        "loopback only) or hf://"
    )


def _parse_bucket(kind: SourceKind, value: str, rest: str) -> ParsedSource:
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise ValueError(
            f"{value!r}: {bucket!r} is not a valid bucket name; bucket names are lowercase "
            "letters, digits, '.', '_' and '-', 3 to 222 characters"
        )
    _check_relative(prefix.rstrip("/"), what="prefix", allow_empty=True)
    return ParsedSource(kind=kind, bucket=bucket, prefix=prefix)


def _parse_https(value: str) -> ParsedSource:
    try:
        parts = urlsplit(value)
        port = parts.port  # a port that is not a number in 0..65535 raises here
    except ValueError:
        raise ValueError(
            f"{value!r} is not a valid URL (its host or port cannot be read); write "
            "https://host/path/to/file or https://host:PORT/path with a port of 1 to 65535"
        ) from None
    if port == 0:
        raise ValueError(f"{value!r}: port 0 is no port to connect to; use 1 to 65535")
    if parts.username or parts.password or parts.query:
        raise ValueError(
            "credentials or a query in an https source are not allowed; "
            "put tokens in the environment (see docs/models.md)"
        )
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host; write https://host/path/to/file")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"{value!r}: plain http is only allowed on loopback; use https://")
    if not parts.path or parts.path.endswith("/"):
        raise ValueError(
            f"{value!r} does not name a file (an https source is a single file); name the "
            "file, or use gs:// or s3:// for a folder"
        )
    return ParsedSource(kind=SourceKind.HTTPS, url=value)


def _parse_hf(value: str, rest: str) -> ParsedSource:
    repo, _, revision = rest.partition("@")
    if not _HF_REPO.match(repo):
        raise ValueError(f"{value!r}: {repo!r} is not org/name; write hf://org/name@revision")
    revision = revision or "main"
    if not _HF_REVISION.match(revision) or ".." in revision:
        raise ValueError(
            f"{value!r}: {revision!r} is not a valid revision; use a branch, tag or commit"
        )
    return ParsedSource(kind=SourceKind.HF, repo=repo, revision=revision)


def _check_relative(path: str, *, what: str, allow_empty: bool = False) -> str:
    if not path:
        if allow_empty:
            return path
        raise ValueError(f"{what} is empty; give a path")
    if "\\" in path:
        raise ValueError(f"{what} {path!r} holds a backslash; separate folders with /")
    if "\x00" in path:
        raise ValueError(f"{what} {path!r} holds a NUL character; remove it")
    if path.startswith("/"):
        raise ValueError(f"{what} {path!r} is not a relative path; drop the leading /")
    if any(part in ("..", ".") for part in path.split("/")):
        raise ValueError(
            f"{what} {path!r} contains '.' or '..' segments; write the path without them"
        )
    return path


def redact_url(value: str) -> str:
    """`https://user:pw@host/p?sig=x` -> `https://***@host/p?***` (other strings unchanged)."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        return value
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    path, qmark, _ = path.partition("?")
    return f"{scheme}://{authority}{slash}{path}{'?***' if qmark else ''}"


def volume_relative(destination: str) -> str:
    """Normalise a destination to a path relative to the volume root; ValueError if outside."""
    dest = destination.strip()
    if dest == VOLUME_ROOT or dest == VOLUME_ROOT + "/":
        return ""
    if dest.startswith(VOLUME_ROOT + "/"):
        dest = dest[len(VOLUME_ROOT) + 1 :]
    elif dest.startswith("/"):
        raise ValueError(f"{destination!r} is outside {VOLUME_ROOT}; use a path under it")
    dest = dest.rstrip("/")
    _check_relative(dest, what="destination", allow_empty=True)
    return str(PurePosixPath(dest)) if dest else ""


Glob = Annotated[str, Field(min_length=1, max_length=512)]


class ModelSource(BaseModel):
    """One `[[models]]` entry: a source, a destination under the volume, optional filters."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    source: str = Field(min_length=1, max_length=2048)
    destination: str = Field(min_length=1, max_length=1024)
    include: list[Glob] = Field(default_factory=list)
    exclude: list[Glob] = Field(default_factory=list)
    sha256: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="before")
    @classmethod
    def _redact_secrets(cls, data: Any) -> Any:
        """Mask userinfo and query of a URL source before validation, so no error message
        (which may echo the value) can carry a password or a signed token."""
        if isinstance(data, dict) and isinstance(data.get("source"), str):
            masked = redact_url(data["source"])
            if masked != data["source"]:
                return {**data, "source": masked}
        return data

    @field_validator("source")
    @classmethod
    def _valid_source(cls, value: str) -> str:
        parse_source(value)
        return value

    @field_validator("destination")
    @classmethod
    def _valid_destination(cls, value: str) -> str:
        volume_relative(value)
        return value

    @field_validator("sha256")
    @classmethod
    def _valid_sha256(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            raise ValueError(
                "is not a sha256 digest (64 lowercase hex digits); copy it from `sha256sum FILE`"
            )
        return value

    @model_validator(mode="after")
    def _sha256_needs_single_file(self) -> ModelSource:
        if self.sha256 is not None and self.parsed.kind is not SourceKind.HTTPS:
            raise ValueError(
                "sha256 is only for a single-file https source (gs, s3 and hf files are "
                "verified with the checksums the store records); remove sha256"
            )
        return self

    @property
    def parsed(self) -> ParsedSource:
        """The source split into kind, bucket, prefix, repo, revision."""
        return parse_source(self.source)

    @property
    def relative_destination(self) -> str:
        """The destination relative to the volume root ('' for the root itself)."""
        return volume_relative(self.destination)

    @property
    def label(self) -> str:
        """A short name for progress and reports."""
        return self.name or self.source


def load_models(entries: Any, *, where: str = "podkit.toml") -> list[ModelSource]:
    """Validate a list of `[[models]]` tables; ConfigError names the entry and field."""
    if not isinstance(entries, list):
        raise ConfigError(
            f"{where}: 'models' must be an array of tables ([[models]])",
            hint="write each model as a [[models]] table with source and destination",
        )
    result: list[ModelSource] = []
    for index, entry in enumerate(entries):
        try:
            result.append(ModelSource.model_validate(entry))
        except ValidationError as exc:
            raise ConfigError(
                f"{where}: models[{index}]: {describe_errors(exc)}",
                hint="see docs/models.md for the [[models]] fields",
            ) from None
    return result


def describe_errors(exc: ValidationError) -> str:
    """One line per pydantic error: `field: message`, without echoing input values."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "entry"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{field}: {message}")
    return "; ".join(lines)
