"""Wake asyncio request handlers when the (thread-safe) backend changes an endpoint."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Waiters:
    """Per-endpoint futures, resolved from any thread via their own event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, set[asyncio.Future[None]]] = {}

    def wake(self, endpoint_id: str) -> None:
        """Backend listener: resolve every future waiting on this endpoint."""
        with self._lock:
            futures = self._futures.pop(endpoint_id, set())
        for future in futures:
            future.get_loop().call_soon_threadsafe(_resolve, future)

    async def wait_for(
        self, endpoint_id: str, probe: Callable[[], T | None], timeout: float
    ) -> T | None:
        """Return `probe()` once it is not None, re-probing after each change; None on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            future: asyncio.Future[None] = loop.create_future()
            with self._lock:  # register before probing so no change slips between
                self._futures.setdefault(endpoint_id, set()).add(future)
            try:
                result = probe()
                remaining = deadline - loop.time()
                if result is not None or remaining <= 0:
                    return result
                try:
                    await asyncio.wait_for(future, remaining)
                except TimeoutError:
                    return probe()
            finally:
                self._discard(endpoint_id, future)

    def _discard(self, endpoint_id: str, future: asyncio.Future[None]) -> None:
        with self._lock:
            self._futures.get(endpoint_id, set()).discard(future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
