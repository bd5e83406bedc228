"""Seeded fault injection per route: latency, 429 with Retry-After, 5xx, dropped connections,
and error answers that echo the request (its Authorization header, query and body) back.

The plain faults refuse a request before it is served. The commit faults serve it first (the
write is applied) and then lose the answer: `commit_drop` closes the connection, `commit_5xx`
answers 5xx. They reproduce the ambiguous write the platform warns about, where a client
cannot tell whether its create happened.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RouteFault:
    """Faults for requests whose `"METHOD /path"` matches `pattern` (fnmatch, `*` any)."""

    pattern: str
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    rate_commit_drop: float = 0.0
    rate_commit_5xx: float = 0.0
    latency_s: float = 0.0
    retry_after_s: int = 1
    status_5xx: int = 503
    # A 4xx status: every matching request is refused with it, the body quoting the request
    # as some servers and proxies do (0 = off). For checking that clients never print it.
    echo_status: int = 0

    def matches(self, method: str, path: str) -> bool:
        pattern = self.pattern if " " in self.pattern else f"* {self.pattern}"
        return fnmatch.fnmatchcase(f"{method} {path}", pattern)


@dataclass(frozen=True)
class Decision:
    """What to do to one request: wait `latency_s`, then `action` (None: serve it)."""

    latency_s: float = 0.0
    action: str | None = None  # "429" | "5xx" | "drop" | "commit_drop" | "commit_5xx" | "echo"
    status: int = 0
    retry_after_s: int = 0


SPEC_KEYS = {
    "429": "rate_429",
    "5xx": "rate_5xx",
    "drop": "rate_drop",
    "commit-drop": "rate_commit_drop",
    "commit-5xx": "rate_commit_5xx",
    "latency": "latency_s",
    "retry-after": "retry_after_s",
    "status": "status_5xx",
    "echo": "echo_status",
}


RATE_KEYS = ("429", "5xx", "drop", "commit-drop", "commit-5xx")


def parse_spec(spec: str) -> RouteFault:
    """`"POST /v2/*:429=0.2,5xx=0.1,commit-drop=0.05,latency=0.1"` -> RouteFault (CLI form)."""
    pattern, _, settings = spec.rpartition(":")
    if not pattern or not settings:
        raise ValueError(f"fault spec {spec!r} must look like 'POST /v2/*:429=0.2,latency=0.1'")
    fault = RouteFault(pattern=pattern.strip())
    for item in settings.split(","):
        key, _, value = item.partition("=")
        attr = SPEC_KEYS.get(key.strip())
        if attr is None or not value:
            raise ValueError(
                f"fault setting {item!r} in {spec!r}: use {', '.join(SPEC_KEYS)} as key=value"
            )
        setattr(fault, attr, _spec_value(key.strip(), value.strip(), spec))
    return fault


def _spec_value(key: str, value: str, spec: str) -> float | int:
    """One setting's number, checked: rates are probabilities, the rest non-negative."""
    whole = key in ("retry-after", "status", "echo")
    try:
        number: float | int = int(value) if whole else float(value)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"fault setting {key}={value!r} in {spec!r} must be {kind}") from None
    if key in RATE_KEYS and not 0.0 <= number <= 1.0:
        raise ValueError(
            f"fault setting {key}={value} in {spec!r} is a rate: use 0 to 1 (0.2 = 20%)"
        )
    if key == "status" and not 500 <= number <= 599:
        raise ValueError(f"fault setting status={value} in {spec!r} must be a 5xx code")
    if key == "echo" and not 400 <= number <= 499:
        raise ValueError(f"fault setting echo={value} in {spec!r} must be a 4xx code")
    if number < 0:
        raise ValueError(f"fault setting {key}={value} in {spec!r} must not be negative")
    return number


@dataclass
class FaultPlan:
    """The fault rules; the first matching rule decides. Seeded, so a test run repeats."""

    rules: list[RouteFault] = field(default_factory=list)
    seed: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, pattern: str, **settings: Any) -> RouteFault:
        """Add a rule, e.g. `plan.add("POST /v2/serverless", rate_429=1.0)`."""
        fault = RouteFault(pattern=pattern, **settings)
        with self._lock:
            self.rules.append(fault)
        return fault

    def clear(self, seed: int | None = None) -> None:
        """Drop every rule and restart the random stream."""
        with self._lock:
            self.rules.clear()
            if seed is not None:
                self.seed = seed
            self._rng = random.Random(self.seed)

    def decide(self, method: str, path: str) -> Decision:
        with self._lock:
            for fault in self.rules:
                if fault.matches(method, path):
                    return self._roll(fault)
        return Decision()

    def _roll(self, fault: RouteFault) -> Decision:
        if fault.echo_status:
            return Decision(fault.latency_s, "echo", fault.echo_status)
        draw = self._rng.random()
        for action, rate in (
            ("429", fault.rate_429),
            ("5xx", fault.rate_5xx),
            ("drop", fault.rate_drop),
            ("commit_drop", fault.rate_commit_drop),
            ("commit_5xx", fault.rate_commit_5xx),
        ):
            if draw < rate:
                status = 429 if action == "429" else fault.status_5xx
                return Decision(fault.latency_s, action, status, fault.retry_after_s)
            draw -= rate
        return Decision(latency_s=fault.latency_s)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self.seed, "rules": [asdict(r) for r in self.rules]}
