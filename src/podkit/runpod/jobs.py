"""The serverless data-plane client: run jobs, watch them, fetch their results.

`JobsClient.execute` runs a job of any length: it submits through `/runsync` with a short
server-side wait (`SUBMIT_WAIT_S`), so a short job comes back in that one request, the moment it
ends; a job still running then is followed by `/status` polling, never by a long `/runsync`
(which gives up after at most 300 s). Polling backs off while nothing changes and never waits
longer than `PollPolicy.maximum`, so results are fetched well inside the retention window
(1 min after a runsync job ends); `execute(keep_results=True)` and `run` submit through
`/run` (results kept 30 min) for hours-long jobs and jobs nobody watches. Progress
(`progress_update` on the worker) arrives as the `output` of an IN_PROGRESS status and is
handed to a callback; only the CLI renders it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from podkit._http import BaseTransport, HttpClient, Response, RetryPolicy
from podkit.errors import (
    ApiError,
    AuthError,
    InvalidRequestError,
    JobError,
    JobExpiredError,
    JobWaitTimeout,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from podkit.redact import public_url, register
from podkit.runpod._base import M, parse_response
from podkit.runpod.credentials import redact
from podkit.runpod.job_target import dataplane_url
from podkit.runpod.job_types import EndpointHealth, Job, JobPolicy, StreamChunk
from podkit.runpod.types._common import is_object_id, shown_id

RUN_RETENTION_S = 30 * 60
RUNSYNC_RETENTION_S = 60
RUNSYNC_WAIT_RANGE_MS = (1_000, 300_000)
RUNSYNC_DEFAULT_WAIT_S = 90.0
# How long `execute` lets the server hold its submit: the shortest wait runsync accepts, so a
# job's first progress shows within a second.
SUBMIT_WAIT_S = 1.0
# What the platform answers a job sent to a load-balancing endpoint ("not allowed for LB API").
LB_REFUSAL = "lb api"


@dataclass(frozen=True)
class PollPolicy:
    """How `/status` polling backs off: from `initial` by `factor` up to `maximum` seconds.

    A short first interval catches quick jobs; whenever the job changes (new state or
    progress) the interval drops back to `on_change`, so a job that reports progress is
    followed closely and a quiet one costs few requests. The 2 s ceiling keeps the start of a
    short job that waited long in the queue in view (its progress would otherwise be over
    before the next look) at a small fraction of /status's 2,000 requests per 10 s.
    """

    initial: float = 0.25
    factor: float = 1.5
    maximum: float = 2.0
    on_change: float = 1.0
    # Polls that fail even after the HTTP client's own retries before podkit gives up
    # watching (the job itself is unaffected).
    max_misses: int = 5

    def after(self, interval: float, changed: bool) -> float:
        """The next interval after one poll."""
        if changed:
            return min(self.on_change, self.maximum)
        return min(self.maximum, interval * self.factor)


@dataclass(frozen=True)
class JobUpdate:
    """What a poll saw: the job, seconds since watching began, and any new progress."""

    job: Job
    elapsed: float
    progress: Any = None
    new_progress: bool = False
    new_status: bool = False


ProgressCallback = Callable[[JobUpdate], None]


class JobsClient:
    """One endpoint's data plane (`{base}/{endpoint_id}/run|runsync|status/...`).

    The API key goes into the Authorization header only; no message of this client
    ever contains it.
    """

    def __init__(
        self,
        endpoint_id: str,
        *,
        api_key: str,
        base_url: str | None = None,
        transport: BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll: PollPolicy = PollPolicy(),
        retry: RetryPolicy | None = None,
        http: HttpClient | None = None,
        key_source: str = "RUNPOD_API_KEY",
    ) -> None:
        self.endpoint_id = endpoint_id
        self.key_source = key_source  # where the key came from, named in 401/403 hints
        self.base_url = (base_url or dataplane_url()).rstrip("/")
        self._api_key = api_key
        register(api_key)
        self.poll = poll
        self._sleep = sleep
        self._clock = clock
        self._http = http or HttpClient(
            self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            transport=transport,
            sleep=sleep,
            retry=retry or RetryPolicy(),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JobsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- single operations -------------------------------------------------------------

    def run(
        self,
        job_input: Any,
        *,
        policy: JobPolicy | None = None,
        webhook: str | None = None,
    ) -> Job:
        """Queue a job (`POST /run`); returns at once with its id, IN_QUEUE."""
        body = _request_body(job_input, policy, webhook)
        return self._parse(Job, self._call("POST", "/run", json=body))

    def runsync(
        self,
        job_input: Any,
        *,
        wait: float | None = None,
        policy: JobPolicy | None = None,
    ) -> Job:
        """Run a job and wait server-side (`POST /runsync?wait=`), 90 s unless `wait` says.

        The result may be unfinished (IN_QUEUE / IN_PROGRESS) when the wait ends; follow it
        with `wait(job.id)` within a minute, or better, use `execute` for long jobs.
        """
        params: dict[str, Any] = {}
        if wait is not None:
            low, high = RUNSYNC_WAIT_RANGE_MS
            params["wait"] = max(low, min(high, int(wait * 1000)))
        http_timeout = (params.get("wait", RUNSYNC_DEFAULT_WAIT_S * 1000) / 1000) + 30
        body = _request_body(job_input, policy, None)
        data = self._call("POST", "/runsync", json=body, params=params, timeout=http_timeout)
        return self._parse(Job, data)

    def status(self, job_id: str) -> Job:
        """The job's current state (`GET /status/{id}`); 404 -> `JobExpiredError`."""
        try:
            return self._parse(Job, self._call("GET", f"/status/{_segment(job_id, 'job')}"))
        except NotFoundError as exc:
            raise self._expired(job_id) from exc

    def stream(self, job_id: str) -> StreamChunk:
        """One `/stream/{id}` poll: the state and the chunks produced since the last one."""
        try:
            return self._parse(StreamChunk, self._call("GET", f"/stream/{_segment(job_id, 'job')}"))
        except NotFoundError as exc:
            raise self._expired(job_id) from exc

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (`POST /cancel/{id}`)."""
        data = self._call("POST", f"/cancel/{_segment(job_id, 'job')}")
        data.setdefault("id", job_id)
        return self._parse(Job, data)

    def retry(self, job_id: str) -> Job:
        """Queue a FAILED or TIMED_OUT job again under the same id (`POST /retry/{id}`)."""
        data = self._call(
            "POST",
            f"/retry/{_segment(job_id, 'job')}",
            hint="only FAILED or TIMED_OUT jobs can be retried, and only before their "
            "results expire (30 min after /run)",
        )
        data.setdefault("id", job_id)
        return self._parse(Job, data)

    def health(self) -> EndpointHealth:
        """Job counters and worker counts (`GET /health`)."""
        data = self._call("GET", "/health")
        if not (isinstance(data.get("jobs"), dict) and isinstance(data.get("workers"), dict)):
            raise self._unlike("GET", "/health", 'no "jobs" and "workers" counters')
        return self._parse(EndpointHealth, data)

    def purge_queue(self) -> int:
        """Remove every queued job (`POST /purge-queue`); returns how many were removed."""
        removed = self._call("POST", "/purge-queue").get("removed")
        if not isinstance(removed, int) or isinstance(removed, bool) or removed < 0:
            raise self._unlike("POST", "/purge-queue", 'no count of jobs "removed"')
        return removed

    def _unlike(self, method: str, path: str, lacking: str) -> ServerError:
        """A 2xx answer without what the data plane always sends."""
        return ServerError(
            f"{method} {public_url(self.base_url)}/{self.endpoint_id}{path} answered with "
            f"{lacking}",
            method=method,
            url=path,
            hint="the target may not be a RunPod API (a proxy's or a login page?); check --target",
        )

    # -- long jobs -----------------------------------------------------------------------

    def execute(
        self,
        job_input: Any,
        *,
        policy: JobPolicy | None = None,
        timeout: float | None = None,
        on_update: ProgressCallback | None = None,
        on_submit: Callable[[Job], None] | None = None,
        keep_results: bool = False,
    ) -> Job:
        """Run a job of any length: `/runsync` with a short wait, then `/status` polling.

        A job that ends within `SUBMIT_WAIT_S` costs one request; a longer one costs no more
        than `/run` plus polling would, as the submit stands in for the first polls.
        `keep_results` submits through `/run` instead, whose results stay 30 min rather than
        1 min after the end: for hours-long jobs that someone may re-attach to later.
        """
        started = self._clock()
        if keep_results:
            job = self.run(job_input, policy=policy)
        else:
            job = self.runsync(job_input, wait=SUBMIT_WAIT_S, policy=policy)
        if on_submit is not None:
            on_submit(job)
        left = None if timeout is None else max(0.0, timeout - (self._clock() - started))
        try:
            return self.wait(job.id, timeout=left, on_update=on_update, first=job)
        except JobWaitTimeout as exc:
            if timeout is None or left == timeout:
                raise
            raise self._gave_up(job.id, exc.status, timeout) from None

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_update: ProgressCallback | None = None,
        first: Job | None = None,
    ) -> Job:
        """Poll `/status` with backoff until the job is final; returns it (any final state).

        Raises `JobWaitTimeout` when `timeout` seconds pass first (the job keeps running
        remotely) and `JobExpiredError` when the job disappears (TTL or retention).
        """
        started = self._clock()
        watch = _Watch()
        interval = self.poll.initial
        polled = False
        misses = 0
        job = first or self.status(job_id)
        while True:
            update = watch.see(job, self._clock() - started)
            if on_update is not None:
                on_update(update)
            if job.terminal:
                return job
            remaining = None if timeout is None else timeout - update.elapsed
            if remaining is not None and remaining <= 0:
                raise self._gave_up(job.id, str(job.status), timeout or 0.0)
            if polled:  # the first look comes after `initial`, whatever the job says
                interval = self.poll.after(interval, update.new_status or update.new_progress)
            polled = True
            self._sleep(interval if remaining is None else min(interval, remaining))
            job, misses = self._poll(job, misses)

    def _poll(self, last: Job, misses: int) -> tuple[Job, int]:
        """One `/status` look; a failed look (network, 5xx, 429) keeps the last state until
        `max_misses` in a row, so a long watch survives a network blip."""
        try:
            return self.status(last.id), 0
        except (TransportError, ServerError, RateLimitError) as exc:
            if misses + 1 >= self.poll.max_misses:
                raise JobError(
                    f"lost contact with job {last.id} on endpoint {self.endpoint_id} after "
                    f"{misses + 1} failed status polls: {exc.message}",
                    hint="the job keeps running; follow it again with "
                    f"`podkit job wait {last.id} --endpoint {self.endpoint_id}`",
                ) from exc
            return last, misses + 1

    def iter_stream(self, job_id: str, *, timeout: float | None = None) -> Iterator[Any]:
        """Yield a generator job's chunks as they arrive, until it is final and drained."""
        started = self._clock()
        interval = self.poll.initial
        while True:
            chunk = self.stream(job_id)
            outputs = chunk.outputs()
            yield from outputs
            if chunk.status.terminal and not outputs:
                return
            if timeout is not None and self._clock() - started >= timeout:
                raise self._gave_up(job_id, str(chunk.status), timeout)
            interval = self.poll.after(interval, bool(outputs))
            self._sleep(interval)

    # -- internals -----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        hint: str | None = None,
    ) -> dict[str, Any]:
        full = f"/{_segment(self.endpoint_id, 'endpoint')}{path}"
        response = self._http.request(method, full, json=json, params=params, timeout=timeout)
        if not response.is_success:
            raise self._error(response, method, full, hint)
        try:
            data = response.json() if response.content else {}
        except ValueError:
            raise ServerError(
                f"{method} {public_url(self.base_url)}{full} answered {response.status_code} "
                "with a body that is not JSON",
                status=response.status_code,
                method=method,
                url=full,
                hint="the target may not be a RunPod API (a proxy's or a login page?); "
                "check --target",
            ) from None
        return data if isinstance(data, dict) else {"output": data}

    def _parse(self, model: type[M], data: dict[str, Any]) -> M:
        return parse_response(model, data, f"endpoint {self.endpoint_id}")

    def _auth_hint(self, code: int) -> str:
        if code == 401:
            return f"the API key from {self.key_source} is missing or not valid; set a valid one"
        return (
            f"the API key from {self.key_source} is valid but may not do this on endpoint "
            f"{self.endpoint_id}; use a key with read/write access to it"
        )

    def _error(self, response: Response, method: str, path: str, hint: str | None) -> ApiError:
        code = response.status_code
        where = f"{method} {public_url(self.base_url)}{path}"
        # Error bodies may echo the request (its Authorization header, query or body).
        detail = redact(_server_message(response), [self._api_key])
        suffix = f": {detail}" if detail else ""
        if code in (401, 403):
            return AuthError(
                f"{where} was refused ({code}){suffix}",
                status=code,
                method=method,
                url=where,
                hint=self._auth_hint(code),
            )
        if code == 400 and LB_REFUSAL in detail.casefold():
            return self._not_a_queue(where, detail)
        if code == 404:
            return NotFoundError(
                f"{where} found nothing (404){suffix}",
                status=code,
                method=method,
                url=where,
                hint=hint or f"check the endpoint id {self.endpoint_id!r} and the target",
            )
        cls = RateLimitError if code == 429 else ServerError if code >= 500 else ApiError
        return cls(
            f"{where} failed ({code}){suffix}",
            status=code,
            method=method,
            url=where,
            hint=hint or ("slow down, or retry later" if code == 429 else None),
        )

    def _not_a_queue(self, where: str, detail: str) -> InvalidRequestError:
        return InvalidRequestError(
            f"endpoint {self.endpoint_id} is a load-balancing endpoint: it takes HTTP requests "
            f"on its worker's own paths, not jobs ({where} answered 400: {detail})",
            status=400,
            url=where,
            hint=f"send it a request with `podkit request METHOD PATH --endpoint "
            f"{self.endpoint_id}` (e.g. `podkit request POST /predict -d '{{...}}'`); "
            "`podkit run` and `podkit job` are for queue endpoints",
        )

    def _expired(self, job_id: str) -> JobExpiredError:
        return JobExpiredError(
            f"job {job_id} is not on endpoint {self.endpoint_id} (404): the id is mistyped or "
            "belongs to another endpoint, or the job outlived its TTL (policy.ttl, default "
            "24 h, deleted even mid-run) or its results passed the retention window (30 min "
            "after /run, 1 min after /runsync)",
            hint="check the job id and --endpoint; for a job that expired, raise the job TTL "
            "(podkit run --ttl, up to 7 days) and fetch results while they are kept; "
            "`podkit run` polls for you",
        )

    def _gave_up(self, job_id: str, status: str, timeout: float) -> JobWaitTimeout:
        waited = f"{timeout:.0f}" if timeout >= 10 or timeout == int(timeout) else f"{timeout:.1f}"
        return JobWaitTimeout(
            f"job {job_id} is still {status} on endpoint {self.endpoint_id} after "
            f"{waited} s of waiting; it keeps running remotely",
            job_id=job_id,
            status=status,
            hint=f"follow it with `podkit job wait {job_id} --endpoint {self.endpoint_id}` "
            f"or cancel it with `podkit job cancel {job_id} --endpoint {self.endpoint_id}`",
        )


class _Watch:
    """Remembers the last state and progress value so each update reports only news."""

    _UNSET: Any = object()

    def __init__(self) -> None:
        self.status: Any = None
        self.progress: Any = self._UNSET

    def see(self, job: Job, elapsed: float) -> JobUpdate:
        new_status = job.status != self.status
        self.status = job.status
        progress: Any = None
        new_progress = False
        if job.status == "IN_PROGRESS" and job.output is not None and job.output != self.progress:
            progress = job.output
            new_progress = True
            self.progress = job.output
        return JobUpdate(job, elapsed, progress, new_progress, new_status)


def _request_body(job_input: Any, policy: JobPolicy | None, webhook: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"input": job_input}
    if policy is not None and policy.to_wire():
        body["policy"] = policy.to_wire()
    if webhook:
        body["webhook"] = webhook
    return body


def _server_message(response: Response) -> str:
    """The server's own words from an error body (data plane, v2 problem+json or v1)."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(data, dict):
        for key in ("error", "message", "detail", "title"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    return str(data)[:300]


def _segment(value: str, what: str) -> str:
    """An id as one URL path segment; anything else ('..', '/') is refused unsent."""
    if not is_object_id(value):
        raise JobError(
            f"{what} {shown_id(value)} is not an id (ids are letters, digits, '-' and '_'); "
            "no request was sent",
            hint=f"check the {what} id (an answer of the API that named it may be corrupt)",
        )
    return value
