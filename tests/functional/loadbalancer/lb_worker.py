"""A load-balancing worker for the tests: a Starlette app under uvicorn on $PORT.

The health path ($HEALTH_CHECK_PATH) answers 204 for $LB_READY_AFTER seconds, then 200;
`POST /sick` makes it answer 500 from then on, `POST /crash` ends the process mid-request;
with $LB_EXIT_AT_START it exits before serving. `/raw...` answers the request target as it
arrived (before any routing), `/big?n=` answers n bytes, `/forever` streams events until the
caller goes, `GET /seen` lists the paths `/echo` served.
"""

from __future__ import annotations

import asyncio
import os
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

STARTED = time.monotonic()
READY_AFTER = float(os.environ.get("LB_READY_AFTER", "0"))
WORKER = os.environ.get("RUNPOD_POD_ID", "?")
state = {"sick": False}
seen: list[str] = []


async def ping(request: Request) -> Response:
    if state["sick"]:
        return Response(status_code=500)
    return Response(status_code=204 if time.monotonic() - STARTED < READY_AFTER else 200)


async def echo(request: Request) -> Response:
    body = await request.body()
    seen.append(request.url.path)
    return JSONResponse(
        {
            "worker": WORKER,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "body": body.decode(),
            "headers": dict(request.headers.items()),
            "env": {
                k: os.environ.get(k)
                for k in ("PORT", "PORT_HEALTH", "HEALTH_CHECK_PATH", "LB_MARKER")
            },
        }
    )


async def slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("s", "1")))
    return JSONResponse({"worker": WORKER})


async def chunks(request: Request) -> Response:
    async def parts() -> object:
        for n in range(5):
            yield f"part {n}\n".encode()
            await asyncio.sleep(0.05)

    return StreamingResponse(parts(), media_type="text/plain")


async def events(request: Request) -> Response:
    async def parts() -> object:
        for n in range(3):
            yield f"data: {n}\n\n".encode()
            await asyncio.sleep(0.05)

    return StreamingResponse(parts(), media_type="text/event-stream")


async def big(request: Request) -> Response:
    return Response(b"x" * int(request.query_params.get("n", "1000")))


async def forever(request: Request) -> Response:
    async def parts() -> object:
        n = 0
        while True:
            yield f"data: {n}\n\n".encode()
            n += 1
            await asyncio.sleep(0.05)

    return StreamingResponse(parts(), media_type="text/event-stream")


async def seen_paths(request: Request) -> Response:
    return JSONResponse(seen)


async def sick(request: Request) -> Response:
    state["sick"] = True
    return JSONResponse({"worker": WORKER})


async def crash(request: Request) -> Response:
    os._exit(1)  # the worker dies with the request in flight


async def ws_echo(socket: WebSocket) -> None:
    await socket.accept()
    while True:
        text = await socket.receive_text()
        if text == "bye":
            await socket.close(code=1000)
            return
        await socket.send_text(f"{WORKER}:{text}")


async def ws_headers(socket: WebSocket) -> None:
    await socket.accept()
    await socket.send_json(dict(socket.headers.items()))
    await socket.close(code=1000)


health = os.environ.get("HEALTH_CHECK_PATH", "/ping")
routes = Starlette(
    routes=[
        Route(health, ping),
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/slow", slow),
        Route("/chunks", chunks),
        Route("/events", events),
        Route("/big", big),
        Route("/forever", forever),
        Route("/seen", seen_paths),
        Route("/sick", sick, methods=["POST"]),
        Route("/crash", crash, methods=["POST"]),
        WebSocketRoute("/ws", ws_echo),
        WebSocketRoute("/ws-headers", ws_headers),
    ]
)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and scope["path"].startswith("/raw"):
        target = {
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query": scope["query_string"].decode("latin-1"),
            "headers": sorted(k.decode("latin-1") for k, _ in scope["headers"]),
        }
        await JSONResponse(target)(scope, receive, send)
        return
    await routes(scope, receive, send)


if __name__ == "__main__":
    if os.environ.get("LB_EXIT_AT_START"):
        raise SystemExit("LB_EXIT_AT_START is set: exiting before serving")
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
