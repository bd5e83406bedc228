"""Drive `sync_models` on a deployed endpoint: `/run` (results kept 30 min, for a re-attach
after hours), then poll `/status`, relaying the worker's progress updates.

Built on the shared data-plane client (`podkit.runpod.jobs.JobsClient`: poll backoff,
retries, a watch that survives network blips) and the target/key helpers; the key is never
shown. The endpoint's execution timeout comes from the v2 control plane.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from podkit._http import HttpClient
from podkit.cli._crash_watching import check_while_queued, crash_watch
from podkit.cli._jobs_common import interrupted, say
from podkit.cli.release_gate import cancel_jobs
from podkit.errors import Interrupted, JobError
from podkit.runpod.crash_watch import CrashLoopError
from podkit.runpod.job_target import api_key
from podkit.runpod.job_types import Job, JobStatus
from podkit.runpod.jobs import JobsClient, JobUpdate
from podkit.runpod.target import resolve_target

LACKS_SYNC_HINT = (
    "add podkit's built-ins to your handler: `from podkit.worker import with_builtins` and "
    'start it with `runpod.serverless.start({"handler": with_builtins(handler)})` (see '
    "docs/adopt.md), then deploy; meanwhile `podkit models sync --local DIR` syncs a local copy"
)
RESUME_HINT = (
    "re-run `podkit models sync` (verified chunks are kept) or raise the endpoint's "
    "execution timeout"
)


def run_remote(
    job_input: dict[str, Any],
    *,
    client: JobsClient,
    on_progress: Callable[[dict[str, Any]], None],
    on_submit: Callable[[Job], None] | None = None,
    timeout: float | None = None,
    on_update: Callable[[JobUpdate], None] | None = None,
) -> dict[str, Any]:
    """Submit `sync_models`, relay its progress, return the COMPLETED output (or raise).

    `timeout` bounds the wait (JobWaitTimeout; the job keeps running remotely); `on_update`
    sees every look at the job.
    """
    relay = _Relay(on_progress, on_update)
    job = client.execute(
        {"action": "sync_models", **job_input},
        on_update=relay,
        on_submit=on_submit,
        timeout=timeout,
        keep_results=True,
    )
    where = f"sync job {job.id} on endpoint {client.endpoint_id}"
    if _not_understood(job):
        raise JobError(
            f"the worker of endpoint {client.endpoint_id} lacks `sync_models` (it runs its own "
            f"handler, which answered {where.split(' on ')[0]} with something else)",
            hint=LACKS_SYNC_HINT,
        )
    if job.status is JobStatus.COMPLETED:
        return checked_report(job.output, where)
    if job.status is JobStatus.TIMED_OUT:
        raise JobError(f"{where} hit the execution timeout", hint=RESUME_HINT)
    raise JobError(
        f"{where} {job.status.value.lower()}: {job.error or ''}".rstrip(": "),
        hint="see `podkit logs` for the worker's side",
    )


class _Missing(BaseModel):
    model_config = ConfigDict(strict=True)

    path: str
    reason: str


class _PlanEntry(BaseModel):
    model_config = ConfigDict(strict=True)

    source: str
    destination: str
    current: int
    to_fetch: list[_Missing]
    bytes_to_fetch: int


class _SyncEntry(BaseModel):
    model_config = ConfigDict(strict=True)

    source: str
    destination: str
    files: int
    fetched: int
    skipped: int
    checked: int = 0
    bytes_fetched: int
    failed: dict[str, str] = {}


class _Report(BaseModel):
    status: Literal["ok", "partial", "failed", "plan"]
    entries: list[dict[str, Any]]
    message: str = ""


def checked_report(output: Any, where: str) -> dict[str, Any]:
    """The worker's report, checked for the fields podkit shows; a report of another shape
    (another podkit version, or another handler's answer) is a JobError naming the field."""
    try:
        report = _Report.model_validate(output)
        entry = _PlanEntry if report.status == "plan" else _SyncEntry
        for index, item in enumerate(report.entries):
            try:
                entry.model_validate(item)
            except ValidationError as exc:
                raise _unreadable(where, exc, f"entries.{index}.") from None
    except ValidationError as exc:
        raise _unreadable(where, exc) from None
    return dict(output)


def _unreadable(where: str, exc: ValidationError, prefix: str = "") -> JobError:
    problem = exc.errors()[0]
    at = prefix + ".".join(str(part) for part in problem["loc"])
    return JobError(
        f"{where} answered a sync report podkit cannot read: {at.strip('.') or 'the report'}: "
        f"{problem['msg']}",
        hint="deploy a worker image built with this podkit version (`podkit apply`); "
        "`podkit run sync_models --json` shows the answer whole",
    )


def _not_understood(job: Job) -> bool:
    """A worker without podkit's `sync_models`: an unknown action, or an answer of another shape."""
    if job.status is JobStatus.COMPLETED:
        return not (isinstance(job.output, dict) and "entries" in job.output)
    return job.status is JobStatus.FAILED and "unknown action 'sync_models'" in str(job.error)


class _Relay:
    """Passes on sync progress; updates arrive in any order, so older ones are dropped."""

    def __init__(
        self,
        on_progress: Callable[[dict[str, Any]], None],
        on_update: Callable[[JobUpdate], None] | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._on_update = on_update
        self._seq = 0

    def __call__(self, update: JobUpdate) -> None:
        if self._on_update is not None:
            self._on_update(update)
        progress = update.progress if update.progress is not None else update.job.output
        if update.job.status is not JobStatus.IN_PROGRESS or not isinstance(progress, dict):
            return
        seq = progress.get("seq")
        if progress.get("kind") == "sync_models" and isinstance(seq, int) and seq > self._seq:
            self._seq = seq
            self._on_progress(progress)


def sync_on_endpoint(
    job_input: dict[str, Any],
    *,
    client: JobsClient,
    target: str | None,
    on_progress: Callable[[dict[str, Any]], None],
    interactive: bool,
    display: AbstractContextManager[Any] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """`run_remote`, where Ctrl-C asks whether to cancel the remote job (as `podkit run`
    does) or, without a terminal, prints the cancel command; then exits 130.

    `display` (the progress bars) is closed before the question is asked.
    """
    submitted: list[Job] = []
    try:
        with (
            display if display is not None else nullcontext(),
            crash_watch(client, target) as watch,
        ):
            return run_remote(
                job_input,
                client=client,
                on_progress=on_progress,
                on_submit=submitted.append,
                timeout=timeout,
                on_update=lambda update: check_while_queued(watch, update),
            )
    except CrashLoopError as exc:
        job_id = submitted[-1].id if submitted else None
        if job_id is not None and cancel_jobs(client, [job_id]):
            say(f"the workers crash-loop: cancelled sync job {job_id} on {client.endpoint_id}")
        where = f"sync job {job_id} on endpoint" if job_id else "the sync on endpoint"
        raise CrashLoopError(
            f"{where} {client.endpoint_id} cannot start: {exc.message}", hint=exc.hint
        ) from None
    except KeyboardInterrupt:
        job_id = submitted[-1].id if submitted else None
        interrupted(client, job_id, target, interactive=interactive)
        raise Interrupted from None


def execution_timeout_s(
    endpoint_id: str, target: str | None, env: Mapping[str, str] | None = None
) -> float | None:
    """The endpoint's execution timeout (v2 `timeout`, ms) in seconds; None if unknown."""
    origin = resolve_target(target, env).control_v2
    headers = {"Authorization": f"Bearer {api_key(env)}"}
    with HttpClient(origin, headers=headers, timeout=30) as http:
        answer = http.request("GET", f"/v2/serverless/{endpoint_id}")
    if answer.status_code != 200:
        return None
    try:
        body = answer.json()
    except ValueError:  # not the API: the job's own calls will say so
        return None
    timeout_ms = body.get("timeout") if isinstance(body, dict) else None
    return float(timeout_ms) / 1000 if isinstance(timeout_ms, int | float) else None
