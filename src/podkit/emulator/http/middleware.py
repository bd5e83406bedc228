"""ASGI middleware: seeded faults before routing, and a recorder of every response."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podkit.emulator.backend import Backend
from podkit.emulator.http.common import TITLES

ADMIN_PREFIX = "/_emulator"


class DroppedConnection(Exception):
    """Raised after the response started, so the server closes the connection mid-response."""


def error_body(path: str, status: int, message: str) -> tuple[bytes, bytes]:
    """(body, content type) in the shape of the API generation the path belongs to."""
    if path.startswith("/v1/"):
        return json.dumps({"message": message}).encode(), b"application/json"
    body = {"title": TITLES.get(status, "Error"), "status": status, "detail": message}
    return json.dumps(body).encode(), b"application/problem+json"


async def _discard(message: Message) -> None:
    """A `send` that swallows the served response of a commit fault."""


_CONTROL_V2 = frozenset(
    {"serverless", "templates", "network-volumes", "registries", "catalog", "openapi.json",
     "pods", "clusters", "billing", "account"}
)  # fmt: skip


def _is_dataplane(path: str) -> bool:
    """`/v2/{endpoint_id}/run` and the like, as opposed to `/v2/serverless/...`."""
    parts = path.split("/")
    return len(parts) > 3 and parts[1] == "v2" and parts[2] not in _CONTROL_V2


class FaultMiddleware:
    """Applies `backend.faults` to every API request (never to the admin routes)."""

    def __init__(self, app: ASGIApp, backend: Backend) -> None:
        self.app = app
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        decision = self.backend.faults.decide(scope["method"], scope["path"])
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        if decision.action is None:
            await self.app(scope, receive, send)
            return
        if decision.action == "echo":
            await self._echo(scope, receive, send, decision.status)
            return
        if decision.action.startswith("commit_"):
            await self.app(scope, receive, _discard)  # served and applied; its answer is lost
        if decision.action.endswith("drop"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"64")],
                }
            )
            raise DroppedConnection(f"injected drop for {scope['method']} {scope['path']}")
        await self._refuse(scope, send, decision.status, decision.retry_after_s)

    async def _echo(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        """Refuse, quoting the request back: method, path, query, Authorization, body."""
        chunks: list[bytes] = []
        while True:
            received = await receive()
            chunks.append(received.get("body", b""))
            if not received.get("more_body"):
                break
        headers = dict(scope.get("headers", []))
        query = scope.get("query_string", b"").decode("latin-1")
        message = (
            f"request refused (injected echo): {scope['method']} {scope['path']}"
            f"{'?' + query if query else ''} auth={headers.get(b'authorization', b'').decode()} "
            f"body={b''.join(chunks).decode('utf-8', 'replace')[:2000]}"
        )
        body, ctype = error_body(scope["path"], status, message)
        if _is_dataplane(scope["path"]):
            body, ctype = json.dumps({"error": message}).encode(), b"application/json"
        length = str(len(body)).encode()
        response_headers = [(b"content-type", ctype), (b"content-length", length)]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    async def _refuse(self, scope: Scope, send: Send, status: int, retry_after: int) -> None:
        if status == 429:
            message = "rate limit exceeded for the minute window (injected fault)"
        else:
            message = f"injected server error {status}; retry with backoff"
        body, ctype = error_body(scope["path"], status, message)
        headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
        if status == 429:
            headers.append((b"retry-after", str(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class RecordedResponse:
    """One response the emulator sent (the body is kept unless it was a stream)."""

    method: str
    path: str
    status: int
    content_type: str
    body: bytes


@dataclass
class Recorder:
    """Collects responses for the suite's OpenAPI response check."""

    responses: list[RecordedResponse] = field(default_factory=list)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def record(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            state: dict[str, Any] = {"status": 0, "ctype": "", "chunks": []}

            async def capture(message: Message) -> None:
                if message["type"] == "http.response.start":
                    state["status"] = message["status"]
                    headers = dict(message.get("headers", []))
                    state["ctype"] = headers.get(b"content-type", b"").decode()
                elif (
                    message["type"] == "http.response.body" and "event-stream" not in state["ctype"]
                ):
                    state["chunks"].append(message.get("body", b""))
                await send(message)

            await app(scope, receive, capture)  # a dropped connection records nothing
            self.responses.append(
                RecordedResponse(
                    scope["method"],
                    scope["path"],
                    state["status"],
                    state["ctype"],
                    b"".join(state["chunks"]),
                )
            )

        return record
