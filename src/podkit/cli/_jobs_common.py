"""What the job commands share: endpoint lookup, the client, input and duration parsing,
and what Ctrl-C does to a job that runs remotely (`podkit run`, `podkit models sync`)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.prompt import Confirm

from podkit.cli.console import err_console
from podkit.cli.option_files import read_option_file
from podkit.config import Deployment, load_config
from podkit.config.cli_values import ID, ID_RULE, check_duration
from podkit.config.problems import clip_key
from podkit.deploy import service
from podkit.deploy.history import History, TargetRef
from podkit.errors import ConfigError
from podkit.runpod import connect
from podkit.runpod.credentials import load_api_key
from podkit.runpod.job_target import dataplane_url
from podkit.runpod.jobs import JobsClient
from podkit.runpod.target import resolve_target

# The largest job input the platform takes (/runsync: 20 MB; /run takes 10 MB).
MAX_INPUT_BYTES = 20_000_000


def resolve_endpoint(
    endpoint: str | None, env: str | None, config: Path, target: str | None
) -> str:
    """The endpoint id: `--endpoint`, else the one `podkit apply` deployed for this project
    and environment (from the deploy history next to podkit.toml, else from the account)."""
    if endpoint:
        return endpoint
    if not config.is_file():
        raise ConfigError(
            f"no --endpoint given and no {config} to find the project's endpoint in",
            hint="pass --endpoint ID, or run the command next to your podkit.toml (--config)",
        )
    deployment = load_config(config, env=env).deployment
    history = project_history(config, deployment, target)
    found = _history_endpoint(history)
    if not found:
        with connect("v2", target=target) as client:
            found = service.deployed_endpoint_id(client, deployment)
        if found is not None and not ID.match(found):
            raise ConfigError(
                f"the account's API names endpoint {deployment.endpoint_name!r} by "
                f"{clip_key(found)!r}, which is not an id ({ID_RULE})",
                hint="check the API target (--target, PODKIT_TARGET), or pass --endpoint ID",
            )
    if found:
        return found
    where = f" (env {env})" if env else ""
    destroyed = history.last_destroy()
    if destroyed is not None:
        raise ConfigError(
            f"the endpoint {deployment.endpoint_name!r} of project {deployment.project}{where} "
            f"was destroyed on {destroyed.applied_at[:10]} by history #{destroyed.number}",
            hint="run `podkit apply` to deploy it again (or `podkit rollback`)",
        )
    raise ConfigError(
        f"project {deployment.project}{where} has no deployed endpoint "
        f"{deployment.endpoint_name!r} on this target",
        hint=_elsewhere(config, env, target)
        or "deploy it with `podkit apply`, or pass --endpoint ID",
    )


def _history_endpoint(history: History) -> str | None:
    """The endpoint id of the latest live deploy in the history, checked like --endpoint: it
    goes into URL paths, and the file is a plain file anyone can edit."""
    records = history.records()
    found = records[-1].endpoint_id if records and not records[-1].destroyed else None
    if found is not None and not ID.match(found):
        raise ConfigError(
            f"{history.path}: record #{records[-1].number} names endpoint "
            f"{clip_key(found)!r}, which is not an id ({ID_RULE})",
            hint=f"fix endpoint_id in that file, or move it aside (mv {history.path} "
            f"{history.path}.bad), or pass --endpoint ID",
        )
    return found


def project_history(config: Path, deployment: Deployment, target: str | None) -> History:
    """The deploy history beside podkit.toml, seen from `target` (its records only)."""
    ref = TargetRef.of(resolve_target(target).control_v2, load_api_key().reveal())
    return History(service.scope_for(deployment), config.resolve().parent, target=ref)


def _elsewhere(config: Path, env: str | None, target: str | None) -> str | None:
    """A hint naming the environments that do have a deployment here, when `--env` is off."""
    found = deployed_envs(config, target) if env is None else []
    if not found:
        return None
    return f"pass --env: {', '.join(found)} has a deployment (e.g. --env {found[0]})"


def deployed_envs(config: Path, target: str | None) -> list[str]:
    """The environments of podkit.toml whose latest record on `target` is a live deploy."""
    names = []
    for name in load_config(config).environments:
        deployment = load_config(config, env=name).deployment
        records = project_history(config, deployment, target).records()
        if records and not records[-1].destroyed:
            names.append(name)
    return names


def jobs_client(endpoint_id: str, target: str | None) -> JobsClient:
    """A data-plane client for `endpoint_id` on `target`, keyed from the environment."""
    key = load_api_key()
    return JobsClient(
        endpoint_id, api_key=key.reveal(), base_url=dataplane_url(target), key_source=key.source
    )


def parse_input(raw: str | None, action: str | None) -> dict[str, Any]:
    """`--input` (inline JSON or `@file`) merged with the action into the job's input."""
    data: dict[str, Any] = {}
    if raw:
        source = "--input"
        text = raw
        if raw.startswith("@"):
            source = f"--input file {raw[1:]}"
            text = _input_file(Path(raw[1:]))
        data = _json_object(text, source)
    if action is None:
        return dict(data)
    if "action" in data and data["action"] != action:
        raise ConfigError(
            f"--input names action {data['action']!r} but the command line says {action!r}",
            hint="drop `action` from --input; the ACTION argument sets it",
        )
    return {"action": action, **{k: v for k, v in data.items() if k != "action"}}


def _input_file(path: Path) -> str:
    """The text of `--input @path`: a regular file, at most MAX_INPUT_BYTES, UTF-8."""
    data = read_option_file(
        path, "--input", MAX_INPUT_BYTES, example="path/to/input.json",
        most="the most a job's input may be",
    )  # fmt: skip
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"--input file {path} is not UTF-8 text (byte {exc.start})",
            hint="give a JSON file saved as UTF-8 text",
        ) from None


def _json_object(text: str, source: str) -> dict[str, Any]:
    """A JSON object in plain JSON: NaN, Infinity and numbers out of float range refused."""
    hint = 'pass a JSON object, e.g. --input \'{"path": "/runpod-volume"}\''
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint=hint,
        ) from None
    except _NotFinite as exc:
        raise ConfigError(
            f"{source} holds {exc.args[0]}, which is no JSON number (JSON has no NaN or "
            "Infinity, and a number must fit a double)",
            hint="write a finite number, or the value as text in quotes",
        ) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise ConfigError(
            f"{source} holds a number podkit cannot read ({exc})", hint=hint
        ) from None
    except RecursionError:
        raise ConfigError(
            f"{source} is nested too deeply to read (lists or objects hundreds deep)",
            hint=hint,
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source} must be a JSON object, got {type(data).__name__}",
            hint='wrap the value in an object, e.g. --input \'{"path": "/runpod-volume"}\'',
        )
    return data


class _NotFinite(ValueError):
    """A NaN, an Infinity or a number too large for a double in --input."""


def _no_constant(name: str) -> float:
    raise _NotFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text if len(text) <= 40 else f"{text[:40]}... ({len(text)} characters)")
    return value


def parse_duration(value: str | None, option: str) -> float | None:
    """`90`, `90s`, `10m`, `1h30m`, `2d`, `500ms` -> seconds (the podkit.toml syntax)."""
    return check_duration(value, option)


def interrupted(
    client: JobsClient,
    job_id: str | None,
    target: str | None,
    *,
    interactive: bool,
    submitting: bool = False,
) -> bool:
    """After Ctrl-C: ask whether to cancel the remote job (or say how); True if cancelled.

    `submitting`: the submit request was under way, so the job may exist without an id here.
    """
    if job_id is None and submitting:
        say(
            "interrupted while the job was being submitted: it may be queued or running on "
            f"endpoint {escape(client.endpoint_id)}; `podkit health --endpoint "
            f"{escape(client.endpoint_id)}` shows the queue"
        )
        return False
    if job_id is None:
        say("interrupted before the job was queued; nothing runs remotely")
        return False
    cmd = job_cmd("cancel", job_id, client.endpoint_id, target)
    if interactive and Confirm.ask(
        f"Cancel job {job_id} on endpoint {client.endpoint_id}?", console=err_console, default=True
    ):
        job = client.cancel(job_id)
        say(f"job {escape(job_id)}: {job.status}")
        return True
    say(
        f"job {escape(job_id)} keeps running on endpoint {escape(client.endpoint_id)}; "
        f"cancel it with `{escape(cmd)}`"
    )
    return False


def job_cmd(verb: str, job_id: str, endpoint_id: str, target: str | None) -> str:
    """The `podkit job VERB` command line for one job (shown in hints)."""
    where = f" --target {target}" if target else ""
    return f"podkit job {verb} {job_id} --endpoint {endpoint_id}{where}"


def say(text: str) -> None:
    """One message on stderr, never wrapped, so commands in it stay copyable."""
    err_console.print(text, soft_wrap=True)


def interactive() -> bool:
    """Whether a question can be asked (stdin and stderr are a terminal)."""
    return sys.stdin.isatty() and err_console.is_terminal
