"""Follow the workers of a new release while podkit waits on it, and notice a crash loop.

`podkit apply --wait` waits for a rollout and then for a cold smoke call; neither ends by
itself when the new workers die at start (no worker counts as rolled out, and the smoke job
just sits IN_QUEUE). This watch samples the worker list in the background with the same
rule `podkit health` uses (`diagnose.crash_looping`): a worker listed UNHEALTHY, or workers
that vanish before they were ever ready. Workers of an older release are left out: they go
away on purpose during a rollout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from podkit.errors import DeployError, PodkitError
from podkit.runpod.worker_watch import READY_STATES


class CrashLoopError(DeployError):
    """The workers of a release keep dying before they are ready."""


@dataclass(frozen=True)
class SeenWorker:
    """One worker as the watch needs it."""

    id: str
    status: str
    version: int | None = None
    is_stale: bool = False


class CrashWatch:
    """A background look at the worker list every `interval` seconds (see the module doc).

    `last_lines(worker_id)` returns what a dead worker printed last (may be empty);
    `on_crash()` runs once, from the watch thread, when the loop is found (e.g. to cancel
    the jobs that wait for a worker that never comes).
    """

    def __init__(
        self,
        list_workers: Callable[[], Sequence[SeenWorker]],
        last_lines: Callable[[str], list[str]],
        *,
        version: int | None,
        on_crash: Callable[[], object] = lambda: None,
        interval: float = 1.0,
        enough: int = 2,
    ) -> None:
        self._list = list_workers
        self._last_lines = last_lines
        self._version = version
        self._on_crash = on_crash
        self._interval = interval
        self._enough = enough
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crash-watch", daemon=True)
        self._ready: set[str] = set()
        self._live: set[str] = set()
        self._ignored: set[str] = set()
        self.dead: list[str] = []
        self.finding: str | None = None

    def __enter__(self) -> CrashWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def stop(self) -> None:
        """Look no more (the jobs run: their workers started); the thread ends on its own."""
        self._stop.set()

    def check(self) -> None:
        """Raise `CrashLoopError` once the watch has found a crash loop."""
        if self.finding is not None:
            raise CrashLoopError(
                self.finding,
                hint="read `podkit logs` / `podkit health`, fix the image or its settings",
            )

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                workers = list(self._list())
            except PodkitError:
                continue  # a missed look; the next one decides
            if self.look(workers):
                self._on_crash()
                return

    def look(self, workers: Sequence[SeenWorker]) -> bool:
        """Take one sample of the worker list; True once a crash loop is found."""
        current: set[str] = set()
        for worker in workers:
            if worker.is_stale or (
                self._version is not None
                and worker.version is not None
                and worker.version < self._version
            ):
                self._ignored.add(worker.id)
                continue
            current.add(worker.id)
            status = worker.status.upper()
            if status in READY_STATES:
                self._ready.add(worker.id)
            elif status == "UNHEALTHY" and worker.id not in self.dead:
                self.dead.append(worker.id)
        for gone in sorted(self._live - current - self._ready - self._ignored):
            if gone not in self.dead:
                self.dead.append(gone)
        self._live = current
        listed_dead = any(w.status.upper() == "UNHEALTHY" for w in workers if w.id in current)
        if not (listed_dead or len(self.dead) >= self._enough):
            return False
        self.finding = self._describe()
        return True

    def _describe(self) -> str:
        release = f"release v{self._version}" if self._version is not None else "the release"
        where = ", ".join(self.dead[:3])
        said = next((lines for w in self.dead[:3] if (lines := self._last_lines(w))), [])
        quoted = " | ".join(line.strip()[:200] for line in said[-3:])
        tail = f"; its last lines: {quoted}" if quoted else ""
        return f"the workers of {release} crash-loop: {where} exited before they were ready{tail}"
