"""Shared fixtures. `local_runpod`: an in-process local RunPod on a free loopback port.

Under CI=true no test may skip for a missing dependency: `pytest.importorskip` is routed
through `tests._deps` for the session (skip locally, fail on CI, naming the install step).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from podkit.emulator.openapi.responses import response_problems
from podkit.emulator.server import LocalRunPod
from tests import _deps


def pytest_configure(config: pytest.Config) -> None:
    pytest.importorskip = _deps.importorskip  # type: ignore[assignment]


def pytest_unconfigure(config: pytest.Config) -> None:
    pytest.importorskip = _deps.ORIGINAL_IMPORTORSKIP


@pytest.fixture
def local_runpod() -> Iterator[LocalRunPod]:
    """A fresh local RunPod (`.url`, `.backend` for quota, prices, faults, quirks).

    Every response it sends is checked against the official OpenAPI documents at teardown, so
    any test that uses it also checks the emulator's responses.
    """
    with LocalRunPod(seed=1234, record=True) as runpod:
        yield runpod
    assert runpod.recorder is not None
    problems = [
        problem
        for r in runpod.recorder.responses
        for problem in response_problems(r.method, r.path, r.status, r.content_type, r.body)
    ]
    if problems:
        pytest.fail("responses that break the OpenAPI documents:\n" + "\n".join(problems))
