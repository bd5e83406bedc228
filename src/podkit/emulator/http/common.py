"""What every facade shares: auth, JSON bodies, request validation, the two error shapes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from podkit.emulator.backend import Backend, BackendError
from podkit.emulator.backend.ratelimit import Verdict
from podkit.emulator.jsonbody import loads_strict
from podkit.emulator.openapi import OpenApiDocument
from podkit.emulator.openapi.messages import misplaced_hint
from podkit.emulator.openapi.parameters import check_query

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
RATE_POLICY = '"minute";q=60;w=60, "hour";q=3000;w=3600, "day";q=50000;w=86400'


def api_key(request: Request) -> str | None:
    """The key from `Authorization`, with or without the `Bearer ` prefix."""
    raw = request.headers.get("authorization", "").strip()
    parts = raw.split(maxsplit=1)
    if parts and parts[0].lower() == "bearer":  # `BearerKEY` is no scheme: all of it is the key
        raw = parts[1] if len(parts) == 2 else ""
    return raw or None


@dataclass
class Call:
    """One authenticated request, as a sync handler sees it."""

    key: str
    body: Any
    params: dict[str, str]
    query: dict[str, str]
    origin: str
    backend: Backend
    extras: dict[str, Any] = field(default_factory=dict)


class Generation:
    """How one API generation validates bodies and shapes errors."""

    def __init__(self, doc: OpenApiDocument, backend: Backend) -> None:
        self.doc = doc
        self.backend = backend

    def error(self, status: int, message: str, problems: list[str] | None = None) -> Response:
        raise NotImplementedError

    def unauthorized(self) -> Response:
        raise NotImplementedError

    def violations(self, method: str, template: str, body: Any) -> list[str]:
        return [
            v.message + (misplaced_hint(template, v.field) if v.kind == "unknown" else "")
            for v in self.doc.check_request(method, template, body)
        ]

    def validation_error(self, problems: list[str]) -> Response:
        raise NotImplementedError

    def query_error(self, problems: list[str]) -> Response:
        """A query that breaks the operation's declared parameters."""
        return self.validation_error(problems)

    def route(
        self, method: str, template: str, handler: Callable[[Call], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint: the key (scopes are checked before routing, in `http.auth`), JSON body,
        schema validation, then `handler` in a thread."""

        async def endpoint(request: Request) -> Response:
            key = api_key(request)
            if key is None:
                return self.unauthorized()
            bad_query = check_query(self.doc, method, template, request.query_params.multi_items())
            if bad_query:
                return self.query_error(bad_query)
            body = await self._body(request, method, template)
            if isinstance(body, Response):
                return body
            call = Call(
                key=key,
                body=body,
                params=dict(request.path_params),
                query=dict(request.query_params),
                origin=origin(request),
                backend=self.backend,
                extras={"last_event_id": request.headers.get("last-event-id")},
            )
            verdict = self.admit(key)
            if verdict is not None and not verdict.allowed:
                refused = self.error(
                    429,
                    f"rate limit exceeded for the {verdict.window} window; retry after "
                    f"{verdict.retry_after_s} s",
                )
                refused.headers["Retry-After"] = str(verdict.retry_after_s)
                return _with_headers(refused, verdict.headers)
            try:
                response = await run_in_threadpool(handler, call)
            except BackendError as exc:
                response = self.error(exc.status, exc.message, exc.problems or None)
            return _with_headers(response, verdict.headers if verdict else {})

        return endpoint

    def admit(self, key: str) -> Verdict | None:
        """Rate limiting for this generation (None: not limited)."""
        return None

    async def _body(self, request: Request, method: str, template: str) -> Any:
        """The validated JSON body (None when the operation takes none), or the error."""
        if self.doc.request_ref(method, template) is None:
            return None
        try:
            body = loads_strict(await request.body(), whole_floats_as_int=True)
        except ValueError as exc:
            return self.error(
                400,
                f"request body is not valid JSON ({exc}); send a JSON object with "
                "Content-Type: application/json",
            )
        problems = self.violations(method, template, body)
        return self.validation_error(problems) if problems else body


def _with_headers(response: Response, headers: dict[str, str]) -> Response:
    for name, value in headers.items():
        response.headers[name] = value
    return response


def origin(request: Request) -> str:
    """The scheme://host:port the client used, for URLs the emulator hands back."""
    return f"{request.url.scheme}://{request.url.netloc}"


def problem(
    status: int, detail: str, errors: list[str] | None = None, headers: dict[str, str] | None = None
) -> Response:
    """An RFC 9457 problem-details response (v2's error shape)."""
    body: dict[str, Any] = {
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def json_response(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)
