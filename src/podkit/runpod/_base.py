"""The one place that sends control-plane requests and maps statuses to PodkitErrors.

Retries (429 with Retry-After, 5xx, transport failures) live in `podkit._http.HttpClient`;
this layer adds the bearer key, parses both error shapes (v2 problem details with
`errors[]`, v1 `{"message"}` / `{"error", "problems"}` bodies) and quotes the server's own
words in the raised error, with the key redacted.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ValidationError

from podkit._http import IDEMPOTENT_METHODS, HttpClient, Response
from podkit.errors import (
    ApiError,
    AuthError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from podkit.runpod.credentials import ApiKey, redact
from podkit.runpod.types._common import is_object_id, shown_id

M = TypeVar("M", bound=BaseModel)
_ORIGIN = re.compile(r"[a-z][a-z0-9+.\-]{0,15}://[A-Za-z0-9.\-:\[\]]{1,255}")

_HINTS = {
    401: "the API key from {source} was missing or refused; set a valid key there",
    403: "the API key from {source} is valid but not allowed to do this; use a key with "
    "read/write access (its permissions are set in the RunPod console)",
    404: "the object is gone or belongs to another account; run `podkit plan` to re-read state",
    429: "the API rate limit was hit after all retries; wait a minute and run again",
}


def server_message(response: Response) -> str:
    """The server's own explanation, from either API generation's error shape."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:500]
    text = str(body.get("detail") or body.get("message") or body.get("error") or "")
    text = text or str(body.get("title") or response.reason_phrase)
    details = body.get("errors") or body.get("problems")
    if isinstance(details, list) and details:
        text = f"{text} ({'; '.join(str(item) for item in details)})"
    return text


def _error_class(status: int) -> type[ApiError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return InvalidRequestError


class ApiBase:
    """Sends requests for one API generation; resources build on it."""

    def __init__(self, http: HttpClient, api_key: ApiKey) -> None:
        self.http = http
        self._key = api_key
        self._headers = {"Authorization": f"Bearer {api_key.reveal()}"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.http.base_url!r}, key={self._key!r})"

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """Send one request; return the parsed JSON body (None for an empty body)."""
        response = self.http.request(method, path, json=json, params=params, headers=self._headers)
        if response.status_code >= 400:
            raise self._error(method, path, response)
        if 300 <= response.status_code < 400:
            raise self._redirected(method, path, response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServerError(
                f"{method} {path} returned {response.status_code} with a body that is not JSON",
                status=response.status_code,
                method=method,
                url=path,
                hint="the target may not be a RunPod API; check --target",
            ) from None

    def _redirected(self, method: str, path: str, response: Response) -> ServerError:
        """A 3xx is never followed: the key would go wherever `Location` points."""
        location = response.headers.get("Location", "")
        where = redact(redirect_origin(location, self.http.base_url), [self._key.reveal()])
        said = f"a redirect to {where}" if where else "a redirect or cache answer, not data"
        return ServerError(
            f"{method} {path} -> {response.status_code}: {said}; podkit does not follow "
            "redirects, so the API key was not sent anywhere else",
            status=response.status_code,
            method=method,
            url=path,
            hint="the target is not the RunPod API itself (a proxy or a moved address?); "
            "point --target / PODKIT_TARGET at the API's own origin",
        )

    def _error(self, method: str, path: str, response: Response) -> ApiError:
        status = response.status_code
        message = redact(server_message(response), [self._key.reveal()])
        cls = _error_class(status)
        hint = _HINTS.get(status, "").format(source=self._key.source) or None
        if cls is InvalidRequestError:
            hint = "the server refused the request as sent; fix the named field in podkit.toml"
        elif cls is ServerError and method in IDEMPOTENT_METHODS:
            hint = "the API failed after retries; run the same command again (it is idempotent)"
        elif cls is ServerError:
            hint = (
                "the server may or may not have applied this write (it was not retried); "
                "`podkit plan` shows what exists, and running the command again converges"
            )
        return cls(
            f"{method} {path} -> {status}: {message}",
            status=status,
            method=method,
            url=path,
            hint=hint,
        )

    def parse(self, model: type[M], data: Any, what: str) -> M:
        """Validate a response body into its model, or fail naming the object."""
        return parse_response(model, data, what)


def path_id(value: str, what: str) -> str:
    """An object id as one URL path segment; anything else ('..', '/', '?') is refused
    before a request is built (it would name another path on the same host)."""
    if not is_object_id(value):
        raise InvalidRequestError(
            f"{what} {shown_id(value)} is not an id (ids are letters, digits, '-' and '_'); "
            "no request was sent",
            hint="check where the id came from (the command line, the history, an API answer)",
        )
    return value


def redirect_origin(location: str, base_url: str) -> str:
    """Where a redirect points, as it may be shown: the origin only (no path, query or
    userinfo, which may carry tokens); a relative one is on the target itself."""
    try:
        parts = urlsplit(urljoin(base_url, location.strip()))
    except ValueError:
        return "an unreadable address"
    host = parts.netloc.rpartition("@")[2]
    if not location.strip():
        return ""
    shown = f"{parts.scheme}://{host}"
    return shown if _ORIGIN.fullmatch(shown) else "an unreadable address"


def parse_response(model: type[M], data: Any, what: str) -> M:
    """Validate a response body into its model, or raise ServerError naming the object."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ServerError(
            f"{what}: the response does not match the expected {model.__name__} shape: "
            f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']} at "
            f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}",
            hint="the API may have changed, or the target is not a RunPod API; check --target, "
            "or upgrade podkit and report the response",
        ) from None


def dump(body: BaseModel) -> dict[str, Any]:
    """A request body as the API wants it: camelCase, fields left at None not sent.

    Defaults that are values (a scaling variant's `type`) are sent; nothing podkit writes
    needs an explicit JSON null.
    """
    return body.model_dump(by_alias=True, exclude_none=True, mode="json")
