"""WebSockets through the load balancer: accept the client once the worker accepted, then
relay messages both ways until either side closes."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from podkit.emulator.loadbalancer.balancer import LoadBalancer
from podkit.emulator.loadbalancer.routing import LbTarget, raw_query

TRY_AGAIN_LATER = 1013
INTERNAL_ERROR = 1011
# The handshake's own headers: the relay makes its own handshake with the worker.
HANDSHAKE = frozenset(
    {b"host", b"connection", b"upgrade", b"authorization", b"proxy-authorization"}
    | {b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions"}
    | {b"sec-websocket-protocol", b"sec-websocket-accept", b"content-length", b"user-agent"}
    | {b"transfer-encoding", b"keep-alive", b"te", b"trailer", b"proxy-connection"}
)


async def relay_websocket(
    balancer: LoadBalancer, scope: Scope, receive: Receive, send: Send, target: LbTarget
) -> None:
    """One client WebSocket relayed to a ready worker of the target endpoint."""
    if (await receive())["type"] != "websocket.connect":
        return
    worker = await balancer.acquire(target.endpoint_id)
    if worker is None:
        await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})
        return
    query = raw_query(scope)
    url = f"ws://127.0.0.1:{worker.port}{target.path}" + (f"?{query}" if query else "")
    try:
        async with connect(
            url,
            additional_headers=_headers(scope),
            user_agent_header=_user_agent(scope),
            subprotocols=scope.get("subprotocols") or None,
            max_size=balancer.settings.max_payload_bytes,
            open_timeout=10,
        ) as upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
            await _pump(upstream, receive, send)
    except (OSError, WebSocketException, TimeoutError):
        with contextlib.suppress(OSError):  # the caller may be gone already
            await send({"type": "websocket.close", "code": INTERNAL_ERROR})
    finally:
        balancer.release(worker)


def _headers(scope: Scope) -> list[tuple[str, str]]:
    """The caller's own headers (a worker's credential, a trace id) for the worker's handshake;
    never the platform's key."""
    raw: list[tuple[bytes, bytes]] = scope.get("headers", [])
    return [
        (k.decode("latin-1"), v.decode("latin-1")) for k, v in raw if k.lower() not in HANDSHAKE
    ]


def _user_agent(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"user-agent":
            agent: str = value.decode("latin-1")
            return agent
    return None


async def _pump(upstream: ClientConnection, receive: Receive, send: Send) -> None:
    to_worker = asyncio.create_task(_client_to_worker(upstream, receive))
    to_client = asyncio.create_task(_worker_to_client(upstream, send))
    _, pending = await asyncio.wait({to_worker, to_client}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in (to_worker, to_client):
        # Either side hanging up ends the relay; what it raised then is expected.
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, OSError):
            await task


async def _client_to_worker(upstream: ClientConnection, receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            await upstream.close()
            return
        data = message.get("text") if message.get("text") is not None else message.get("bytes")
        if data is not None:
            await upstream.send(data)


async def _worker_to_client(upstream: ClientConnection, send: Send) -> None:
    try:
        async for data in upstream:
            out: dict[str, Any] = {"type": "websocket.send"}
            out["text" if isinstance(data, str) else "bytes"] = data
            await send(out)
        code = upstream.close_code or 1000
    except ConnectionClosed as exc:
        # No close frame: the worker went away mid-session, which is no normal closure.
        code = exc.rcvd.code if exc.rcvd else INTERNAL_ERROR
    await send({"type": "websocket.close", "code": code})
