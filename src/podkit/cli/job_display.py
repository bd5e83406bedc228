"""A live view of one job: its state, time in the queue and on the worker, progress lines.

The client reports through `JobUpdate` callbacks; this module only renders. On a terminal a
spinner line shows the state and running clocks, and each new progress message is printed
above it. Elsewhere (CI logs) the state changes are printed as plain lines instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.text import Text

from podkit.redact import scrub_data
from podkit.runpod.job_outcome import seconds
from podkit.runpod.job_types import Job, JobStatus
from podkit.runpod.jobs import JobUpdate


def progress_text(value: Any) -> str:
    """A progress value (any JSON) as one line."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return str(value["message"])
    # Scrubbed before encoding: an escaped secret (\u00e9, \") reads as no secret.
    return json.dumps(scrub_data(value), default=str, sort_keys=True)


class JobDisplay:
    """Renders one job's updates on `console` (use as a context manager)."""

    def __init__(
        self, console: Console, label: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.console = console
        self.label = label
        self._clock = clock
        self._spinner = Spinner("dots")
        self._live: Live | None = None
        self.job: Job | None = None
        self.started = clock()
        self.running_since: float | None = None
        self.progress_lines: list[str] = []

    def __enter__(self) -> JobDisplay:
        if self.console.is_terminal:
            self._live = Live(self, console=self.console, refresh_per_second=8, transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def submitted(self, job: Job) -> None:
        """The job was queued."""
        self.job = job
        self.console.print(
            f"[dim]{escape(self.label)}: job {escape(job.id)} queued[/]", soft_wrap=True
        )

    def update(self, update: JobUpdate) -> None:
        """One poll's news: state changes and new progress messages."""
        job = update.job
        self.job = job
        if update.new_status and job.status is JobStatus.IN_PROGRESS:
            self.running_since = self._clock()
            if self._live is None:
                where = f" on worker {job.worker_id}" if job.worker_id else ""
                self.console.print(
                    f"[dim]running{escape(where)} after {self._queued()}[/]", soft_wrap=True
                )
        if update.new_progress:
            line = progress_text(update.progress)
            self.progress_lines.append(line)
            self.console.print(f"  [cyan]>[/] {escape(line)}", soft_wrap=True)

    def _queued(self) -> str:
        if self.job is not None and self.job.delay_time is not None:
            return seconds(self.job.delay_time)
        end = self.running_since or self._clock()
        return seconds((end - self.started) * 1000)

    def __rich__(self) -> RenderableType:
        status = self.job.status if self.job else "SUBMITTING"
        parts = [f"{status}", f"queued {self._queued()}"]
        if self.running_since is not None:
            parts.append(f"running {seconds((self._clock() - self.running_since) * 1000)}")
        if self.job is not None and self.job.worker_id:
            parts.append(f"worker {self.job.worker_id}")
        self._spinner.update(text=Text(" · ".join(parts), style="bold"))
        return Group(self._spinner)
