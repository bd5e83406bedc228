"""Reliability under faults: 20% of requests on every route fail, some after committing.

The mix: 429, 5xx and dropped connections that refuse a request, plus the two commit faults
that apply a write and then lose its answer (dropped, or 5xx). Each seeded run takes the
deploy lock and applies as `podkit apply` does; then a plan without faults must find nothing
to change. Over 100 runs on REST v2 and 40 on v1: at least 99% converge, none leaves a
duplicate, and a run that fails raises a one-line PodkitError (anything else is a traceback
and fails the test). Retries and lock waits sleep through the seams, so backing off costs no
wall time. The local RunPod runs without the response recorder: re-validating thousands of
identical responses would only make this test slow. The figures are in docs/reliability.md.
`PODKIT_FAULT_SCALE=N` runs N times as many seeds (a soak; the suite runs 1).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podkit.config import Deployment
from podkit.deploy import service
from podkit.deploy.history import History
from podkit.deploy.lock import DeployLock
from podkit.emulator.server import LocalRunPod
from podkit.errors import PodkitError
from podkit.runpod import ApiKey
from tests.functional.deploy.helpers import client, load, new_key, write_config

SCALE = int(os.environ.get("PODKIT_FAULT_SCALE", "1"))  # a longer soak: PODKIT_FAULT_SCALE=5
RUNS = {"v2": 100 * SCALE, "v1": 40 * SCALE}
FAULTS = {
    "rate_429": 0.05,
    "rate_5xx": 0.04,
    "rate_drop": 0.04,
    "rate_commit_drop": 0.04,
    "rate_commit_5xx": 0.03,
}  # 20% in all


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


def apply_locked(
    rp: LocalRunPod,
    key: ApiKey,
    api: str,
    dep: Deployment,
    history: History,
    said: Callable[[str], None],
) -> None:
    """What `podkit apply --yes` does: hold the lock, read, plan, write, verify, record."""
    with client(rp.url, key, api, sleep=no_sleep) as c:
        lock = DeployLock(c, service.scope_for(dep), timeout=60, sleep=no_sleep)
        with lock.held():
            service.apply_prepared(c, service.prepare(c, dep), history, progress=said)


def plan_summary(rp: LocalRunPod, key: ApiKey, api: str, dep: Deployment) -> str:
    with client(rp.url, key, api) as c:
        return service.prepare(c, dep).plan.summary


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_applies_under_faults_converge_without_duplicates(
    runpod: LocalRunPod, tmp_path: Path, api: str
) -> None:
    deployment = load(write_config(tmp_path))
    converged, failures, recovered = 0, [], Counter[str]()

    def said(message: str) -> None:
        for phrase in ("answer was lost; adopted", "did not happen; creating it again"):
            recovered[phrase] += phrase in message

    for seed in range(RUNS[api]):
        key, history = new_key(), History(service.scope_for(deployment), tmp_path / str(seed))
        runpod.backend.faults.clear(seed=seed)
        runpod.backend.faults.add("*", **FAULTS)
        failed = False
        try:
            apply_locked(runpod, key, api, deployment, history, said)
        except PodkitError as exc:
            failed = True
            failures.append(f"seed {seed}: {exc.message}")
            assert "\n" not in exc.message, exc.message
        finally:
            runpod.backend.faults.clear(seed=seed)
        found = names(runpod, key)
        for kind, objects in found.items():
            assert len(objects) == len(set(objects)), f"seed {seed}: duplicate {kind}: {objects}"
        assert not [t for t in found["template"] if t.endswith("deploy-lock")], found
        if failed:
            continue
        if plan_summary(runpod, key, api, deployment) == "no changes":
            converged += 1
        else:
            failures.append(f"seed {seed}: applied, but the next plan has changes")
    print(f"{api}: {converged}/{RUNS[api]} converged; creates {dict(recovered)}; {failures}")
    assert converged >= RUNS[api] * 0.99, failures
