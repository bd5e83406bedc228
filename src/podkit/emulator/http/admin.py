"""Test controls over HTTP under `/_emulator/` (loopback only, no API key).

GET  /_emulator/health                     {"ok": true}
GET  /_emulator/faults                     the fault rules and seed
PUT  /_emulator/faults                     {"seed": 1, "rules": [{"pattern": "POST /v2/*",
                                            "rate_429": 0.5, "latency_s": 0.1, ...}]}
DELETE /_emulator/faults                   no faults
GET|PATCH /_emulator/quirks                {"v1_ignore_flashboot_false_on_create": true}
GET|PUT /_emulator/rate-limits             {"minute": 60, "hour": 3000} ({}: off), v2 only
PUT  /_emulator/key-scope                  {"scope": "read" | "none" | null} for the Bearer key
PUT  /_emulator/quota                      {"quota": 10}: default; with a Bearer key, that account
POST /_emulator/reset                      {"seed": 7} forget everything
PUT  /_emulator/catalog/availability       {"gpu": "NVIDIA H200", "level": "NONE", "dataCenter"?}
PUT  /_emulator/catalog/prices             {"pool": "ADA_24", "serverless": 0.99}
PUT  /_emulator/endpoints/{id}/worker-command
                                           {"command": ["python", "handler.py"], "cwd"?: DIR}
                                           ({"command": null}: podkit's worker again)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from podkit.emulator.backend import Backend, BackendError, RouteFault
from podkit.emulator.http.common import api_key

Admin = Callable[[Backend, Request, Any], Any]


def _wrap(backend: Backend, fn: Admin) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
            result = fn(backend, request, body)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            return JSONResponse({"message": f"bad admin request: {exc}"}, status_code=400)
        except BackendError as exc:
            return JSONResponse({"message": exc.message}, status_code=exc.status)
        return JSONResponse(result if result is not None else {"ok": True})

    return endpoint


def faults(backend: Backend, request: Request, body: Any) -> Any:
    if request.method == "PUT":
        backend.faults.clear(seed=int(body.get("seed", backend.faults.seed)))
        for rule in body.get("rules", []):
            backend.faults.rules.append(RouteFault(**rule))
    elif request.method == "DELETE":
        backend.faults.clear()
    return backend.faults.as_dict()


def quirks(backend: Backend, request: Request, body: Any) -> Any:
    if request.method == "PATCH":
        for name, value in body.items():
            if not hasattr(backend.quirks, name):
                raise KeyError(f"unknown quirk {name!r}; known: {sorted(backend.quirks.as_dict())}")
            setattr(backend.quirks, name, bool(value))
    return backend.quirks.as_dict()


def key_scope(backend: Backend, request: Request, body: Any) -> Any:
    key = api_key(request)
    if key is None:
        raise KeyError("send the key to restrict as Authorization: Bearer <key>")
    backend.set_key_scope(key, body.get("scope"))
    return {"scope": body.get("scope")}


def rate_limits(backend: Backend, request: Request, body: Any) -> Any:
    if request.method == "PUT":
        backend.rate_limits.set(**{k: int(v) for k, v in body.items()})
    return dict(backend.rate_limits.quotas)


def quota(backend: Backend, request: Request, body: Any) -> Any:
    backend.set_quota(int(body["quota"]), api_key(request))
    return {"quota": int(body["quota"])}


def reset(backend: Backend, request: Request, body: Any) -> Any:
    backend.reset(seed=body.get("seed"))
    return None


def availability(backend: Backend, request: Request, body: Any) -> Any:
    backend.catalog.set_availability(body["gpu"], body["level"], datacenter=body.get("dataCenter"))
    return None


def prices(backend: Backend, request: Request, body: Any) -> Any:
    backend.catalog.set_pool_price(body["pool"], float(body["serverless"]))
    return None


def worker_command(backend: Backend, request: Request, body: Any) -> Any:
    unknown = sorted(set(body) - {"command", "cwd"})
    if unknown:
        raise KeyError(
            f"unknown field(s) {unknown}: only 'command' (a list of strings, or null for the "
            "default) and 'cwd' (an absolute directory) are set here; a worker's env comes "
            "from the endpoint or template"
        )
    command, cwd = body.get("command"), body.get("cwd")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command)
    ):
        raise ValueError("'command' must be a non-empty list of strings, or null")
    if cwd is not None:
        cwd = _directory(cwd)
    backend.set_worker_command(request.path_params["id"], command, cwd)
    return None


def _directory(cwd: Any) -> str:
    """`cwd` as given: an absolute path to an existing directory."""
    if not isinstance(cwd, str) or not Path(cwd).is_absolute():
        raise ValueError(f"'cwd' must be an absolute directory path, not {cwd!r}")
    if not Path(cwd).is_dir():
        raise ValueError(f"'cwd' {cwd!r} is not a directory here")
    return cwd


def routes(backend: Backend) -> list[Route]:
    """The admin routes, bound to `backend`."""
    table: list[tuple[str, list[str], Admin]] = [
        ("/_emulator/health", ["GET"], lambda b, r, x: {"ok": True}),
        ("/_emulator/faults", ["GET", "PUT", "DELETE"], faults),
        ("/_emulator/quirks", ["GET", "PATCH"], quirks),
        ("/_emulator/quota", ["PUT"], quota),
        ("/_emulator/rate-limits", ["GET", "PUT"], rate_limits),
        ("/_emulator/key-scope", ["PUT"], key_scope),
        ("/_emulator/reset", ["POST"], reset),
        ("/_emulator/catalog/availability", ["PUT"], availability),
        ("/_emulator/catalog/prices", ["PUT"], prices),
        ("/_emulator/endpoints/{id}/worker-command", ["PUT"], worker_command),
    ]
    return [Route(path, _wrap(backend, fn), methods=methods) for path, methods, fn in table]
