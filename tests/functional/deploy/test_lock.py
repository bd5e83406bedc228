"""The deploy lock on the local RunPod: waiting, expiry, a stale holder, unlock, lost answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.deploy import service
from podkit.deploy.lock import DeployLock, current, describe_holder, lock_name
from podkit.emulator.server import LocalRunPod
from podkit.errors import DeployError
from podkit.runpod import ApiKey
from tests.functional.deploy.helpers import (
    SCOPE,
    Clock,
    client,
    inventory,
    load,
    lock_for,
    new_key,
    write_config,
)

# A safety net, never reached by a working lock: a wait that never ends fails here in seconds
# instead of at the suite's limit (os._exit, so no spinning thread keeps the run alive).
pytestmark = pytest.mark.timeout(30, method="thread")


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_a_live_holder_makes_the_next_wait_then_time_out(
    local_runpod: LocalRunPod, api: str
) -> None:
    clock = Clock()
    with client(local_runpod.url, new_key(), api) as c:
        first, _ = lock_for(c, clock, "ci run 1")
        held = first.acquire()
        second, said = lock_for(c, clock, "laptop", timeout=30)
        with pytest.raises(DeployError) as caught:
            second.acquire()
        assert said == [
            "waiting for the deploy lock of gpu-worker/staging held by ci run 1 since "
            "1970-01-12 13:46:40 UTC"
        ]
        message = caught.value.message
        assert "gave up after 30 s" in message and "held by ci run 1" in message
        assert "`podkit unlock`" in message and "\n" not in message
        assert sum(clock.slept) == pytest.approx(30)  # waited the whole timeout, no longer
        first.release(held)
        assert second.acquire().holder == "laptop"  # free again: taken at once


def test_an_expired_lock_is_taken_over_and_its_holder_cannot_free_the_new_one(
    local_runpod: LocalRunPod,
) -> None:
    clock = Clock()
    with client(local_runpod.url, new_key()) as c:
        crashed, _ = lock_for(c, clock, "crashed run", ttl=60)
        stale = crashed.acquire()
        clock.now += 61
        taker, said = lock_for(c, clock, "next run", timeout=0)
        mine = taker.acquire()
        assert said[0].startswith("the deploy lock of gpu-worker/staging held by crashed run")
        assert "taking it over" in said[0]
        crashed.release(stale)  # the old holder wakes up: its lock is gone, not the new one
        found = current(c, SCOPE)
        assert found is not None and found.token == mine.token


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_a_renewed_lock_does_not_expire(local_runpod: LocalRunPod, api: str) -> None:
    clock = Clock()
    with client(local_runpod.url, new_key(), api) as c:
        holder, _ = lock_for(c, clock, "long deploy", ttl=60)
        info = holder.acquire()
        clock.now += 50
        holder.renew(info)
        clock.now += 50
        waiter, said = lock_for(c, clock, "other", timeout=5)
        with pytest.raises(DeployError, match="held by long deploy"):
            waiter.acquire()
        assert not any("taking it over" in s for s in said)


def test_the_heartbeat_keeps_a_held_lock_alive(local_runpod: LocalRunPod) -> None:
    with client(local_runpod.url, new_key()) as c:
        lock = DeployLock(c, SCOPE, holder="slow deploy", ttl=0.6)
        with lock.held():
            first = current(c, SCOPE)
            time.sleep(1.5)  # more than twice the lifetime: only renewals keep it
            now = current(c, SCOPE)
            assert first is not None and now is not None and now.token == first.token
            assert now.expires > first.expires  # renewed in the background
        assert current(c, SCOPE) is None


@pytest.mark.parametrize("fault", ["rate_commit_drop", "rate_commit_5xx"])
def test_a_lock_create_whose_answer_is_lost_is_read_back_as_held(
    local_runpod: LocalRunPod, fault: str
) -> None:
    local_runpod.backend.faults.add("POST /v2/templates", **{fault: 1.0})
    with client(local_runpod.url, new_key()) as c:
        lock, _ = lock_for(c, Clock(), "me")
        info = lock.acquire()
        assert info.id and current(c, SCOPE) == info
        lock.release(info)
        assert current(c, SCOPE) is None


def test_the_holder_names_the_ci_run() -> None:
    env = {
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_REPOSITORY": "acme/gpu-worker",
        "GITHUB_SERVER_URL": "https://github.com",
    }
    who = describe_holder(env)
    assert who.startswith("GitHub Actions run https://github.com/acme/gpu-worker/actions/runs/42")
    assert "attempt 2" in who and " pid " in who


@pytest.fixture
def project(
    local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, ApiKey]:
    key = new_key()
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", key.reveal())
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    return tmp_path, key


def test_cli_waits_fails_clearly_and_unlock_frees(
    local_runpod: LocalRunPod, project: tuple[Path, ApiKey], capsys: pytest.CaptureFixture[str]
) -> None:
    _, key = project
    with client(local_runpod.url, key) as c:
        DeployLock(c, SCOPE, holder="ci run 7").acquire()  # a holder that never lets go
    code = main(["apply", "--env", "staging", "--yes", "--lock-timeout", "1s"])
    err = " ".join(capsys.readouterr().err.split())  # as one line, whatever the width
    assert code == 1
    assert "waiting for the deploy lock of gpu-worker/staging held by ci run 7 since" in err
    assert "gave up after 1 s" in err and "`podkit unlock --env staging`" in err
    assert main(["unlock", "--env", "staging"]) == 1  # not expired: needs --yes
    assert "has not expired" in capsys.readouterr().err
    assert main(["unlock", "--env", "staging", "--yes", "--json"]) == 0
    freed = json.loads(capsys.readouterr().out)["freed"]
    assert [f["holder"] for f in freed] == ["ci run 7"]
    assert main(["apply", "--env", "staging", "--yes", "--lock-timeout", "1s"]) == 0
    assert main(["unlock", "--env", "staging"]) == 0
    assert "no deploy lock is held" in capsys.readouterr().out


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_the_lock_is_never_planned_and_destroy_leaves_none(
    local_runpod: LocalRunPod, project: tuple[Path, ApiKey], api: str
) -> None:
    folder, key = project
    deployment = load(folder / "podkit.toml")
    assert main(["apply", "--env", "staging", "--yes", "--api", api]) == 0
    with client(local_runpod.url, key, api) as c:
        stale = DeployLock(c, SCOPE, holder="crashed", ttl=0).acquire()  # left by a crash
        assert service.prepare(c, deployment).plan.summary == "no changes"
        names = [r.name for r in service.prepare(c, deployment).snapshot.resources]
        assert lock_name(SCOPE) not in names
    assert main(["plan", "--env", "staging", "--api", api, "--no-models"]) == 0
    assert main(["destroy", "--env", "staging", "--yes", "--volumes", "--api", api]) == 0
    left = inventory(local_runpod.url, key, api)
    assert left["volume"] == left["endpoint"] == [] and lock_name(SCOPE) not in left["template"]
    assert stale.id not in str(left)


def test_lock_timeout_takes_durations_and_refuses_anything_else(
    local_runpod: LocalRunPod, project: tuple[Path, ApiKey], capsys: pytest.CaptureFixture[str]
) -> None:
    for good in ("90s", "10m", "1h", "30"):
        assert main(["destroy", "--env", "staging", "--yes", "--lock-timeout", good]) == 0
    assert main(["destroy", "--env", "staging", "--yes", "--lock-timeout", "soon"]) == 1
    assert "--lock-timeout: 'soon' is not a duration" in capsys.readouterr().err
    assert local_runpod.backend.account(project[1].reveal()).templates == {}
