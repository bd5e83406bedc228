"""What the job commands share: endpoint lookup, the client, input and duration parsing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer

from podkit.config import load_config
from podkit.config.durations import parse_duration as config_duration
from podkit.deploy import service
from podkit.deploy.history import History
from podkit.errors import ConfigError
from podkit.runpod import connect
from podkit.runpod.job_target import api_key, dataplane_url
from podkit.runpod.jobs import JobsClient

ENDPOINT_OPTION = typer.Option(
    None, "--endpoint", help="Endpoint id (default: the project's, from podkit.toml)."
)
ENV_OPTION = typer.Option(
    None, "--env", "-e", help="Environment: the env.NAME overlay of podkit.toml."
)
TARGET_OPTION = typer.Option(
    None, "--target", help="runpod (default), local, or an http(s) origin. Env: PODKIT_TARGET."
)
CONFIG_OPTION = typer.Option(Path("podkit.toml"), "--config", "-c", help="Project file.")

_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


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
    records = History(service.scope_for(deployment), config.resolve().parent).records()
    found = records[-1].endpoint_id if records else None
    if not found:
        with connect("v2", target=target) as client:
            found = service.deployed_endpoint_id(client, deployment)
    if not found:
        where = f" (env {env})" if env else ""
        raise ConfigError(
            f"project {deployment.project}{where} has no deployed endpoint "
            f"{deployment.endpoint_name!r} on this target",
            hint="deploy it with `podkit apply`, or pass --endpoint ID",
        )
    return found


def jobs_client(endpoint_id: str, target: str | None) -> JobsClient:
    """A data-plane client for `endpoint_id` on `target`, keyed from the environment."""
    return JobsClient(endpoint_id, api_key=api_key(), base_url=dataplane_url(target))


def parse_input(raw: str | None, action: str | None) -> dict[str, Any]:
    """`--input` (inline JSON or `@file`) merged with the action into the job's input."""
    data: Any = {}
    if raw:
        source = "--input"
        text = raw
        if raw.startswith("@"):
            path = Path(raw[1:])
            source = str(path)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read --input file {path}: {exc.strerror}",
                    hint="give an existing JSON file as --input @path/to/input.json",
                ) from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                hint='pass a JSON object, e.g. --input \'{"path": "/runpod-volume"}\'',
            ) from exc
        if not isinstance(data, dict):
            raise ConfigError(
                f"{source} must be a JSON object, got {type(data).__name__}",
                hint='wrap the value in an object, e.g. --input \'{"path": "/runpod-volume"}\'',
            )
    if action is None:
        return dict(data)
    if "action" in data and data["action"] != action:
        raise ConfigError(
            f"--input names action {data['action']!r} but the command line says {action!r}",
            hint="drop `action` from --input; the ACTION argument sets it",
        )
    return {"action": action, **{k: v for k, v in data.items() if k != "action"}}


def parse_duration(value: str | None, option: str) -> float | None:
    """`90`, `90s`, `10m`, `1h30m`, `2d`, `500ms` -> seconds (the podkit.toml syntax)."""
    if value is None:
        return None
    text = value.strip()
    try:
        return float(text) if _NUMBER.match(text) else config_duration(text)
    except ValueError:
        raise ConfigError(
            f"{option} {value!r} is not a duration",
            hint="use a number of seconds or a unit: 500ms, 90s, 10m, 1h30m, 2d",
        ) from None
