"""Fault injection: 20% of requests on every route fail (429, 5xx, dropped connection).

Over 100 seeded runs, every apply either converges or fails with a PodkitError naming what
failed, never leaves a duplicate, and a clean re-run then converges to exactly one of each.
Retries sleep through the client's sleep seam, so backing off costs no wall time. The local
RunPod here runs without the response recorder of the `local_runpod` fixture: re-validating
thousands of identical responses would only make this test slow.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podkit._http import RetryPolicy
from podkit.config import Deployment
from podkit.deploy import service
from podkit.deploy.history import History
from podkit.emulator.server import LocalRunPod
from podkit.errors import PodkitError
from podkit.runpod import ApiKey
from tests.functional.deploy.helpers import client, load, new_key, write_config

RUNS = {"v2": 100, "v1": 20}  # v1 shares the executor; fewer runs keep the suite fast


@pytest.fixture(scope="module")
def runpod() -> Iterator[LocalRunPod]:
    with LocalRunPod(seed=7) as rp:
        yield rp


def no_sleep(seconds: float) -> None:
    return None


def names(rp: LocalRunPod, key: ApiKey) -> dict[str, list[str]]:
    """Every object name on the account, read from the emulator's state (no HTTP)."""
    acc = rp.backend.account(key.reveal())
    tables = {"volume": acc.volumes, "template": acc.templates, "endpoint": acc.endpoints}
    return {kind: sorted(r["name"] for r in table.values()) for kind, table in tables.items()}


def apply_once(rp: LocalRunPod, key: ApiKey, api: str, dep: Deployment, history: History) -> None:
    with client(rp.url, key, api, sleep=no_sleep, retry=RetryPolicy(attempts=3)) as c:
        service.apply_prepared(c, service.prepare(c, dep), history)


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_faulty_routes_never_duplicate_and_always_converge(
    runpod: LocalRunPod, tmp_path: Path, api: str
) -> None:
    deployment = load(write_config(tmp_path))
    outcomes = {"converged": 0, "failed": 0}
    for seed in range(RUNS[api]):
        key, history = new_key(), History(service.scope_for(deployment), tmp_path / str(seed))
        runpod.backend.faults.clear(seed=seed)
        runpod.backend.faults.add("*", rate_429=0.08, rate_5xx=0.07, rate_drop=0.05)
        failed = False
        try:
            apply_once(runpod, key, api, deployment, history)
            outcomes["converged"] += 1
        except PodkitError as exc:
            outcomes["failed"] += 1
            failed = True
            assert exc.message.strip() and ("->" in exc.message or "failed" in exc.message)
        finally:
            runpod.backend.faults.clear(seed=seed)
        for kind, found in names(runpod, key).items():
            assert len(found) == len(set(found)), f"seed {seed}: duplicate {kind}: {found}"
        if failed:
            apply_once(runpod, key, api, deployment, history)  # a clean re-run converges
        found = names(runpod, key)
        assert (len(found["volume"]), len(found["endpoint"])) == (1, 1), f"seed {seed}: {found}"
    with client(runpod.url, key, api) as c:
        assert service.prepare(c, deployment).plan.summary == "no changes"
    assert outcomes["converged"] and outcomes["failed"], outcomes  # both paths were exercised
