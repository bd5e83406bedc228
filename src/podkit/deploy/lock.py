"""The deploy lock: one apply, rollback or destroy at a time per project and environment.

The lock lives on the RunPod account, where the state it protects lives, so it holds across
machines (two CI runs, CI and a laptop). It is a template named
`pk-<project>-<env>-deploy-lock`: template names are unique per account and the platform
checks that on create, so of several processes creating it at once exactly one succeeds.
Its env carries who holds it (user, host, CI run), since when, and an expiry that a
heartbeat pushes forward; a lock whose holder crashed expires and the next deploy takes it
over. After a successful create the holder still lists the name once: if the platform ever
let two through, both see it and both back off, so two holders never proceed together.

A create whose answer is lost (a 5xx, a dropped connection) is read back by the lock's own
token, never repeated blindly. The lock carries no `PODKIT_OWNER`, and the snapshot leaves
it out, so plans never show it.
"""

from __future__ import annotations

import getpass
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from podkit.deploy.lock_process import holder_gone, process_mark
from podkit.deploy.model import LOCK_ENV, Scope
from podkit.errors import (
    DeployError,
    InvalidRequestError,
    NotFoundError,
    PodkitError,
    ServerError,
    TransportError,
)
from podkit.runpod import RunPodClient, RunPodV1
from podkit.runpod.types import v1 as t1
from podkit.runpod.types import v2 as t2

DEFAULT_TTL_S = 600.0  # a crashed holder's lock frees itself after this long
DEFAULT_TIMEOUT_S = 900.0
LOCK_IMAGE = "podkit/deploy-lock"  # templates need an image; this one is never run
POLL_S = (0.5, 10.0)  # first and longest wait between looks at a held lock
MAX_CHURN = 10  # past the timeout, the most looks in a row that find the lock just freed
_UNKNOWN = (ServerError, TransportError)

Progress = Callable[[str], None]


def lock_name(scope: Scope) -> str:
    return scope.name("deploy-lock")


def when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_holder(environ: Mapping[str, str] | None = None) -> str:
    """Who is deploying: user@host and pid, plus the CI run when there is one."""
    env = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    who = f"{user}@{socket.gethostname()} pid {os.getpid()}"
    if env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        run = f"{server}/{env.get('GITHUB_REPOSITORY', '?')}/actions/runs/{env['GITHUB_RUN_ID']}"
        attempt = env.get("GITHUB_RUN_ATTEMPT")
        run += f" attempt {attempt}" if attempt else ""
        return f"GitHub Actions run {run} ({who})"
    if env.get("CI_JOB_URL"):
        return f"CI job {env['CI_JOB_URL']} ({who})"
    return who


@dataclass(frozen=True)
class LockInfo:
    """One lock template as read back: who holds it, since when, until when."""

    id: str
    owner: str
    holder: str
    since: float
    expires: float
    token: str
    process: str = ""  # the holder's process (see `lock_process`), "" where not told

    def expired(self, now: float) -> bool:
        return now >= self.expires

    def env(self) -> dict[str, str]:
        return {
            LOCK_ENV: self.owner,
            "PODKIT_LOCK_HOLDER": self.holder,
            "PODKIT_LOCK_SINCE": str(round(self.since, 3)),
            "PODKIT_LOCK_EXPIRES": str(round(self.expires, 3)),
            # Tells this holder's lock from another's; not a credential, so not named like one.
            "PODKIT_LOCK_NONCE": self.token,
        } | ({"PODKIT_LOCK_PROCESS": self.process} if self.process else {})

    @classmethod
    def from_env(cls, template_id: str, env: Mapping[str, str]) -> LockInfo:
        def number(key: str) -> float:
            try:
                return float(env[key])
            except (KeyError, ValueError):
                return 0.0  # missing or unreadable: treat as long expired

        return cls(
            id=template_id,
            owner=env[LOCK_ENV],  # every lock template carries it (`LockStore.list`)
            holder=env.get("PODKIT_LOCK_HOLDER", "unknown holder"),
            since=number("PODKIT_LOCK_SINCE"),
            expires=number("PODKIT_LOCK_EXPIRES"),
            token=env.get("PODKIT_LOCK_NONCE", ""),
            process=env.get("PODKIT_LOCK_PROCESS", ""),
        )


class LockStore:
    """The lock templates of one name, over REST v2 or v1."""

    def __init__(self, client: RunPodClient, name: str) -> None:
        self._client = client
        self.name = name

    def list(self) -> list[LockInfo]:
        found = [
            LockInfo.from_env(t.id, t.env)
            for t in self._client.templates.list()
            if t.name == self.name and LOCK_ENV in t.env
        ]
        return sorted(found, key=lambda info: info.id)

    def check_not_squatted(self) -> None:
        """Raise naming the template that holds the lock's name without being a lock (no
        `PODKIT_LOCK`): no deploy can take the lock while it is there, and `podkit unlock`
        leaves it alone, since podkit never deletes what it did not make."""
        others = [
            t
            for t in self._client.templates.list()
            if t.name == self.name and LOCK_ENV not in t.env
        ]
        if others:
            ids = ", ".join(sorted(t.id for t in others))
            raise DeployError(
                f"template {self.name} ({ids}) is not a podkit deploy lock (its env has no "
                f"{LOCK_ENV}), yet it holds the lock's name: no apply, rollback or destroy of "
                "this project and environment can take the lock while it is there",
                hint=f"rename or delete template {ids} in the RunPod console (`podkit unlock` "
                "frees only podkit's own lock), then run the same command again",
            )

    def create(self, info: LockInfo) -> str:
        c = self._client
        if isinstance(c, RunPodV1):
            body1 = t1.TemplateCreate(
                name=self.name, image_name=LOCK_IMAGE, env=info.env(), is_serverless=False
            )
            return c.templates.create(body1).id
        body2 = t2.TemplateCreate(
            name=self.name, image=LOCK_IMAGE, env=info.env(), start_ssh=False, start_jupyter=False
        )
        return c.templates.create(body2).id

    def update(self, info: LockInfo) -> None:
        c = self._client
        if isinstance(c, RunPodV1):
            c.templates.update(info.id, t1.TemplateUpdate(env=info.env()))
        else:
            c.templates.update(info.id, t2.TemplateUpdate(env=info.env()))

    def delete(self, template_id: str) -> None:
        try:
            self._client.templates.delete(template_id)
        except NotFoundError:
            return  # already gone: freed by its holder, `podkit unlock`, or a taker-over


def silent(message: str) -> None:
    """The default progress callback: report nothing."""


class DeployLock:
    """Acquire, renew and release the deploy lock of one scope."""

    def __init__(
        self,
        client: RunPodClient,
        scope: Scope,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        ttl: float = DEFAULT_TTL_S,
        holder: str | None = None,
        unlock_command: str = "podkit unlock",
        progress: Progress = silent,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.scope = scope
        self.store = LockStore(client, lock_name(scope))
        self.timeout = timeout
        self.ttl = ttl
        self.holder = holder or describe_holder()
        self.unlock_command = unlock_command
        self._progress = progress
        self._clock = clock
        self._sleep = sleep

    def _mine(self) -> LockInfo:
        now = self._clock()
        token = secrets.token_hex(8)
        mark = process_mark()
        return LockInfo("", self.scope.owner, self.holder, now, now + self.ttl, token, mark)

    def acquire(self) -> LockInfo:
        """Take the lock, waiting up to `timeout` for a live holder; take over an expired one."""
        deadline = self._clock() + self.timeout
        announced: str | None = None
        pause = POLL_S[0]
        churn = 0  # looks in a row that found the lock freed after a create was refused
        while True:
            mine = self._try_create(self._mine())
            if mine is not None:
                return mine
            held = self._holder()
            if held is None:
                churn += 1
                if churn > MAX_CHURN and self._clock() >= deadline:
                    raise self._churned(churn)
                self._sleep(random.uniform(0, POLL_S[0]))  # freed meanwhile: try again soon
                continue
            churn = 0
            if held.expired(self._clock()) or holder_gone(held.process):
                why = (
                    f"expired at {when(held.expires)}"
                    if held.expired(self._clock())
                    else "was left by a process that no longer runs on this machine"
                )
                self._progress(
                    f"the deploy lock of {self.scope.owner} held by {held.holder} {why}; "
                    "taking it over"
                )
                self.store.delete(held.id)
                continue
            if self._clock() >= deadline:
                raise self._timed_out(held)
            if announced != held.token:
                announced = held.token
                self._progress(
                    f"waiting for the deploy lock of {self.scope.owner} held by {held.holder} "
                    f"since {when(held.since)}"
                )
            self._sleep(max(0.0, min(pause, deadline - self._clock())))
            pause = min(pause * 2, POLL_S[1])

    def _try_create(self, mine: LockInfo) -> LockInfo | None:
        """Our lock if the create went through (read back when unanswered), else None."""
        refused: InvalidRequestError | None = None
        for _ in range(4):
            try:
                created: LockInfo | None = replace(mine, id=self.store.create(mine))
            except _UNKNOWN:
                created = None
            except InvalidRequestError as exc:
                if self.store.list():
                    return None  # the name is taken: someone holds the lock
                self.store.check_not_squatted()
                refused = exc  # freed since, or refused for another reason: try again
                continue
            locks = self.store.list()
            if created is None:
                created = next((lock for lock in locks if lock.token == mine.token), None)
                if created is None and locks:
                    return None  # ours did not happen, and someone else holds it
                if created is None:
                    continue  # nothing there: the create did not happen; create again
            if all(lock.token == mine.token for lock in locks):
                return created
            self.store.delete(created.id)  # two of one name: both back off, none proceeds
            return None
        if refused is not None:
            raise refused
        raise DeployError(
            f"could not create the deploy lock of {self.scope.owner}: the API did not answer",
            hint="wait a minute and run the same command again",
        )

    def _holder(self) -> LockInfo | None:
        locks = self.store.list()
        return min(locks, key=lambda lock: lock.since) if locks else None

    def _timed_out(self, held: LockInfo) -> DeployError:
        return DeployError(
            f"gave up after {self.timeout:g} s waiting for the deploy lock of "
            f"{self.scope.owner} held by {held.holder} since {when(held.since)}; if that "
            f"deploy is dead, free the lock with `{self.unlock_command}`",
            hint=f"or wait longer (--lock-timeout); the lock expires by itself at "
            f"{when(held.expires)} unless its holder is still running",
        )

    def _churned(self, looks: int) -> DeployError:
        return DeployError(
            f"gave up on the deploy lock of {self.scope.owner} after {self.timeout:g} s: "
            f"{looks} looks in a row found it freed, yet each create of it was refused",
            hint="other deploys are taking and freeing the lock quickly, or the API refuses "
            "the lock template for another reason; run the same command again",
        )

    def renew(self, info: LockInfo) -> LockInfo:
        renewed = replace(info, expires=self._clock() + self.ttl)
        self.store.update(renewed)
        return renewed

    def release(self, info: LockInfo) -> None:
        """Delete our lock; if that fails, say when it expires (never fails the deploy)."""
        for _ in range(3):
            try:
                self.store.delete(info.id)
                return
            except PodkitError:
                pass
        self._progress(
            f"could not release the deploy lock of {self.scope.owner}; it expires at "
            f"{when(info.expires)}, or free it with `{self.unlock_command}`"
        )

    @contextmanager
    def held(self) -> Iterator[LockInfo]:
        """Hold the lock for the block, renewing it in the background."""
        info = self.acquire()
        beat = _Heartbeat(self, info)
        beat.start()
        try:
            yield info
        finally:
            beat.stop()
            self.release(beat.info)


class _Heartbeat(threading.Thread):
    """Pushes the lock's expiry forward every third of its lifetime while the deploy runs."""

    def __init__(self, lock: DeployLock, info: LockInfo) -> None:
        super().__init__(name="podkit-deploy-lock", daemon=True)
        self._lock = lock
        self.info = info
        self.interval = lock.ttl / 3
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.interval) and self.beat():
            pass

    def beat(self) -> bool:
        """Renew once; False once the lock is gone and renewing is pointless."""
        try:
            self.info = self._lock.renew(self.info)
        except NotFoundError:
            self._lock._progress(
                f"the deploy lock of {self._lock.scope.owner} was removed while this deploy "
                "held it (`podkit unlock`?); another deploy may now start"
            )
            return False
        except PodkitError:
            pass  # the next beat tries again, well before the lock expires
        return True

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=30)


def unlock(client: RunPodClient, scope: Scope) -> list[LockInfo]:
    """Free the deploy lock of a scope, whoever holds it; returns what was freed."""
    store = LockStore(client, lock_name(scope))
    freed = store.list()
    for info in freed:
        store.delete(info.id)
    if not freed:
        store.check_not_squatted()
    return freed


def current(client: RunPodClient, scope: Scope) -> LockInfo | None:
    """The lock of a scope if one is held (expired or not)."""
    locks = LockStore(client, lock_name(scope)).list()
    return min(locks, key=lambda lock: lock.since) if locks else None
