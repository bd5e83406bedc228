"""`podkit request [METHOD] PATH`: one HTTP request to a load-balancing endpoint's workers.

The endpoint comes from `--endpoint` or the project's last deploy, the key from the
environment; the answer is written to stdout as it arrives, line by line (streams and
server-sent events too; see `RawOut`), the status to stderr. "no workers available"
(workers scaling from zero) is retried. With `--json` the whole answer is read first and
printed as one JSON document (status, headers, body, seconds).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import typer

from podkit._http import Response
from podkit.cli._jobs_common import parse_duration, resolve_endpoint, say
from podkit.cli.app import app
from podkit.cli.console import print_json
from podkit.cli.option_files import read_option_file
from podkit.cli.options import CONFIG, ENDPOINT, ENV, TARGET, duration
from podkit.errors import ConfigError
from podkit.redact import RawOut
from podkit.runpod.credentials import load_api_key
from podkit.runpod.lb_requests import (
    NO_WORKERS,
    ColdStartRetry,
    LbClient,
    base_url,
    request_path,
)

EXIT_HTTP_ERROR = 3
EXIT_NO_WORKERS = 4
# The most a load-balancing endpoint takes in one request (the platform's 30 MB).
MAX_BODY_BYTES = 30_000_000
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Headers that frame or route the request: a value of the user's would contradict the body
# sent or send the request to another host.
_FRAMING = {
    "content-length": "from the body given with --data",
    "transfer-encoding": "from the body given with --data",
    "host": "from the endpoint's URL, which the platform routes by",
}


@app.command("request")
def request_command(
    first: str = typer.Argument(..., metavar="[METHOD] PATH", help="GET, POST, ...; the path."),
    second: str | None = typer.Argument(None, hidden=True),
    data: str | None = typer.Option(
        None,
        "--data",
        "-d",
        help="The request body: text or JSON, or @file to read it (@- standard input).",
    ),
    header: list[str] = typer.Option([], "--header", "-H", help="A header, 'Name: value'."),
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    retries: int = typer.Option(
        3, "--retries", min=0, help="Retries of 'no workers available' while workers start."
    ),
    retry_wait: str = duration("5s", "--retry-wait", "Wait between those retries"),
    timeout: str = duration("330s", "--timeout", "Give up on an answer after this long"),
    include: bool = typer.Option(False, "--include", "-i", help="Print the status and headers."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Read the whole answer, then print {status, reason, headers, body, seconds} as "
        "JSON (body parsed when it is JSON).",
    ),
) -> None:
    """Send one HTTP request to a load-balancing endpoint; print the answer as it arrives."""
    method, path = _method_and_path(first, second, data)
    body, headers = _body(data), _headers(header, data)
    wait_s = parse_duration(retry_wait, "--retry-wait")
    retry = ColdStartRetry(attempts=retries + 1, wait_s=5.0 if wait_s is None else wait_s)
    seconds = _answer_timeout(timeout)
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    base = base_url(endpoint_id, target)
    started = time.monotonic()
    with (
        LbClient(base, load_api_key().reveal(), retry=retry, timeout_s=seconds) as client,
        client.request(method, path, body=body, headers=headers, on_cold_start=_cold) as answer,
    ):
        if as_json:
            _print_whole(answer, method, path, started)
        else:
            _stream(answer, include=include)
        status = answer.status_code
        text = answer.text if status >= 400 else ""  # both ways read an error whole
    say(f"HTTP {status} in {time.monotonic() - started:.2f} s from {method} {path}")
    if status >= 400:
        raise typer.Exit(EXIT_NO_WORKERS if NO_WORKERS in text[:500] else EXIT_HTTP_ERROR)


def _stream(answer: Response, *, include: bool) -> None:
    """Write the answer to stdout as it arrives (an error is read whole, to tell who
    answered)."""
    if include:
        say(f"HTTP {answer.status_code} {answer.reason_phrase}")
        for name, value in answer.headers.items():
            say(f"{name}: {value}")
    out = RawOut()
    if answer.status_code >= 400:
        answer.read()
        out.write(answer.content, final=True)
        return
    for chunk in answer.iter_bytes():
        out.write(chunk)
    out.write(b"", final=True)


def _print_whole(answer: Response, method: str, path: str, started: float) -> None:
    """Print the whole answer as one JSON document."""
    answer.read()
    print_json(
        {
            "method": method,
            "path": path,
            "status": answer.status_code,
            "reason": answer.reason_phrase,
            "headers": dict(answer.headers.items()),
            "body": _decoded(answer),
            "seconds": round(time.monotonic() - started, 3),
        }
    )


def _decoded(answer: Response) -> object:
    """The body as JSON when it parses as such, else as text."""
    if not answer.content:
        return None
    try:
        return json.loads(answer.content)
    except ValueError:
        return answer.text


def _answer_timeout(text: str) -> float:
    seconds = parse_duration(text, "--timeout")
    if not seconds:  # 0 would give up before the first byte
        raise ConfigError(
            f"--timeout {text}: give how long to wait for an answer, more than 0",
            hint="e.g. --timeout 60s (the platform ends a request after 330s)",
        )
    return seconds


def _method_and_path(first: str, second: str | None, data: str | None) -> tuple[str, str]:
    if second is None:
        return ("POST" if data is not None else "GET"), _path(first)
    method = first.upper()
    if method not in METHODS:
        raise ConfigError(
            f"{first!r} is not an HTTP method", hint=f"use one of {', '.join(sorted(METHODS))}"
        )
    return method, _path(second)


def _path(path: str) -> str:
    """The path as sent; one with a control character (a line break, a tab) is refused, as
    no URL carries it."""
    found = next((char for char in path if char < " " or char == "\x7f"), None)
    if found is not None:
        shown = path if len(path) <= 80 else f"{path[:80]}..."
        raise ConfigError(
            f"path {shown!r} holds the control character {found!r}, which a URL cannot carry",
            hint="percent-encode it (a line break is %0A, a tab %09), or drop it",
        )
    return request_path(path)


def _body(data: str | None) -> bytes | None:
    if data is None:
        return None
    if not data.startswith("@"):
        return data.encode()
    return read_option_file(
        Path(data[1:]), "--data", MAX_BODY_BYTES, example="path/to/body.json",
        most="the most a load-balancing endpoint takes in one request",
    )  # fmt: skip


def _headers(raw: list[str], data: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ConfigError(
                f"--header {item!r} is not 'Name: value'",
                hint="e.g. -H 'Accept: text/event-stream'",
            )
        _check_name(name.strip())
        if name.strip().lower() == "authorization":
            raise ConfigError(
                "--header Authorization: podkit sends the RunPod API key (from RUNPOD_API_KEY) "
                "as Authorization, and the platform's load balancer needs it to let the "
                "request through to the workers",
                hint="drop this --header; give the worker's own credential under another "
                "header name (e.g. -H 'X-Api-Key: ...')",
            )
        headers[name.strip()] = value.strip()
    if data is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json" if _is_json(data) else "text/plain"
    return headers


def _check_name(name: str) -> None:
    """A header name HTTP can carry (a token), and none podkit sets itself."""
    if not _TOKEN.fullmatch(name):
        shown = name if len(name) <= 60 else f"{name[:60]}..."
        raise ConfigError(
            f"--header {shown!r}: not a header name (letters, digits and !#$%&'*+-.^_`|~ "
            "only: no spaces, no line breaks)",
            hint="e.g. -H 'X-Request-Id: 42'",
        )
    if name.lower() in _FRAMING:
        raise ConfigError(
            f"--header {name}: podkit sets it itself ({_FRAMING[name.lower()]})",
            hint="drop this --header",
        )


def _is_json(data: str) -> bool:
    if data.startswith("@"):
        return data.endswith(".json")
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _cold(attempt: int, attempts: int, wait: float) -> None:
    say(
        f"cold start: no workers available yet; trying again in {wait:g} s "
        f"(attempt {attempt + 1} of {attempts})"
    )
