"""`podkit logs` (worker log stream) and `podkit health` (queue, workers, crash loops)."""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.markup import escape

from podkit.cli import json_out
from podkit.cli._jobs_common import (
    jobs_client,
    parse_duration,
    resolve_endpoint,
)
from podkit.cli.app import app
from podkit.cli.console import console, err_console, print_json
from podkit.cli.options import CONFIG, ENDPOINT, ENV, TARGET, duration
from podkit.config.cli_values import check_duration, check_id
from podkit.errors import ConfigError, Interrupted, NotFoundError
from podkit.redact import scrub_data
from podkit.runpod import RunPodClient, connect
from podkit.runpod.diagnose import WorkerView, crash_looping, diagnose, worker_counts
from podkit.runpod.job_target import api_key
from podkit.runpod.job_types import EndpointHealth
from podkit.runpod.worker_logs import LogLine, WorkerLogs, restarts
from podkit.runpod.worker_watch import READY_STATES, WatchResult, watch_workers

_COLORS = ("cyan", "magenta", "green", "yellow", "blue")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T")
RESTART_SCAN_WORKERS = 5
MAX_PARALLEL_READS = 8
ONE_SHOT_READ_S = 5.0


@app.command("logs")
def logs_command(
    worker: str | None = typer.Option(
        None, "--worker", "-w", callback=lambda v: check_id(v, "--worker"), help="One worker's id."
    ),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep streaming new lines."),
    since: str | None = typer.Option(
        None, "--since", help="From this long ago (10m, 1h) or an RFC 3339 time."
    ),
    tail: int | None = typer.Option(
        None, "--tail", min=0, max=5000, help="Show the last N lines of each worker."
    ),
    source: str | None = typer.Option(None, "--source", help="container or system (default both)."),
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Print worker logs from the v2 log stream (all active workers unless --worker)."""
    if as_json:
        json_out.one_per_line()  # an error or interrupt document ends the stream as a line
    if source not in (None, "container", "system"):
        raise ConfigError(f"--source {source!r} is not known", hint="use container or system")
    since_ts = since_timestamp(since)
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    with connect("v2", target=target) as client:
        worker_ids = [worker] if worker else _active_workers(client, endpoint_id)
        logs = WorkerLogs(client.http, api_key(), endpoint_id)
        lines = (
            _follow_all(logs, worker_ids, since_ts, tail, source)
            if follow
            else _read_all(logs, worker_ids, since_ts, tail, source)
        )
        colors = {wid: _COLORS[i % len(_COLORS)] for i, wid in enumerate(worker_ids)}
        try:
            for entry in lines:
                _print_line(entry, colors, as_json, multi=len(worker_ids) > 1)
        except KeyboardInterrupt:  # the usual end of --follow, still an interrupt (130)
            raise Interrupted(said=False) from None


CRASH_LOOP_EXIT = 3


@app.command("health")
def health_command(
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    observe_text: str = duration(
        "5s", "--observe", "When jobs queue and no worker is ready, watch the workers this long"
    ),
) -> None:
    """Jobs queued / in progress, workers idle / running / throttled, and what is wrong.

    Exits 3 when workers are crash-looping (they die before they are ready), so CI can gate
    on it; other findings (cold starts, a rollout in progress) leave the exit code at 0.
    """
    observe = check_duration(observe_text, "--observe") or 0.0
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    key = api_key()
    with connect("v2", target=target) as control:
        health = _queue_health(control, endpoint_id, target)
        logs = WorkerLogs(control.http, key, endpoint_id)
        workers = _workers(control, endpoint_id)
        counts: dict[str, int] = {}
        watched = WatchResult()
        last: dict[str, str] = {}
        if health.jobs.in_queue:
            counts = _restart_counts(logs, workers)
            if observe > 0 and not any(w.status.upper() in READY_STATES for w in workers):
                watched = _watch(control, endpoint_id, observe)
        unhealthy = [w.id for w in workers if w.status.upper() == "UNHEALTHY"]
        dead = list(dict.fromkeys([*watched.vanished, *unhealthy]))
        if dead:
            last = _last_words(logs, dead)
    findings = diagnose(health, workers, counts, died_young=watched.vanished, last_words=last)
    looping = crash_looping(workers, counts, watched.vanished)
    _report_health(endpoint_id, health, workers, counts, watched, findings, looping, as_json)
    if looping:
        raise typer.Exit(CRASH_LOOP_EXIT)


def _queue_health(control: RunPodClient, endpoint_id: str, target: str | None) -> EndpointHealth:
    """The queue's counters; a load-balancing endpoint has no queue, so only its worker list
    (with each worker's health state) speaks for it."""
    if getattr(control.endpoints.get(endpoint_id), "type", None) == "LOAD_BALANCER":
        return EndpointHealth()
    with jobs_client(endpoint_id, target) as client:
        return client.health()


def _report_health(
    endpoint_id: str,
    health: EndpointHealth,
    workers: list[WorkerView],
    counts: dict[str, int],
    watched: WatchResult,
    findings: list[str],
    looping: list[str],
    as_json: bool,
) -> None:
    if as_json:
        print_json(
            {
                "endpoint": endpoint_id,
                "jobs": health.jobs.model_dump(by_alias=True),
                "workers": worker_counts(health, workers),
                "worker_list": [w.__dict__ | {"restarts": counts.get(w.id)} for w in workers],
                "workers_died_young": watched.vanished,
                "findings": findings,
                "crash_loop": looping,
            }
        )
        return
    jobs = health.jobs
    console.print(f"endpoint [bold]{escape(endpoint_id)}[/]")
    console.print(
        f"jobs     queued {jobs.in_queue} · in progress {jobs.in_progress} · completed "
        f"{jobs.completed} · failed {jobs.failed} · retried {jobs.retried}"
    )
    by_state = worker_counts(health, workers)
    shown = {"idle": 0, "running": 0, "throttled": 0, **by_state}
    console.print("workers  " + " · ".join(f"{k} {v}" for k, v in shown.items()))
    for w in workers:
        up = "-" if w.uptime_seconds is None else f"{w.uptime_seconds} s"
        starts = counts.get(w.id) or 0  # container starts: the first one is no restart
        extra = f"  restarts {starts - 1}" if starts > 1 else ""
        stale = "  (older release)" if w.is_stale else ""
        console.print(f"  {escape(w.id)}  {w.status:<12} up {up}{extra}{stale}")
    for finding in findings:
        console.print(f"[bold yellow]![/] {escape(finding)}")


def since_timestamp(value: str | None) -> str | None:
    """`--since` as RFC 3339 in UTC: a duration counts back from now; a timestamp is checked
    (a date and time that exist, with Z or an offset; none means UTC) and passed on."""
    if value is None:
        return None
    text = value.strip()
    try:
        moment = _moment(text) if _RFC3339.match(text) else _ago(text)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError):
        raise ConfigError(
            f"--since {text!r} is not a time podkit can read: a date and time that exist, "
            "after the year 1",
            hint="give how long ago (10m, 2h, 7d) or an RFC 3339 time (2026-06-01T12:00:00Z)",
        ) from None


def _moment(text: str) -> datetime:
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ago(text: str) -> datetime:
    seconds = parse_duration(text, "--since") or 0.0
    return datetime.now(UTC) - timedelta(seconds=seconds)


def _workers(client: RunPodClient, endpoint_id: str) -> list[WorkerView]:
    listed = client.workers.list(endpoint_id).workers
    return [WorkerView(w.id, w.status, w.uptime_seconds, w.is_stale) for w in listed]


def _active_workers(client: RunPodClient, endpoint_id: str) -> list[str]:
    ids = [worker.id for worker in _workers(client, endpoint_id)]
    if not ids:
        raise NotFoundError(
            f"endpoint {endpoint_id} has no active workers, so there are no logs to read",
            hint="worker logs live as long as their container; start a job (`podkit run`) "
            "and read them while it runs",
        )
    return ids


def _restart_counts(logs: WorkerLogs, workers: list[WorkerView]) -> dict[str, int]:
    """Container starts per worker, from the system lines of their logs (a few, side by side)."""
    chosen = [worker.id for worker in workers[:RESTART_SCAN_WORKERS]]

    def count(worker_id: str) -> int | None:
        try:
            return restarts(logs.read(worker_id, source="system", tail=500, idle_timeout=0.5))
        except NotFoundError:
            return None  # gone since it was listed

    if not chosen:
        return {}
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        found = dict(zip(chosen, pool.map(count, chosen), strict=True))
    return {worker_id: n for worker_id, n in found.items() if n is not None}


def _watch(client: RunPodClient, endpoint_id: str, seconds: float) -> WatchResult:
    """Sample the worker list; workers that vanish before becoming ready are crash-looping."""
    err_console.print(
        f"[dim]jobs are queued and no worker is ready: watching workers for up to {seconds:g} s[/]",
        soft_wrap=True,
    )
    return watch_workers(lambda: _workers(client, endpoint_id), seconds=seconds)


def _last_words(logs: WorkerLogs, ids: list[str]) -> dict[str, str]:
    """The last line each of (at most a few) dead workers printed, if its log is still there."""
    words = {}
    for worker_id in ids[:RESTART_SCAN_WORKERS]:
        try:
            lines = list(logs.read(worker_id, tail=20, idle_timeout=0.5))
        except NotFoundError:
            continue
        said = [entry.line for entry in lines if entry.source != "system" and entry.line.strip()]
        if said:
            words[worker_id] = said[-1].strip()[:200]
    return words


def _read_all(
    logs: WorkerLogs, ids: list[str], since: str | None, tail: int | None, source: str | None
) -> Iterator[LogLine]:
    """Every worker's backlog, read side by side. Each read ends when its stream goes quiet
    or after `ONE_SHOT_READ_S` (a busy worker never goes quiet); `tail` caps what is shown,
    since live lines follow the backfill on the same stream."""

    def read(worker_id: str) -> list[LogLine]:
        found = list(
            logs.read(worker_id, since=since, tail=tail, source=source, max_wait=ONE_SHOT_READ_S)
        )
        return found if tail is None else found[len(found) - tail :]

    with ThreadPoolExecutor(max_workers=min(len(ids), MAX_PARALLEL_READS)) as pool:
        for lines in pool.map(read, ids):
            yield from lines


def _follow_all(
    logs: WorkerLogs, ids: list[str], since: str | None, tail: int | None, source: str | None
) -> Iterator[LogLine]:
    """Merge the live streams of several workers (one reader thread each)."""
    if len(ids) == 1:
        yield from logs.follow(ids[0], since=since, tail=tail, source=source)
        return
    stop = threading.Event()
    lines: queue.Queue[LogLine] = queue.Queue(maxsize=1000)

    def pump(worker_id: str) -> None:
        for entry in logs.follow(
            worker_id, since=since, tail=tail, source=source, stop=stop.is_set
        ):
            lines.put(entry)

    threads = [threading.Thread(target=pump, args=(w,), daemon=True) for w in ids]
    for thread in threads:
        thread.start()
    try:
        while True:
            yield lines.get()
    finally:
        stop.set()


def _print_line(entry: LogLine, colors: dict[str, str], as_json: bool, multi: bool) -> None:
    if as_json:
        console.out(json.dumps(scrub_data(entry.to_json()), sort_keys=True))
        return
    who = f"[{colors.get(entry.worker_id, 'white')}]{escape(entry.worker_id)}[/] " if multi else ""
    src = "[dim]sys[/] " if entry.source == "system" else ""
    # One log line per output line, however long: `podkit logs | grep` must see it whole.
    console.print(f"[dim]{escape(entry.ts)}[/] {who}{src}{escape(entry.line)}", soft_wrap=True)
