"""`podkit unlock`, and the deploy lock that `apply`, `rollback` and `destroy` hold.

The lock lives on the RunPod account (see `podkit.deploy.lock`), so two deploys of one
project and environment never run at once, wherever they start.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape

from podkit.cli._jobs_common import parse_duration
from podkit.cli.app import app
from podkit.cli.console import console, err_console, print_json
from podkit.cli.options import API, CONFIG, ENV, TARGET, duration
from podkit.config import Deployment, load_config
from podkit.deploy import service
from podkit.deploy.lock import DeployLock, LockInfo, current, when
from podkit.deploy.lock import unlock as free_lock
from podkit.errors import DeployError
from podkit.runpod import RunPodClient, connect

LOCK_TIMEOUT = duration(
    "15m", "--lock-timeout", "How long to wait for another deploy of this project and environment"
)


def _say(message: str) -> None:
    err_console.print(f"  [yellow]{escape(message)}[/]")


def unlock_command(env: str | None) -> str:
    return "podkit unlock" + (f" --env {env}" if env else "")


def deploy_lock(
    client: RunPodClient, deployment: Deployment, env: str | None, lock_timeout: str
) -> DeployLock:
    """The lock `apply`, `rollback` and `destroy` hold while they read, plan and write."""
    timeout = parse_duration(lock_timeout, "--lock-timeout")
    if timeout is None or timeout < 0:
        raise DeployError(
            f"--lock-timeout {lock_timeout!r} must not be negative", hint="e.g. --lock-timeout 10m"
        )
    return DeployLock(
        client,
        service.scope_for(deployment),
        timeout=timeout,
        unlock_command=unlock_command(env),
        progress=_say,
    )


def _describe(info: LockInfo) -> dict[str, str]:
    return {
        "id": info.id,
        "holder": info.holder,
        "since": when(info.since),
        "expires": when(info.expires),
    }


@app.command()
def unlock(
    config: Path = CONFIG,
    env: str | None = ENV,
    api: str = API,
    target: str | None = TARGET,
    yes: bool = typer.Option(False, "--yes", "-y", help="Free a lock that has not expired yet."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
) -> None:
    """Free the deploy lock of this project and environment (after a crashed deploy).

    Exit 0: freed, or no lock was held. 1: error (a live lock without --yes).
    """
    deployment = load_config(config, env=env).deployment
    scope = service.scope_for(deployment)
    with connect("v1" if api == "v1" else "v2", target=target) as client:
        held = current(client, scope)
        if held is not None and not held.expired(time.time()) and not yes:
            raise DeployError(
                f"the deploy lock of {scope.owner} is held by {held.holder} since "
                f"{when(held.since)} and has not expired (until {when(held.expires)})",
                hint="if that deploy is really gone, run again with --yes",
            )
        freed = free_lock(client, scope)
    if as_json:
        print_json({"owner": scope.owner, "freed": [_describe(i) for i in freed]})
    elif freed:
        for info in freed:
            console.print(
                f"freed the deploy lock of {escape(scope.owner)} held by "
                f"{escape(info.holder)} since {when(info.since)}"
            )
    else:
        console.print(f"no deploy lock is held for {escape(scope.owner)}")
