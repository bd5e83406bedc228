"""Seedable ids shaped like the platform's (lowercase alphanumerics of fixed length)."""

from __future__ import annotations

import random
import string
import threading

ALPHABET = string.ascii_lowercase + string.digits

# Lengths seen in the references' examples: endpoints and workers 14, templates and volumes 10,
# registry auths 25 (cuid-like).
LENGTHS = {"endpoint": 14, "template": 10, "volume": 10, "registry": 25, "release": 12}


class IdFactory:
    """Makes ids from one random stream; the same seed gives the same ids in the same order."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the stream (tests call it through `Backend.reset(seed=...)`)."""
        with self._lock:
            self._rng = random.Random(seed)

    def new(self, kind: str) -> str:
        """A fresh id for a resource kind (`endpoint`, `template`, ...)."""
        with self._lock:
            return "".join(self._rng.choice(ALPHABET) for _ in range(LENGTHS[kind]))
