"""Gated rollout: wait for the new release on the workers, smoke-test it, roll back on failure.

The deployer calls `gate` after a successful apply. The steps are injected as functions so
the orchestration is plain and the deployer keeps owning rollback:

1. `read_rollout()` until the endpoint reports the applied version and no worker is left on
   an older one (v2 `releases.rollout`). With no workers at all the release counts as rolled
   out: every new worker starts on it.
2. `run_tests()`: the `[[smoke]]` tests against the endpoint.
3. On a failed test, a rollout that never finishes, workers that crash-loop (either step
   raises `CrashLoopError`), or a step that fails outright (the API or the data plane
   refuses, a job cannot be sent: the release is unverified): `rollback()`, then a
   `DeployError` naming what failed and where the endpoint stands now.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from podkit.errors import DeployError, PodkitError
from podkit.runpod.crash_watch import CrashLoopError
from podkit.smoke.runner import SmokeResult


@dataclass(frozen=True)
class RolloutState:
    """The rollout as `GET /v2/serverless/{id}/releases` reports it."""

    endpoint_version: int | None
    in_progress: bool
    workers_on_latest: int = 0
    workers_total: int = 0

    def done(self, version: int | None) -> bool:
        """True once `version` (if known) is current and no worker runs an older one."""
        current = version is None or (
            self.endpoint_version is not None and self.endpoint_version >= version
        )
        return current and not self.in_progress


@dataclass(frozen=True)
class GateResult:
    """A gate that passed: the rollout it saw and the smoke results."""

    rollout: RolloutState
    results: Sequence[SmokeResult]


def wait_for_rollout(
    read_rollout: Callable[[], RolloutState],
    *,
    version: int | None,
    timeout: float,
    interval: float = 0.5,
    max_interval: float = 5.0,
    on_wait: Callable[[RolloutState], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RolloutState:
    """Poll the rollout (backing off from `interval` to `max_interval`) until it is done;
    `DeployError` after `timeout` seconds."""
    deadline = clock() + timeout
    while True:
        state = read_rollout()
        if state.done(version):
            return state
        if on_wait is not None:
            on_wait(state)
        if clock() >= deadline:
            raise DeployError(
                f"release v{version} did not roll out within {timeout:g} s: "
                f"{state.workers_on_latest} of {state.workers_total} worker(s) on it, endpoint "
                f"at v{state.endpoint_version}",
                hint="workers may be crash-looping on the new image; see `podkit health`",
            )
        sleep(interval)
        interval = min(max_interval, interval * 1.5)


def gate(
    *,
    read_rollout: Callable[[], RolloutState],
    run_tests: Callable[[], Sequence[SmokeResult]],
    rollback: Callable[[], str],
    version: int | None,
    rollout_timeout: float,
    on_wait: Callable[[RolloutState], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> GateResult:
    """Wait, test, and roll back by itself on failure (see the module docstring).

    `rollback()` returns what it did, as a phrase ("rolled back to ...", "nothing rolled
    back: ..."); it raises a PodkitError when it tried and failed.
    """
    try:
        state = wait_for_rollout(
            read_rollout,
            version=version,
            timeout=rollout_timeout,
            on_wait=on_wait,
            sleep=sleep,
            clock=clock,
        )
    except CrashLoopError as exc:
        raise _rolled_back(exc.message, rollback) from exc
    except PodkitError as exc:  # a release that cannot be followed is not a verified one
        raise _rolled_back(_unverified("its rollout", exc), rollback) from exc
    try:
        results = run_tests()
    except CrashLoopError as exc:
        raise _rolled_back(exc.message, rollback) from exc
    except PodkitError as exc:  # a smoke test that cannot run has not passed
        raise _rolled_back(_unverified(f"release v{version}", exc), rollback) from exc
    failed = [result for result in results if not result.passed]
    if failed:
        what = "; ".join(f"{r.name}: {r.failures[0]}" for r in failed)
        raise _rolled_back(
            f"{len(failed)} of {len(results)} smoke test(s) failed on release v{version}: {what}",
            rollback,
        )
    return GateResult(state, results)


def _unverified(what: str, exc: PodkitError) -> str:
    if isinstance(exc, DeployError):
        return exc.message  # the gate's own words (a rollout past its timeout)
    return f"could not verify {what}: {exc.message}"


def _rolled_back(reason: str, rollback: Callable[[], str]) -> DeployError:
    try:
        now = rollback()
    except PodkitError as exc:
        return DeployError(
            f"{reason}; the automatic rollback failed too: {exc.message}",
            hint="run `podkit rollback` by hand, then check `podkit status`",
        )
    return DeployError(
        f"{reason}; {now}",
        hint="fix the release (see `podkit logs` and the smoke table above) and apply again",
    )
