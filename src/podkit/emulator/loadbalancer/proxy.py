"""The load balancer's front door: an ASGI middleware in front of the emulator's app.

Requests for an endpoint's `requestUrls.base` (path or host form) are checked with the same
Bearer auth as the data plane, held to the platform's payload limit, handed to a ready worker
(waiting while workers start) and streamed back as they come: chunked bodies, server-sent
events and WebSockets pass through. Queue paths of an LB endpoint and LB paths of a queue
endpoint are refused the way the platform refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from podkit.emulator.backend import Backend
from podkit.emulator.http.auth import AuthMiddleware, Target
from podkit.emulator.http.common import api_key
from podkit.emulator.loadbalancer.balancer import LOAD_BALANCER, LoadBalancer
from podkit.emulator.loadbalancer.routing import LbTarget, lb_target, queue_target, raw_query
from podkit.emulator.loadbalancer.websocket import relay_websocket
from podkit.emulator.loadbalancer.workers import LbWorker

HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade"}
    | {b"proxy-authorization", b"proxy-authenticate", b"proxy-connection", b"host"}
    | {b"content-length"}
)
# Date and Server of an answer are the platform's (its HTTP server sets them on every
# response); the worker's own would arrive doubled.
SET_BY_PLATFORM = frozenset({b"date", b"server"})
# The RunPod key authenticates the caller to the platform; it is not the worker's business.
NOT_FORWARDED = HOP_BY_HOP | {b"authorization"}
NO_WORKERS = "no workers available"
SMALL = 64 * 1024  # answers of a known size up to this are relayed in one piece
READS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENT = READS | {"PUT", "DELETE"}


MAX_ROUTES = 3  # workers tried for one request when the first ones are found dead


@dataclass
class _Exchange:
    started: bool = False


class _NoWorker(Exception):
    """No worker became ready within the wait."""


class _ClientGone(Exception):
    """The caller hung up before its request body was complete."""


class _WorkerFailed(Exception):
    """The worker broke off the exchange (its message is the caller's 502 text)."""


class LoadBalancerMiddleware:
    """Serves `/lb/{id}/...` and `{id}.lb.localhost`; everything else goes to `app`."""

    def __init__(self, app: ASGIApp, balancer: LoadBalancer, backend: Backend) -> None:
        self.app = app
        self.balancer = balancer
        self.backend = backend
        self.auth = AuthMiddleware(app, backend)
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        target = lb_target(scope)
        if target is None:
            await self._maybe_queue_path(scope, receive, send)
            return
        refused = self._refusal(scope, target.endpoint_id)
        if refused is not None:
            await _refuse(refused, scope, receive, send)
        elif scope["type"] == "websocket":
            await relay_websocket(self.balancer, scope, receive, send, target)
        else:
            await self._http(scope, receive, send, target)

    async def _maybe_queue_path(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint_id = queue_target(scope) if scope["type"] == "http" else None
        if endpoint_id is None or self.balancer.endpoint_type(endpoint_id) != LOAD_BALANCER:
            await self.app(scope, receive, send)
            return
        refused = self._refusal(scope, endpoint_id, check_type=False)
        refused = refused or _error(400, "not allowed for LB API")
        await refused(scope, receive, send)

    def _refusal(
        self, scope: Scope, endpoint_id: str, *, check_type: bool = True
    ) -> Response | None:
        """401/403 as the data plane answers them, 404 for another account's endpoint, and
        the platform's answer for a queue endpoint's id."""
        request = Request({**scope, "type": "http"})
        writes = scope.get("method", "GET") not in READS
        refused = self.auth.check(request, Target("data", writes, endpoint_id))
        if refused is not None:
            return refused
        found = self.backend.find_endpoint(endpoint_id)
        key = api_key(request) or ""
        if found is None or found[0] != self.backend.keys.account_of(key):
            return _error(404, f"endpoint {endpoint_id} not found")
        if check_type and found[1].get("type") != LOAD_BALANCER:
            return _error(400, "not allowed for QB API")
        return None

    async def _http(self, scope: Scope, receive: Receive, send: Send, target: LbTarget) -> None:
        settings = self.balancer.settings
        try:  # a body that stops coming holds no connection for ever
            async with asyncio.timeout(settings.request_timeout_s):
                body = await _read_body(receive, settings.max_payload_bytes)
        except _ClientGone:  # half a body is never handed to a worker
            return
        except TimeoutError:
            await _error(408, "request body not received in time")(scope, receive, send)
            return
        if body is None:
            mb = settings.max_payload_bytes / 1_000_000
            await _error(413, f"request payload exceeds {mb:g} MB")(scope, receive, send)
            return
        exchange = _Exchange()
        try:
            await _unless_disconnected(receive, self._route(scope, send, target, body, exchange))
        except TimeoutError:
            if not exchange.started:
                await _error(504, "request timed out")(scope, receive, send)
        except _NoWorker:
            if self.balancer.endpoint_type(target.endpoint_id) is None:  # deleted meanwhile
                await _error(404, f"endpoint {target.endpoint_id} not found")(scope, receive, send)
            else:
                await _error(503, NO_WORKERS)(scope, receive, send)
        except _WorkerFailed as exc:
            if not exchange.started:
                await _error(502, str(exc))(scope, receive, send)

    async def _route(
        self, scope: Scope, send: Send, target: LbTarget, body: bytes, exchange: _Exchange
    ) -> None:
        """To a ready worker; a worker found dead before the request reached it is taken out
        of routing and the request goes to another (nothing was sent, so it is safe)."""
        for _ in range(MAX_ROUTES):
            worker = await self.balancer.acquire(target.endpoint_id)
            if worker is None:
                raise _NoWorker
            try:  # the wait for a worker is not part of the request's processing time
                async with asyncio.timeout(self.balancer.settings.request_timeout_s):
                    await self._forward(scope, send, worker, target, body, exchange)
                return
            except httpx.HTTPError as exc:
                dead = isinstance(exc, httpx.ConnectError) or await self._is_dead(worker)
                if dead:
                    self.balancer.failed(worker, f"request failed: {type(exc).__name__}")
                unsent = isinstance(exc, httpx.ConnectError)
                safe = dead and scope["method"] in IDEMPOTENT  # a retry cannot act twice
                if exchange.started or not (unsent or safe):
                    raise _WorkerFailed(
                        f"worker {worker.id} did not answer: {type(exc).__name__}"
                    ) from exc
            finally:
                self.balancer.release(worker)
        raise _NoWorker

    async def _forward(
        self,
        scope: Scope,
        send: Send,
        worker: LbWorker,
        target: LbTarget,
        body: bytes,
        exchange: _Exchange,
    ) -> None:
        query = raw_query(scope)
        raw = f"{target.path}?{query}" if query else target.path
        url = httpx.URL(worker.url).copy_with(raw_path=raw.encode("ascii"))
        headers = forwarded_headers(scope["headers"])
        client = self._http_client()
        request = client.build_request(scope["method"], url, headers=headers, content=body)
        sent_names = {k.lower() for k, _ in headers} | {b"host", b"content-length"}
        for name in [k for k, _ in request.headers.raw if k.lower() not in sent_names]:
            del request.headers[name.decode("latin-1")]  # the client's defaults, not the caller's
        response = await client.send(request, stream=True)
        try:
            dropped = HOP_BY_HOP | SET_BY_PLATFORM
            out = [(k, v) for k, v in response.headers.raw if k.lower() not in dropped]
            if "content-length" in response.headers:
                out.append((b"content-length", response.headers["content-length"].encode()))
            start = {"type": "http.response.start", "status": response.status_code}
            limit = self.balancer.settings.max_payload_bytes
            declared = int(response.headers.get("content-length") or SMALL + 1)
            if declared > limit and scope["method"] != "HEAD":
                # Said up front: a clear refusal, not a 200 cut off at the limit.
                raise _WorkerFailed(
                    f"worker {worker.id} answered {declared} bytes, over the "
                    f"{limit / 1_000_000:g} MB response payload limit"
                )
            if declared <= min(SMALL, limit):
                # A small answer: one message, not a stream (raw: content-encoding stays).
                body = b"".join([chunk async for chunk in response.aiter_raw()])
                await send({**start, "headers": out})
                exchange.started = True
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send({**start, "headers": out})
            exchange.started = True
            sent = 0
            async for chunk in response.aiter_raw():
                sent += len(chunk)
                if sent > limit:  # the platform cuts answers over the payload limit
                    raise httpx.ReadError("response payload over the limit")
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def _is_dead(self, worker: LbWorker) -> bool:
        """Whether a worker that broke a request off is gone (exited, or its port refuses)."""
        if worker.process.poll() is not None:
            return True
        try:
            await self._http_client().get(worker.health_url, timeout=2.0)
        except httpx.ConnectError:
            return True
        except httpx.HTTPError:
            return False
        return False

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:  # created in the server's event loop, on first use
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            self._client = httpx.AsyncClient(timeout=None, limits=limits, trust_env=False)
        return self._client


def forwarded_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The caller's headers less the hop-by-hop ones (also those its `Connection` names) and
    the platform's key."""
    named = {
        token.strip().lower()
        for name, value in raw
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    return [(k, v) for k, v in raw if k.lower() not in NOT_FORWARDED and k.lower() not in named]


async def _unless_disconnected(receive: Receive, exchange: Coroutine[Any, Any, None]) -> None:
    """Run the exchange until it ends or the caller hangs up (then it is cancelled: the worker
    sees its connection close, and a stream stops instead of running to its end)."""
    relay = asyncio.ensure_future(exchange)
    watch = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait({relay, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (watch, relay):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    if not relay.cancelled():
        relay.result()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it passes `limit` bytes; `_ClientGone` when the
    caller hangs up before its end."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _error(status: int, message: str) -> Response:
    """The platform's load-balancer error body."""
    return JSONResponse({"error": message}, status_code=status)


async def _refuse(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        # 4000 + HTTP status, so a client can tell 401 from 404 on a refused handshake.
        await send({"type": "websocket.close", "code": 4000 + response.status_code})
        return
    await response(scope, receive, send)
