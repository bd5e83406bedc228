"""Redaction: the one filter everything podkit prints or writes passes through.

Two kinds of knowledge, applied together by `scrub`:

- *known values*: secrets podkit holds (the API key, inline secrets of podkit.toml, values
  given with `--set` under a secret-looking key) are `register`ed when read; the environment
  is read on every call: `RUNPOD_API_KEY`, any variable whose name looks secret (TOKEN,
  SECRET, PASSWORD, KEY, CREDENTIAL, AUTH...) or whose value looks like a token, the
  credentials of any URL in a variable (`PODKIT_TARGET`, `HTTPS_PROXY`...), and the private
  fields of the JSON file `GOOGLE_APPLICATION_CREDENTIALS` names (or holds, given inline);
- *shapes*: `Bearer` / `Basic` header values, URL userinfo (`user:pass@`),
  credential-like query parameters (`token`, `key`, `sig`, `X-Amz-Signature`...), secret-looking
  `NAME=value` assignments, and the known token shapes of `podkit.secret_shapes` (hf_, ghp_,
  AKIA, rpa_, sk-, PEM blocks...).

The sinks: `podkit.cli.console` (every console line and JSON document), `RedactingStream`
(stdout and stderr while the CLI runs), `RawOut` (the bytes `podkit request` passes on),
`write_file` / `append_file` (Markdown, summaries) and `scrub_data` (history records).
Nothing else in the CLI writes to a terminal or a file (tests/unit/test_redact.py fails on a
new call site that does). The worker (`python -m podkit.worker`) puts its stdout and stderr
behind `redacting` too, and passes every job result, error and progress update through
`scrub_data`; the emulator runs as its own process with its own log.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any, TextIO, cast

from podkit.errors import ConfigError
from podkit.secret_shapes import (
    ANY_TOKEN,
    CREDENTIAL_PARAMS,
    is_secret_key_name,
    looks_like_secret_value,
)

REDACTED = "***"
# Registered values shorter than this are left alone: replacing "true" or "1" everywhere
# would garble output (and JSON) without protecting anything.
MIN_SECRET_LEN = 4
# Environment values are only taken from 6 characters on, for the same reason.
MIN_ENV_SECRET_LEN = 6

_QUERY = re.compile(rf"([?&;](?:{CREDENTIAL_PARAMS})=)([^&;#\s\"'<>]+)", re.IGNORECASE)
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.\-]*://)([^/?#@\s\"'<>]+)@", re.IGNORECASE)
_HEADER = re.compile(
    r"\b(Bearer|bearer)(\s+|%20)([A-Za-z0-9._~+/=\-:%]{4,})"
    r"|\b(Basic)(\s+|%20)((?=[A-Za-z0-9+/]*[A-Z0-9])[A-Za-z0-9+/]{8,}={0,2})"
)
_ASSIGNMENT = re.compile(r"\b([A-Z][A-Z0-9_]*)=([^\s\"'&;,]+)")
# `KEY=VALUE`, `TOKEN=...`, `HF_TOKEN=$HF_TOKEN`, `X={{ RUNPOD_SECRET_x }}`: no value.
_PLACEHOLDER = re.compile(r"[A-Z][A-Z_]*|\.\.\.|<[^>]*>|\*\*\*|\$.*|\{\{.*")
_GOOGLE_PRIVATE = ("private_key", "private_key_id", "client_secret", "refresh_token")
_NOT_SECRETS = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off"})


class Redactor:
    """Known secret values plus the shapes above; thread-safe, process-wide via `REDACTOR`."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._values: set[str] = set()
        self._env_seen: tuple[tuple[str, str], ...] | None = None
        self._env_values: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def register(self, value: str | None) -> None:
        """Treat `value` (and its URL-encoded form) as a secret from now on."""
        for item in _forms(value):
            if len(item) >= MIN_SECRET_LEN and item.lower() not in _NOT_SECRETS:
                with self._lock:
                    self._values.add(item)

    def register_url(self, url: str | None) -> None:
        """Register the password and credential query values of a URL."""
        for secret in url_secrets(url or ""):
            self.register(secret)

    def known(self) -> list[str]:
        """Every value replaced verbatim, longest first (so a longer one is not cut)."""
        with self._lock:
            values = self._values | self._environment_values()
        return sorted(values, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced by `***`."""
        return _scrub(text, self.known()) if text else text

    def scrub_data(self, data: Any) -> Any:
        """A copy of JSON-like data with every string (keys too) scrubbed."""
        return _scrub_data(data, self.known())

    def _environment_values(self) -> frozenset[str]:
        environ = os.environ if self._environ is None else self._environ
        seen = tuple(environ.items())
        if seen != self._env_seen:
            self._env_values = frozenset(environment_secrets(dict(seen)))
            self._env_seen = seen
        return self._env_values


def _scrub(text: str, known: list[str]) -> str:
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = ANY_TOKEN.sub(REDACTED, text)
    # Each pattern below needs a character or word that most text lacks: look for it first
    # (a plain search is many times faster than a pattern over a long text).
    if "@" in text:
        text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    if "=" in text:
        text = _QUERY.sub(rf"\1{REDACTED}", text)
    if "earer" in text or "Basic" in text:
        text = _HEADER.sub(_header, text)
    return _ASSIGNMENT.sub(_assignment, text) if "=" in text else text


def _scrub_data(data: Any, known: list[str]) -> Any:
    if isinstance(data, str):
        return _scrub(data, known)
    if isinstance(data, Mapping):
        return {_scrub_data(k, known): _scrub_data(v, known) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_scrub_data(item, known) for item in data]
    return data


def _header(match: re.Match[str]) -> str:
    scheme, space = (match.group(1), match.group(2)) if match.group(1) else match.group(4, 5)
    return f"{scheme}{space}{REDACTED}"


def _assignment(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if not is_secret_key_name(name) or _PLACEHOLDER.fullmatch(value):
        return match.group(0)
    return f"{name}={REDACTED}"


def _forms(value: str | None) -> Iterable[str]:
    if not value:
        return ()
    text = value.strip()
    return {text, urllib.parse.quote(text, safe=""), urllib.parse.quote_plus(text)}


def environment_secrets(environ: Mapping[str, str]) -> set[str]:
    """The secret values an environment holds (see the module docstring)."""
    found: set[str] = set()
    for name, value in environ.items():
        value = value.strip()
        if name == "RUNPOD_API_KEY" or _env_value_is_secret(name, value):
            found |= set(_forms(value))
        if "://" in value:  # PODKIT_TARGET, HTTPS_PROXY, DATABASE_URL: a password in a URL
            found |= url_secrets(value)
        if value.startswith("{"):  # credentials JSON given inline instead of as a file
            found |= _inline_credentials(name, value)
    found |= _google_credentials(environ.get("GOOGLE_APPLICATION_CREDENTIALS", ""))
    return {v for v in found if len(v) >= MIN_SECRET_LEN and v.lower() not in _NOT_SECRETS}


def _env_value_is_secret(name: str, value: str) -> bool:
    if len(value) < MIN_ENV_SECRET_LEN:  # the words of _NOT_SECRETS are all shorter
        return False
    if name == "GOOGLE_APPLICATION_CREDENTIALS" or _names_a_file(name, value):
        return False  # a path; the file's contents are what is secret
    return is_secret_key_name(name) or looks_like_secret_value(value)


_FILE_NAMES = re.compile(r"(_FILE|_PATH|_DIR|CREDENTIALS)$")


def _inline_credentials(name: str, value: str) -> set[str]:
    """A JSON object in a variable (GOOGLE_APPLICATION_CREDENTIALS set to the key file's text
    rather than its path): the whole text and its private fields, as they may be shown alone."""
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser
        return set()
    if not isinstance(data, dict):
        return set()
    private = google_credential_secrets(data)
    if private or name == "GOOGLE_APPLICATION_CREDENTIALS":
        private |= set(_forms(value))
    return private


def _names_a_file(name: str, value: str) -> bool:
    """PODKIT_CREDENTIALS=/home/me/.runpod.toml, AWS_SHARED_CREDENTIALS_FILE=~/.aws/...: paths."""
    return bool(_FILE_NAMES.search(name)) and value.startswith(("/", "~", "./", "../"))


def _google_credentials(path: str) -> set[str]:
    """The private fields of a service-account or user credentials JSON file."""
    if not path:
        return set()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return google_credential_secrets(data) if isinstance(data, dict) else set()


def google_credential_secrets(data: Mapping[str, object]) -> set[str]:
    """The private fields of a Google credentials JSON (service account, authorized user)."""
    found = {str(data[k]).strip() for k in _GOOGLE_PRIVATE if data.get(k)}
    # A PEM's body lines can show up alone (a log that split it); register each.
    pem = str(data.get("private_key", ""))
    found |= {line for line in pem.splitlines() if len(line) >= 16 and "-----" not in line}
    return found


def url_secrets(url: str) -> set[str]:
    """The password of a URL's userinfo and its credential query values."""
    if "://" not in url:
        return set()
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return set()
    # As written and decoded: a client sends `p%40ss` as `p@ss` and may show it so.
    found = {parts.password, urllib.parse.unquote(parts.password)} if parts.password else set()
    params = urllib.parse.parse_qsl(parts.query)
    found |= {v for k, v in params if re.fullmatch(CREDENTIAL_PARAMS, k, re.IGNORECASE)}
    return {v for v in found if len(v) >= MIN_SECRET_LEN}


def public_url(url: str) -> str:
    """`url` without userinfo and without credential query parameters (safe to show)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return REDACTOR.scrub(url)
    host = parts.netloc.rpartition("@")[2]
    params = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if not re.fullmatch(CREDENTIAL_PARAMS, k, re.IGNORECASE)
    ]
    query = urllib.parse.urlencode(params)
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))


REDACTOR = Redactor()


def register(value: str | None) -> None:
    """Treat `value` as a secret in everything podkit prints or writes from now on."""
    REDACTOR.register(value)


def scrub(text: str) -> str:
    """`text` with every secret podkit knows of replaced by `***`."""
    return REDACTOR.scrub(text)


def scrub_data(data: Any) -> Any:
    """JSON-like data with every string scrubbed (for `--json` and history records)."""
    return REDACTOR.scrub_data(data)


def write_file(path: Path, text: str) -> None:
    """Write a text file podkit produces (Markdown, summaries), scrubbed."""
    _write(path, "w", text)


def append_file(path: Path, text: str) -> None:
    """Append to a text file (`$GITHUB_STEP_SUMMARY`, `--markdown`), scrubbed."""
    _write(path, "a", text)


def _write(path: Path, mode: str, text: str) -> None:
    """A path the user gave that cannot be written is their mistake to fix, not a bug."""
    try:
        with path.open(mode, encoding="utf-8") as handle:
            handle.write(scrub(text))
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="give a file path in an existing directory you can write to "
            "(--markdown, $GITHUB_STEP_SUMMARY)",
        ) from exc


class RedactingStream:
    """A text stream that scrubs everything written to it before passing it on.

    It has no `buffer`, so libraries that write bytes behind a text stream's back (click)
    fall back to the text interface and stay inside the filter.
    """

    def __init__(self, inner: IO[str]) -> None:
        self._inner = inner

    @property
    def inner(self) -> IO[str]:
        return self._inner

    def write(self, text: str) -> int:
        self._inner.write(scrub(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:
        return getattr(self._inner, "errors", None)

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def redacting(stream: IO[str]) -> TextIO:
    """`stream` behind the filter (once: an already filtered stream is returned as is)."""
    if isinstance(stream, RedactingStream):
        return cast(TextIO, stream)
    return cast(TextIO, RedactingStream(stream))


class RawOut:
    """Bytes passed on to stdout as they arrive (an endpoint's answer), scrubbed as text.

    Bytes that are not UTF-8 pass through unchanged (surrogateescape), so a binary answer
    survives; a character split between two chunks waits for the rest of it. A secret split
    between two chunks is scrubbed whole: a line is passed on when it ends (at `\n` or `\r`),
    and of a longer run without a line break all but its last `HELD_CHARS` characters, so no
    secret shorter than that can be cut in two.
    """

    HELD_CHARS = 4096

    def __init__(self) -> None:
        stream: IO[str] = sys.stdout
        inner = stream.inner if isinstance(stream, RedactingStream) else stream
        self._text = inner
        self._bytes: IO[bytes] | None = getattr(inner, "buffer", None)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self._held = ""  # scrubbed, not yet shown: the end of an unfinished line

    def write(self, data: bytes, *, final: bool = False) -> None:
        text = scrub(self._held + self._decoder.decode(data, final=final))
        cut = len(text) if final else _end_of_shown(text, self.HELD_CHARS)
        self._held = text[cut:]
        if cut:
            self._show(text[:cut])

    def _show(self, text: str) -> None:
        if self._bytes is not None:
            self._bytes.write(text.encode("utf-8", errors="surrogateescape"))
            self._bytes.flush()
        else:  # a text-only stream (a test's capture): no binary answer reaches it whole
            self._text.write(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            self._text.flush()


def _end_of_shown(text: str, held: int) -> int:
    """Where the part of `text` that may be shown now ends: after its last line break, or
    earlier than its last `held` characters when no break comes later."""
    end_of_line = max(text.rfind("\n"), text.rfind("\r")) + 1
    return max(end_of_line, len(text) - held)
