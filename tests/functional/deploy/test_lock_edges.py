"""The deploy lock's edges on the local RunPod: expiry to the second, back-off, twins, lost
answers, refusals, release and heartbeat failures, and who a holder says it is.

Time runs on a `Clock` that moves only when the lock sleeps; where a test must change the
account between two of the lock's requests, a real transport runs a step before sending.
"""

from __future__ import annotations

import copy
import getpass
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from podkit._http import NO_RETRY
from podkit.deploy.lock import (
    MAX_CHURN,
    DeployLock,
    _Heartbeat,
    current,
    describe_holder,
    lock_name,
    unlock,
    when,
)
from podkit.deploy.lock_process import process_mark
from podkit.deploy.model import Scope
from podkit.emulator.server import LocalRunPod
from podkit.errors import DeployError
from podkit.runpod import ApiKey, RunPodClient
from podkit.runpod.types import v2 as t2
from tests.functional.deploy.helpers import SCOPE, Clock, client, lock_for, new_key

# A safety net, never reached by a working lock: a wait that never ends fails here in seconds
# instead of at the suite's limit (os._exit, so no spinning thread keeps the run alive).
pytestmark = pytest.mark.timeout(30, method="thread")

T0 = "1970-01-12 13:46:40 UTC"  # Clock()'s start
NAME = "pk-gpu-worker-staging-deploy-lock"


class Stepping(httpx.HTTPTransport):
    """A real HTTP transport that calls `step(method, path)` before sending each request."""

    def __init__(self, step: Callable[[str, str], None]) -> None:
        super().__init__()
        self.step = step
        self.sent: list[str] = []
        self.created: list[dict[str, object]] = []  # the bodies of template creates

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        if request.method == "POST" and request.url.path.endswith("/templates"):
            self.created.append(json.loads(request.read()))
        self.step(request.method, request.url.path)
        return super().handle_request(request)


def no_sleep(seconds: float) -> None:
    """The HTTP client's retry sleep: backing off costs no time here."""


@pytest.fixture
def key() -> ApiKey:
    return new_key()


@pytest.fixture
def c(local_runpod: LocalRunPod, key: ApiKey) -> Iterator[RunPodClient]:
    with client(local_runpod.url, key) as api:
        yield api


def stepping(
    rp: LocalRunPod, key: ApiKey, step: Callable[[str, str], None], api: str = "v2"
) -> tuple[RunPodClient, Stepping]:
    transport = Stepping(step)
    seams = {"transport": transport, "sleep": no_sleep, "retry": NO_RETRY}
    return client(rp.url, key, api, **seams), transport


def lock_templates(rp: LocalRunPod, key: ApiKey) -> dict[str, dict[str, object]]:
    return {
        tid: t for tid, t in rp.backend.account(key.reveal()).templates.items() if t["name"] == NAME
    }


def add_twin(rp: LocalRunPod, key: ApiKey, holder: str, since: float, tid: str) -> None:
    """A second lock template of the same name, as a platform that let two creates through."""
    [original] = lock_templates(rp, key).values()
    twin = copy.deepcopy(original)
    env = twin["env"]
    assert isinstance(env, dict)
    env.update(
        PODKIT_LOCK_HOLDER=holder,
        PODKIT_LOCK_SINCE=str(since),
        PODKIT_LOCK_EXPIRES=str(since + 3600),
        PODKIT_LOCK_NONCE=f"nonce-{holder}",
    )
    twin["id"] = tid
    rp.backend.account(key.reveal()).templates[tid] = twin


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_the_lock_is_one_inert_template_with_its_holder_and_times(
    local_runpod: LocalRunPod, key: ApiKey, api: str
) -> None:
    clock = Clock(1_000_000.123456)
    api_client, transport = stepping(local_runpod, key, lambda method, path: None, api)
    with api_client:
        info = lock_for(api_client, clock, "ci run 3")[0].acquire()
    [sent] = transport.created  # said outright, whatever the platform's defaults
    if api == "v1":
        assert sent["isServerless"] is False
    else:
        assert sent["startSsh"] is False and sent["startJupyter"] is False
    assert lock_name(SCOPE) == NAME
    [template] = lock_templates(local_runpod, key).values()
    assert template["image"] == "podkit/deploy-lock" and template["serverless"] is False
    if api == "v2":
        assert template["startSsh"] is False and template["startJupyter"] is False
    assert template["env"] == {
        "PODKIT_LOCK": "gpu-worker/staging",
        "PODKIT_LOCK_HOLDER": "ci run 3",
        "PODKIT_LOCK_SINCE": "1000000.123",
        "PODKIT_LOCK_EXPIRES": "1000600.123",  # ten minutes unless told otherwise
        "PODKIT_LOCK_NONCE": info.token,
    } | ({"PODKIT_LOCK_PROCESS": mark} if (mark := process_mark()) else {})  # who, on Linux
    assert info.id == template["id"] and len(info.token) == 16
    assert info.expires - info.since == 600


def test_a_lock_expires_at_its_expiry_to_the_second(c: RunPodClient) -> None:
    clock = Clock()
    lock_for(c, clock, "crashed run", ttl=60)[0].acquire()
    clock.now += 59.999
    early, said = lock_for(c, clock, "next run", timeout=0)
    with pytest.raises(DeployError, match="held by crashed run"):
        early.acquire()
    assert clock.slept == [] and not any("taking it over" in s for s in said)
    clock.now += 0.001
    taker, said = lock_for(c, clock, "next run", timeout=0)
    assert taker.acquire().holder == "next run"
    assert said == [
        "the deploy lock of gpu-worker/staging held by crashed run expired at "
        "1970-01-12 13:47:40 UTC; taking it over"
    ]
    found = current(c, SCOPE)
    assert found is not None and found.holder == "next run"


def test_a_waiter_backs_off_doubling_to_ten_seconds_and_stops_at_the_deadline(
    c: RunPodClient,
) -> None:
    clock = Clock()
    lock_for(c, clock, "ci run 1")[0].acquire()
    waiter, said = lock_for(c, clock, "laptop", timeout=40)
    with pytest.raises(DeployError) as caught:
        waiter.acquire()
    assert clock.slept == [0.5, 1, 2, 4, 8, 10, 10, 4.5]
    assert said == [
        f"waiting for the deploy lock of gpu-worker/staging held by ci run 1 since {T0}"
    ]
    assert caught.value.message == (
        "gave up after 40 s waiting for the deploy lock of gpu-worker/staging held by ci run 1 "
        f"since {T0}; if that deploy is dead, free the lock with `podkit unlock`"
    )
    assert caught.value.hint == (
        "or wait longer (--lock-timeout); the lock expires by itself at 1970-01-12 13:56:40 UTC "
        "unless its holder is still running"
    )


def test_a_waiter_gives_up_after_fifteen_minutes_unless_told(c: RunPodClient) -> None:
    clock = Clock()
    lock_for(c, clock, "long deploy", ttl=3600)[0].acquire()
    waiter, _ = lock_for(c, clock, "laptop")
    with pytest.raises(DeployError, match="gave up after 900 s"):
        waiter.acquire()
    assert sum(clock.slept) == 900


def test_a_new_holder_is_announced_and_waited_for_afresh(c: RunPodClient) -> None:
    clock = Clock()
    first, _ = lock_for(c, clock, "ci run 1", ttl=3600)
    held = first.acquire()
    queued = lock_for(c, clock, "ci run 2", ttl=3600)[0]

    def hand_over(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 2:  # while the laptop waits, run 1 ends and run 2 takes over
            first.release(held)
            queued.acquire()

    said: list[str] = []
    waiter = DeployLock(
        c, SCOPE, holder="laptop", timeout=5, clock=clock, sleep=hand_over, progress=said.append
    )
    with pytest.raises(DeployError, match="held by ci run 2 since 1970-01-12 13:46:41 UTC"):
        waiter.acquire()
    assert said == [
        f"waiting for the deploy lock of gpu-worker/staging held by ci run 1 since {T0}",
        "waiting for the deploy lock of gpu-worker/staging held by ci run 2 since "
        "1970-01-12 13:46:41 UTC",
    ]


def test_a_lock_freed_between_two_looks_is_tried_again_after_a_short_pause(
    local_runpod: LocalRunPod, key: ApiKey, c: RunPodClient
) -> None:
    clock = Clock()
    other = lock_for(c, clock, "ci run 1")[0]
    other.acquire()
    looks = 0

    def churn(method: str, path: str) -> None:
        """Three times: the holder's look finds the lock freed, and before the waiter tries
        again another deploy takes it; then it stays free."""
        nonlocal looks
        if method == "GET" and path == "/v2/templates":
            looks += 1
            if looks % 2 == 0:  # after the refused create's look, before the holder's
                unlock(c, SCOPE)
        elif method == "POST" and 2 <= looks < 6:
            other.acquire()

    api, transport = stepping(local_runpod, key, churn)
    with api:
        waiter, said = lock_for(api, clock, "laptop", timeout=0)
        info = waiter.acquire()
    assert info.holder == "laptop" and said == []
    assert len(clock.slept) == 3 and all(0 <= s <= 0.5 for s in clock.slept)
    assert transport.sent.count("POST /v2/templates") == 4


def test_a_lock_that_keeps_being_freed_and_taken_ends_at_the_timeout(
    local_runpod: LocalRunPod, key: ApiKey, c: RunPodClient
) -> None:
    """A create refused every time and a look that always finds the lock free again: the wait
    ends once the timeout has passed and `MAX_CHURN` looks in a row saw the same. The clock
    stands still (sleeps are only recorded), so the deadline is reached, not passed."""
    clock = StillClock()
    other = lock_for(c, clock, "ci run 1")[0]

    looks = 0

    def churn(method: str, path: str) -> None:
        """Before each create the other deploy takes the lock; the look after the refusal
        sees it held, and before the holder's look it is freed: forever."""
        nonlocal looks
        if method == "POST" and path == "/v2/templates":
            other.acquire()
        elif method == "GET" and path == "/v2/templates":
            looks += 1
            if looks % 2 == 0:
                unlock(c, SCOPE)

    api, transport = stepping(local_runpod, key, churn)
    with api:
        waiter, _ = lock_for(api, clock, "laptop", timeout=0)
        with pytest.raises(DeployError) as caught:
            waiter.acquire()
    assert caught.value.message == (
        f"gave up on the deploy lock of {SCOPE.owner} after 0 s: {MAX_CHURN + 1} looks in a "
        "row found it freed, yet each create of it was refused"
    )
    assert caught.value.hint == (
        "other deploys are taking and freeing the lock quickly, or the API refuses the lock "
        "template for another reason; run the same command again"
    )
    assert len(clock.slept) == MAX_CHURN
    assert transport.sent.count("POST /v2/templates") > MAX_CHURN


class StillClock(Clock):
    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_a_holder_seen_between_two_runs_of_freed_looks_starts_the_count_again(
    local_runpod: LocalRunPod, key: ApiKey, c: RunPodClient
) -> None:
    """`MAX_CHURN` freed looks, one look at an expired lock (taken over), `MAX_CHURN` freed
    looks again, then the create goes through: no run was longer than the limit."""
    clock = Clock()
    other = lock_for(c, clock, "ci run 1")[0]
    stale = lock_for(c, clock, "crashed run", ttl=0)[0]
    script = ["freed"] * MAX_CHURN + ["expired"] + ["freed"] * MAX_CHURN + ["free"]
    step = {"index": -1, "gets": 0}

    def churn(method: str, path: str) -> None:
        if path != "/v2/templates":
            return
        if method == "POST":
            step["index"], step["gets"] = step["index"] + 1, 0
            phase = script[step["index"]]
            if phase != "free":
                (other if phase == "freed" else stale).acquire()  # taken before our create
        elif method == "GET":
            step["gets"] += 1
            if step["gets"] == 2 and script[step["index"]] == "freed":
                unlock(c, SCOPE)  # freed before the look at its holder
            elif step["gets"] == 2 and script[step["index"]] == "expired":
                clock.now += 2  # past its expiry, stored to the second

    api, _ = stepping(local_runpod, key, churn)
    with api:
        waiter, said = lock_for(api, clock, "laptop", timeout=0)
        info = waiter.acquire()
    assert info.holder == "laptop" and step["index"] == len(script) - 1
    assert [line for line in said if "expired" in line] != []


def test_twin_locks_make_the_new_holder_back_off(local_runpod: LocalRunPod, key: ApiKey) -> None:
    clock = Clock()

    def twin_after_create(method: str, path: str) -> None:
        if method == "GET" and not any(
            t["env"].get("PODKIT_LOCK_HOLDER") == "twin"  # type: ignore[union-attr]
            for t in lock_templates(local_runpod, key).values()
        ):
            add_twin(local_runpod, key, "twin", clock.now - 5, "zz-twin")

    api, _ = stepping(local_runpod, key, twin_after_create)
    with api:
        mine, _ = lock_for(api, clock, "me", timeout=0)
        with pytest.raises(DeployError, match="held by twin since 1970-01-12 13:46:35 UTC"):
            mine.acquire()
    [left] = lock_templates(local_runpod, key).values()
    assert left["id"] == "zz-twin"  # ours withdrawn, the other left to its holder


def test_of_two_locks_the_oldest_is_the_holder(
    local_runpod: LocalRunPod, key: ApiKey, c: RunPodClient
) -> None:
    clock = Clock()
    lock_for(c, clock, "newer", ttl=3600)[0].acquire()
    add_twin(local_runpod, key, "older", clock.now - 60, "zz-older")
    found = current(c, SCOPE)
    assert found is not None and found.holder == "older" and found.id == "zz-older"
    waiter = lock_for(c, clock, "laptop", timeout=0)[0]
    with pytest.raises(DeployError, match="held by older"):
        waiter.acquire()
    assert [f.holder for f in unlock(c, SCOPE)] == ["newer", "older"]  # in id order
    assert current(c, SCOPE) is None and unlock(c, SCOPE) == []


def test_a_lost_create_that_never_happened_is_sent_again(
    local_runpod: LocalRunPod, key: ApiKey
) -> None:
    fault = local_runpod.backend.faults.add("POST /v2/templates", rate_5xx=1.0)

    def heal_after_first_create(method: str, path: str) -> None:
        if method == "GET":
            local_runpod.backend.faults.clear()

    api, transport = stepping(local_runpod, key, heal_after_first_create)
    with api:
        info = lock_for(api, Clock(), "me")[0].acquire()
    assert fault.rate_5xx == 1.0 and transport.sent.count("POST /v2/templates") == 2
    assert [t["id"] for t in lock_templates(local_runpod, key).values()] == [info.id]


def test_an_unanswered_create_while_another_holds_it_waits_for_that_holder(
    local_runpod: LocalRunPod, key: ApiKey, c: RunPodClient
) -> None:
    clock = Clock()
    lock_for(c, clock, "ci run 1")[0].acquire()
    local_runpod.backend.faults.add("POST /v2/templates", rate_5xx=1.0)
    api, transport = stepping(local_runpod, key, lambda method, path: None)
    with api:
        waiter = lock_for(api, clock, "laptop", timeout=0)[0]
        with pytest.raises(DeployError, match="held by ci run 1"):
            waiter.acquire()
    assert transport.sent.count("POST /v2/templates") == 1


def test_a_create_never_answered_gives_up_after_four_tries(
    local_runpod: LocalRunPod, key: ApiKey
) -> None:
    local_runpod.backend.faults.add("POST /v2/templates", rate_5xx=1.0)
    api, transport = stepping(local_runpod, key, lambda method, path: None)
    with api, pytest.raises(DeployError) as caught:
        lock_for(api, Clock(), "me")[0].acquire()
    assert caught.value.message == (
        "could not create the deploy lock of gpu-worker/staging: the API did not answer"
    )
    assert caught.value.hint == "wait a minute and run the same command again"
    assert transport.sent.count("POST /v2/templates") == 4
    assert lock_templates(local_runpod, key) == {}


def test_a_foreign_template_of_the_lock_name_is_not_a_lock_and_is_named_with_what_to_do(
    local_runpod: LocalRunPod, key: ApiKey, c: RunPodClient
) -> None:
    made = c.templates.create(t2.TemplateCreate(name=NAME, image="someone/else:1", env={"A": "1"}))
    assert current(c, SCOPE) is None
    with pytest.raises(DeployError, match=f"template {NAME}") as freeing:
        unlock(c, SCOPE)
    assert made.id in freeing.value.message
    api, transport = stepping(local_runpod, key, lambda method, path: None)
    with api, pytest.raises(DeployError, match="is not a podkit deploy lock"):
        lock_for(api, Clock(), "me")[0].acquire()
    assert transport.sent.count("POST /v2/templates") == 1
    assert [t.id for t in c.templates.list()] == [made.id]  # never deleted


def test_an_unreadable_lock_counts_as_long_expired(c: RunPodClient) -> None:
    env = {"PODKIT_LOCK": "gpu-worker/staging", "PODKIT_LOCK_EXPIRES": "soon"}
    c.templates.create(t2.TemplateCreate(name=NAME, image="podkit/deploy-lock", env=env))
    found = current(c, SCOPE)
    assert found is not None
    assert (found.owner, found.holder, found.since, found.expires, found.token) == (
        "gpu-worker/staging",
        "unknown holder",
        0.0,
        0.0,
        "",
    )
    taker, said = lock_for(c, Clock(), "me", timeout=0)
    assert taker.acquire().holder == "me"
    assert said == [
        "the deploy lock of gpu-worker/staging held by unknown holder expired at "
        "1970-01-01 00:00:00 UTC; taking it over"
    ]


def test_locks_of_other_environments_are_left_alone(c: RunPodClient) -> None:
    clock = Clock()
    staging = lock_for(c, clock, "staging run")[0].acquire()
    production = Scope("gpu-worker", "production")
    other = DeployLock(c, production, holder="prod run", timeout=0, clock=clock, sleep=clock.sleep)
    assert other.acquire().holder == "prod run"
    assert [f.id for f in unlock(c, SCOPE)] == [staging.id]
    still = current(c, production)
    assert still is not None and still.holder == "prod run"


def test_a_failed_release_says_when_the_lock_expires_and_how_to_free_it(
    local_runpod: LocalRunPod, key: ApiKey
) -> None:
    api, transport = stepping(local_runpod, key, lambda method, path: None)
    with api:
        lock, said = lock_for(api, Clock(), "me", unlock_command="podkit unlock --env staging")
        info = lock.acquire()
        local_runpod.backend.faults.add("DELETE /v2/templates/*", rate_5xx=1.0)
        lock.release(info)
        assert said == [
            "could not release the deploy lock of gpu-worker/staging; it expires at "
            "1970-01-12 13:56:40 UTC, or free it with `podkit unlock --env staging`"
        ]
        assert transport.sent.count(f"DELETE /v2/templates/{info.id}") == 3
        local_runpod.backend.faults.clear()
        lock.release(info)
        lock.release(info)  # already gone: nothing to say
    assert len(said) == 1 and lock_templates(local_runpod, key) == {}


def test_a_heartbeat_renews_every_third_of_the_lifetime(c: RunPodClient) -> None:
    clock = Clock()
    lock, said = lock_for(c, clock, "slow deploy", ttl=60)
    beat = _Heartbeat(lock, lock.acquire())
    assert beat.interval == 20
    clock.now += 20
    assert beat.beat() is True
    found = current(c, SCOPE)
    assert found is not None and found.expires == beat.info.expires == clock.now + 60
    assert said == []


def test_a_heartbeat_keeps_going_through_a_failed_renewal(
    local_runpod: LocalRunPod, key: ApiKey
) -> None:
    api, _ = stepping(local_runpod, key, lambda method, path: None)
    clock = Clock()
    with api:
        lock, said = lock_for(api, clock, "slow deploy", ttl=60)
        beat = _Heartbeat(lock, lock.acquire())
        before = beat.info
        local_runpod.backend.faults.add("PATCH /v2/templates/*", rate_5xx=1.0)
        clock.now += 20
        assert beat.beat() is True and beat.info == before
        local_runpod.backend.faults.clear()
        assert beat.beat() is True and beat.info.expires == clock.now + 60
    assert said == []


def test_a_heartbeat_stops_and_says_so_when_the_lock_was_removed(c: RunPodClient) -> None:
    lock, said = lock_for(c, Clock(), "slow deploy")
    beat = _Heartbeat(lock, lock.acquire())
    unlock(c, SCOPE)
    assert beat.beat() is False
    assert said == [
        "the deploy lock of gpu-worker/staging was removed while this deploy held it "
        "(`podkit unlock`?); another deploy may now start"
    ]


def test_held_runs_a_daemon_heartbeat_and_frees_the_lock_after_the_block(
    c: RunPodClient,
) -> None:
    lock, said = lock_for(c, Clock(), "deploy", ttl=3600)
    with lock.held() as info:
        assert current(c, SCOPE) == info
        [beat] = [t for t in threading.enumerate() if t.name == "podkit-deploy-lock"]
        assert beat.daemon and beat.is_alive()
    assert not beat.is_alive() and current(c, SCOPE) is None and said == []


def test_the_holder_says_who_and_where(monkeypatch: pytest.MonkeyPatch) -> None:
    who = f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"
    assert describe_holder({}) == who
    assert describe_holder({"GITHUB_RUN_ID": "7"}) == (
        f"GitHub Actions run https://github.com/?/actions/runs/7 ({who})"
    )
    github = {
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_REPOSITORY": "acme/gpu-worker",
        "GITHUB_SERVER_URL": "https://git.example",
    }
    assert describe_holder(github) == (
        f"GitHub Actions run https://git.example/acme/gpu-worker/actions/runs/42 attempt 2 ({who})"
    )
    gitlab = {"CI_JOB_URL": "https://gitlab.example/acme/-/jobs/9"}
    assert describe_holder(gitlab) == f"CI job https://gitlab.example/acme/-/jobs/9 ({who})"
    monkeypatch.delenv("GITHUB_RUN_ID", raising=False)
    monkeypatch.setenv("CI_JOB_URL", "https://gitlab.example/acme/-/jobs/10")
    assert describe_holder() == f"CI job https://gitlab.example/acme/-/jobs/10 ({who})"


def test_a_holder_without_a_user_name_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("no user name for this uid")

    monkeypatch.setattr(getpass, "getuser", no_user)  # a container user without a passwd entry
    assert describe_holder({}).startswith(f"unknown@{socket.gethostname()} pid ")


def test_a_lock_without_a_holder_describes_this_process(c: RunPodClient) -> None:
    assert DeployLock(c, SCOPE).holder == describe_holder()


def test_times_are_told_in_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch, c: RunPodClient
) -> None:
    monkeypatch.setenv("TZ", "IST-5:30")  # a laptop in India
    time.tzset()
    try:
        assert when(1_000_000.0) == T0
        lock_for(c, Clock(), "ci run 1")[0].acquire()
        waiter, said = lock_for(c, Clock(), "laptop", timeout=1)
        with pytest.raises(DeployError, match="expires by itself at 1970-01-12 13:56:40 UTC"):
            waiter.acquire()
        assert said == [
            f"waiting for the deploy lock of gpu-worker/staging held by ci run 1 since {T0}"
        ]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_live_lock_without_a_nonce_is_still_announced(c: RunPodClient) -> None:
    env = {
        "PODKIT_LOCK": "gpu-worker/staging",
        "PODKIT_LOCK_HOLDER": "hand-made",
        "PODKIT_LOCK_SINCE": "1000000",
        "PODKIT_LOCK_EXPIRES": "1003600",
    }
    c.templates.create(t2.TemplateCreate(name=NAME, image="podkit/deploy-lock", env=env))
    waiter, said = lock_for(c, Clock(), "laptop", timeout=1)
    with pytest.raises(DeployError, match="held by hand-made"):
        waiter.acquire()
    assert said == [
        f"waiting for the deploy lock of gpu-worker/staging held by hand-made since {T0}"
    ]
