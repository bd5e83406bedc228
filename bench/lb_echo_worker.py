"""The HTTP worker bench_loadbalancer runs behind the local load balancer: a Starlette app
under uvicorn on $PORT answering `/ping` (200), `/echo` (the body back, or `{}`) and
`/port` (its own port, so
the benchmark can call it directly)."""

import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def ping(request: Request) -> Response:
    return Response(status_code=200)


async def echo(request: Request) -> Response:
    body = await request.body()
    return Response(body or b"{}", media_type="application/json")


async def port(request: Request) -> Response:
    return JSONResponse({"port": int(os.environ["PORT"])})


app = Starlette(
    routes=[
        Route("/ping", ping),
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/port", port),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
