"""The gated-rollout orchestration: wait, test, roll back by itself on failure."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from podkit.errors import AuthError, DeployError, ServerError, TransportError
from podkit.smoke import Attempt, SmokeResult
from podkit.smoke.gate import RolloutState, gate

PASS = SmokeResult("gpu", Attempt("j", "COMPLETED", 1, 1), None)
FAIL = SmokeResult("gpu", Attempt("j", "FAILED", 1, 1), None, ("cold: status FAILED",))


class Steps:
    def __init__(self, states: list[RolloutState], results: Sequence[SmokeResult]) -> None:
        self.states = iter(states)
        self.results = results
        self.calls: list[str] = []
        self.now = 0.0

    def read(self) -> RolloutState:
        self.calls.append("read")
        return next(self.states)

    def test(self) -> Sequence[SmokeResult]:
        self.calls.append("test")
        return self.results

    def rollback(self) -> str:
        self.calls.append("rollback")
        return "rolled back: release v1 is live again"

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def run(self) -> object:
        return gate(
            read_rollout=self.read,
            run_tests=self.test,
            rollback=self.rollback,
            version=2,
            rollout_timeout=10,
            sleep=self.sleep,
            clock=lambda: self.now,
        )


def test_waits_for_the_new_version_then_tests_and_keeps_it() -> None:
    steps = Steps(
        [RolloutState(1, False), RolloutState(2, True, 1, 2), RolloutState(2, False, 2, 2)], [PASS]
    )
    steps.run()
    assert steps.calls == ["read", "read", "read", "test"]


def test_a_failed_smoke_test_rolls_back_and_says_what_failed() -> None:
    steps = Steps([RolloutState(2, False)], [PASS, FAIL])
    with pytest.raises(DeployError) as info:
        steps.run()
    assert steps.calls == ["read", "test", "rollback"]
    assert "1 of 2 smoke test(s) failed on release v2: gpu: cold: status FAILED" in str(info.value)
    assert "; rolled back: release v1 is live again" in str(info.value)


def test_a_rollout_that_never_finishes_rolls_back_without_testing() -> None:
    steps = Steps([RolloutState(2, True, 0, 1)] * 20, [PASS])
    with pytest.raises(DeployError, match="did not roll out within 10 s"):
        steps.run()
    assert steps.calls[-1] == "rollback" and "test" not in steps.calls


class Failing(Steps):
    """Steps whose rollout read or smoke run raises instead of answering."""

    def __init__(self, stage: str, error: Exception) -> None:
        super().__init__([RolloutState(2, False)], [PASS])
        self.stage, self.error = stage, error

    def read(self) -> RolloutState:
        state = super().read()
        if self.stage == "read":
            raise self.error
        return state

    def test(self) -> Sequence[SmokeResult]:
        super().test()
        if self.stage == "test":
            raise self.error
        return self.results


@pytest.mark.parametrize(
    ("stage", "error", "said"),
    [
        ("test", ServerError("POST /v2/ep/runsync failed (500): boom"),
         "could not verify release v2: POST /v2/ep/runsync failed (500): boom"),
        ("test", AuthError("POST /v2/ep/runsync was refused (401)"),
         "could not verify release v2: POST /v2/ep/runsync was refused (401)"),
        ("read", TransportError("GET /v2/serverless/ep/releases failed: ReadTimeout"),
         "could not verify its rollout: GET /v2/serverless/ep/releases failed: ReadTimeout"),
    ],
)  # fmt: skip
def test_a_step_that_fails_outright_leaves_the_release_unverified_and_rolls_back(
    stage: str, error: Exception, said: str
) -> None:
    """A smoke test that could not even be sent had kept the new release live, untested."""
    steps = Failing(stage, error)
    with pytest.raises(DeployError) as info:
        steps.run()
    assert steps.calls[-1] == "rollback"
    assert info.value.message == f"{said}; rolled back: release v1 is live again"
