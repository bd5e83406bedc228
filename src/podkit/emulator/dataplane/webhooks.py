"""Job webhooks: when a job ends, POST its `/status` body to the job's `webhook` URL.

As the platform does: a 200 is success; otherwise up to two more attempts, `retry_s` apart
(10 s live). Deliveries run on one background thread from a bounded queue, so a slow
receiver never holds up the data plane; when the queue is full a delivery is dropped and
counted.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from podkit._http import NO_RETRY, HttpClient
from podkit.errors import TransportError

ATTEMPTS = 3


class WebhookSender:
    """Delivers status bodies to webhook URLs in the background."""

    def __init__(
        self,
        *,
        retry_s: float = 10.0,
        timeout_s: float = 10.0,
        max_pending: int = 1_000,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.retry_s = retry_s
        self.timeout_s = timeout_s
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue(max_pending)
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def send(self, url: str, body: dict[str, Any]) -> None:
        """Queue one delivery (never blocks); the sender thread starts on first use."""
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((url, body))
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        """Stop delivering; pending deliveries are abandoned."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None:
                return
            url, body = item
            try:
                delivered = self._deliver(url, body)
            except Exception:  # one delivery that cannot be made never stops the others
                delivered = False
            if delivered:
                self.delivered += 1
            else:
                self.failed += 1

    def _deliver(self, url: str, body: dict[str, Any]) -> bool:
        origin, target = _split(url)
        with HttpClient(origin, timeout=self.timeout_s, retry=NO_RETRY) as client:
            for attempt in range(ATTEMPTS):
                if attempt and self._sleep(self.retry_s):
                    return False  # closing
                try:
                    if client.request("POST", target, json=body).status_code == 200:
                        return True
                except TransportError:
                    continue
        return False


def _split(url: str) -> tuple[str, str]:
    """The URL's origin, and its path and query as given: POSTed to exactly (a client built
    on the whole URL would add a `/` to its path, or to its query)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}", f"{target}?{parts.query}" if parts.query else target
