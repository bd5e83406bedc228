"""Worker logs from the v2 server-sent event stream (`/v2/serverless/{id}/workers/{w}/logs`).

Each event carries an `id:` line (the cursor, echoed verbatim as `Last-Event-ID` when
reconnecting) and one JSON `data:` line `{ts, source, line}`. The stream never ends on its
own: a one-shot read stops once the server goes quiet, and `follow` reconnects from the
last cursor until told to stop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from podkit._http import HttpClient, LineStream
from podkit.errors import ApiError, AuthError, NotFoundError, RateLimitError
from podkit.runpod._base import path_id

RESTART_MARKERS = ("start container",)


@dataclass(frozen=True)
class LogLine:
    """One log line of one worker."""

    worker_id: str
    ts: str
    source: str
    line: str
    cursor: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"worker": self.worker_id, "ts": self.ts, "source": self.source, "line": self.line}


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str | None, str]]:
    """(id, data) per event; comment lines are skipped and a trailing partial frame dropped."""
    event_id: str | None = None
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield event_id, "\n".join(data)
            event_id, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            event_id = value
        elif name == "data":
            data.append(value)


class WorkerLogs:
    """Reads one endpoint's worker logs over an `HttpClient` on the v2 control plane."""

    def __init__(
        self,
        http: HttpClient,
        api_key: str,
        endpoint_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._http = http
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "text/event-stream"}
        self.endpoint_id = endpoint_id
        self._sleep = sleep

    def read(
        self,
        worker_id: str,
        *,
        since: str | None = None,
        tail: int | None = None,
        source: str | None = None,
        cursor: str | None = None,
        idle_timeout: float = 1.0,
        max_wait: float | None = None,
    ) -> Iterator[LogLine]:
        """The worker's lines until the stream goes quiet for `idle_timeout` seconds, or
        `max_wait` seconds have passed (a busy worker's stream never goes quiet)."""
        params: dict[str, Any] = {}
        if since:
            params["since"] = since
        if tail is not None:
            params["tail"] = tail
        if source:
            params["source"] = source
        headers = dict(self._headers)
        if cursor:
            headers["Last-Event-ID"] = cursor
        path = self._path(worker_id)
        with self._http.stream(
            "GET", path, params=params, headers=headers, idle_timeout=idle_timeout
        ) as stream:
            if stream.status_code >= 400:
                raise self._error(stream, path)
            quiet = self._until_quiet(stream, idle_timeout, max_wait)
            for event_id, data in parse_sse(quiet):
                yield _log_line(worker_id, event_id, data)

    def _until_quiet(
        self, stream: LineStream, idle_timeout: float, max_wait: float | None = None
    ) -> Iterator[str]:
        """The stream's lines until `idle_timeout` passes with no event (keep-alive comments
        do not count, so a one-shot read ends even on a server that pings), or until
        `max_wait` seconds in all, checked between events so no event is cut in half."""
        started = last_data = self._clock()
        for line in stream.lines():
            now = self._clock()
            if line.startswith("data:"):
                last_data = now
            elif now - last_data >= idle_timeout:
                return
            yield line
            if not line and max_wait is not None and now - started >= max_wait:
                return

    def follow(
        self,
        worker_id: str,
        *,
        since: str | None = None,
        tail: int | None = None,
        source: str | None = None,
        stop: Callable[[], bool] = lambda: False,
        reconnect_delay: float = 1.0,
        idle_timeout: float = 60.0,
    ) -> Iterator[LogLine]:
        """Tail the worker's log, reconnecting from the last cursor, until `stop()`."""
        cursor: str | None = None
        while not stop():
            for entry in self.read(
                worker_id,
                since=None if cursor else since,
                tail=None if cursor else tail,
                source=source,
                cursor=cursor,
                idle_timeout=idle_timeout,
            ):
                cursor = entry.cursor or cursor
                yield entry
                if stop():
                    return
            if not stop():
                self._sleep(reconnect_delay)

    def _path(self, worker_id: str) -> str:
        endpoint = path_id(self.endpoint_id, "endpoint")
        return f"/v2/serverless/{endpoint}/workers/{path_id(worker_id, 'worker')}/logs"

    def _error(self, stream: LineStream, path: str) -> ApiError:
        response = stream.read()
        code = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            detail = str(body.get("detail") or body.get("message") or body.get("error") or body)
        else:
            detail = response.text.strip()[:300]
        message = f"GET {path} -> {code}: {detail}"
        if code in (401, 403):
            return AuthError(message, status=code, hint="check RUNPOD_API_KEY")
        if code == 404:
            return NotFoundError(
                message,
                status=code,
                hint="the worker is gone (logs end with their container); list the current "
                "ones with `podkit health`",
            )
        cls = RateLimitError if code == 429 else ApiError
        return cls(message, status=code)


def _log_line(worker_id: str, event_id: str | None, data: str) -> LogLine:
    try:
        body = json.loads(data)
    except ValueError:
        body = {"line": data}
    if not isinstance(body, dict):
        body = {"line": str(body)}
    return LogLine(
        worker_id=worker_id,
        ts=str(body.get("ts", "")),
        source=str(body.get("source", "")),
        line=str(body.get("line", "")),
        cursor=event_id,
    )


def restarts(lines: Iterable[LogLine]) -> int:
    """How many times the worker's container was (re)started, from its system lines."""
    return sum(
        1
        for entry in lines
        if entry.source == "system" and any(m in entry.line.lower() for m in RESTART_MARKERS)
    )
