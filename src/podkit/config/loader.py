"""Load podkit.toml: read, parse, overlay an environment and `--set` overrides, validate.

Every problem of the file, in every environment, is collected and raised as one `ConfigError`
(see `podkit.config.problems` for the shape). Nothing here touches the network: names are
checked against the catalog snapshot shipped with podkit (`podkit.config.catalog`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from podkit.config import load_balancer
from podkit.config.locator import KeyLocator
from podkit.config.messages import RESERVED_KEYS, describe, key_of, kind_of
from podkit.config.models import ModelSource
from podkit.config.problems import Problem, raise_all
from podkit.config.schema import Deployment
from podkit.config.syntax import parse_toml, read_text
from podkit.redact import register
from podkit.secret_shapes import is_secret_key_name, looks_like_secret_value

DEFAULT_FILE = "podkit.toml"
ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9\-]{0,30}$")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated deployment plus where it came from."""

    deployment: Deployment
    path: Path
    environment: str | None
    environments: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())


def load_config(
    path: str | os.PathLike[str] = DEFAULT_FILE,
    *,
    env: str | None = None,
    overrides: Sequence[str] = (),
) -> LoadedConfig:
    """Read, overlay and validate a podkit.toml; raise `ConfigError` listing every problem.

    Every environment in the file is validated, not only the one asked for, so a broken
    production overlay is caught while deploying staging.
    """
    file = Path(path)
    text = read_text(file)
    checker = _Checker(file, KeyLocator(text), parse_toml(file, text))
    overlays = checker.environments()
    for name in (None, *overlays):
        if name != env:
            checker.validate(name, overlays.get(name or "", {}), ())
    deployment = None
    if env is not None and env not in overlays:
        checker.unknown_environment(env, overlays)
    else:
        deployment = checker.validate(env, overlays.get(env or "", {}), overrides)
    raise_all(file, checker.problems)
    assert deployment is not None  # every path without a deployment added a problem
    return LoadedConfig(
        deployment=deployment,
        path=file,
        environment=env,
        environments=tuple(overlays),
        warnings=tuple(_warnings(file, checker.locator, deployment)),
    )


class _ModelsOnly(BaseModel):
    """A file that holds only `[[models]]` (handy for `podkit models sync --local`)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    models: list[ModelSource] = Field(default_factory=list)


def load_models_file(path: str | os.PathLike[str]) -> list[ModelSource]:
    """The `[[models]]` of a file without a project, checked and reported like podkit.toml."""
    file = Path(path)
    text = read_text(file)
    locator = KeyLocator(text)
    problems = []
    try:
        return _ModelsOnly.model_validate(parse_toml(file, text)).models
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            what, fix = describe(_ModelsOnly, loc, error)
            line, col = locator.position_of(loc) or (1, 1)
            problems.append(Problem(f"{file}:{line}:{col}", line, col, key_of(loc), what, fix))
    raise_all(file, problems)
    return []


class _Checker:
    """Validates the base and each overlay of one file, collecting problems."""

    def __init__(self, file: Path, locator: KeyLocator, raw: dict[str, Any]) -> None:
        self.file, self.locator, self.raw = file, locator, raw
        self.base = {key: value for key, value in raw.items() if key != "env"}
        self.problems: list[Problem] = []

    def add(self, loc: Loc, what: str, fix: str, *, env: str | None = None) -> None:
        """A problem at `loc` of the base file, or of `[env.NAME]` when it sits there."""
        overlay = self.raw.get("env", {}).get(env, {}) if env else {}
        position = None
        if env and _holds(overlay, loc):
            position = self.locator.position_of(("env", env, *loc))
        position = position or self.locator.position_of(loc)
        if position is None and env:
            position = self.locator.position_of(("env", env, *loc))
        line, col = position or (1, 1)
        scope = f" [env.{env}]" if env else ""
        where = f"{self.file}:{line}:{col}"
        self.problems.append(Problem(where, line, col, key_of(loc), what, fix, scope))

    def environments(self) -> dict[str, Any]:
        """The valid `[env.NAME]` overlays; a problem for each one that is not."""
        envs = self.raw.get("env", {})
        if not isinstance(envs, dict):
            self.add(("env",), "must be a table of [env.NAME] tables", "write [env.staging]")
            return {}
        valid = {}
        for name, overlay in envs.items():
            loc: Loc = ("env", name)
            if not ENV_NAME.match(name):
                self.add(loc, f"{name!r} is not a valid environment name", _ENV_NAME_FIX)
            elif not isinstance(overlay, dict):
                self.add(loc, "must be a table", f"write it as [env.{name}] with keys under it")
            else:
                for bad in sorted({"env", "project"} & overlay.keys()):
                    self.add(
                        (*loc, bad),
                        "cannot be set per environment",
                        f"set {bad} once at the top of the file",
                    )
                valid[name] = {k: v for k, v in overlay.items() if k not in ("env", "project")}
        return valid

    def unknown_environment(self, env: str, overlays: Mapping[str, Any]) -> None:
        known = ", ".join(overlays) or "none defined"
        self.add(
            ("env", env),
            f"no such environment for --env (known: {known})",
            f"add an [env.{env}] table, or pass one of the known names",
        )

    def validate(
        self, env: str | None, overlay: Mapping[str, Any], overrides: Sequence[str]
    ) -> Deployment | None:
        if overrides:
            return self._validate_with_overrides(env, overlay, overrides)
        return self._validate(env, overlay, ())

    def _validate_with_overrides(
        self, env: str | None, overlay: Mapping[str, Any], overrides: Sequence[str]
    ) -> Deployment | None:
        """Validate with `--set` applied; a problem that the file alone does not have is the
        command line's, so it is reported against `--set`, never against a file line."""
        start = len(self.problems)
        self._validate(env, overlay, ())
        of_file = {(p.key, p.what) for p in self.problems[start:]}
        del self.problems[start:]
        deployment = self._validate(env, overlay, overrides)
        for index in range(start, len(self.problems)):
            problem = self.problems[index]
            if problem.where != "--set" and (problem.key, problem.what) not in of_file:
                self.problems[index] = _on_command_line(problem.key, problem.what, problem.fix)
        return deployment

    def _validate(
        self, env: str | None, overlay: Mapping[str, Any], overrides: Sequence[str]
    ) -> Deployment | None:
        merged = _deep_merge(self.base, overlay) if env else dict(self.base)
        cli: set[Loc] = set()
        for item in overrides:
            parsed = self._override(item, merged)
            if parsed is not None:
                cli.add(_set_path(merged, *parsed))
        for key in sorted(RESERVED_KEYS & merged.keys()):
            self.add((key,), "unknown key", "delete it; --env chooses the environment", env=env)
        if env:
            merged["environment"] = env
        try:
            deployment = Deployment.model_validate(merged)
        except ValidationError as exc:
            for error in exc.errors():
                self._record(tuple(error["loc"]), error, env, cli)
            return None
        volume, endpoint = deployment.volume, deployment.endpoint
        if volume and endpoint.datacenters and volume.datacenter not in endpoint.datacenters:
            self.add(
                ("volume", "datacenter"),
                f"{volume.datacenter} is not in endpoint.datacenters, so no worker could mount "
                "the volume",
                f"add {volume.datacenter} to endpoint.datacenters or move the volume",
                env=env,
            )
        for loc, what, fix in load_balancer.problems(deployment):
            self.add(loc, what, fix, env=env)
        return deployment

    def _record(self, loc: Loc, error: Any, env: str | None, cli: set[Loc]) -> None:
        what, fix = describe(Deployment, loc, error)
        if any(loc[: len(o)] == o for o in cli):
            self.problems.append(_on_command_line(key_of(loc), what, fix))
        else:
            self.add(loc, what, fix, env=env)

    def _override(self, item: str, merged: Mapping[str, Any]) -> tuple[Loc, Any] | None:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            self.problems.append(
                _on_command_line(
                    "", f"{item!r} is not KEY=VALUE",
                    'write it as --set endpoint.gpu_types=["NVIDIA H100 80GB HBM3"]',
                )
            )  # fmt: skip
            return None
        loc: Loc = tuple(part.strip() for part in key.strip().split("."))
        refusal = _refuse_key(loc, merged)
        if refusal is not None:
            self.problems.append(_on_command_line(key.strip(), *refusal))
            return None
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        except RecursionError:
            self.problems.append(
                _on_command_line(
                    key.strip(),
                    "the value's lists or tables are nested too deeply to read",
                    "check the brackets of the value (no podkit.toml value is nested that deep)",
                )
            )
            return None
        if is_secret_key_name(str(loc[-1])) or looks_like_secret_value(text):
            register(value if isinstance(value, str) else text)
        return loc, value


def _on_command_line(key: str, what: str, fix: str) -> Problem:
    return Problem("--set", 0, 0, key, what, fix)


def _refuse_key(loc: Loc, merged: Mapping[str, Any]) -> tuple[str, str] | None:
    """(what, fix) for a `--set` key that cannot name one value of the file, else None."""
    if any(part == "" for part in loc):
        return "empty key part", "write KEY as dotted names, e.g. --set endpoint.workers_max=5"
    if loc[0] in ("env", *RESERVED_KEYS):
        return (
            "environments cannot be set",
            "choose one with --env NAME (an [env.NAME] table of podkit.toml)",
        )
    node: Any = merged
    for end, part in enumerate(loc[:-1], start=1):
        node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            return None
        where = ".".join(str(p) for p in loc[:end])
        if isinstance(node, list):
            return (
                f"{where} is a list",
                "list entries cannot be set with --set; edit podkit.toml, or an "
                "[env.NAME] table chosen with --env",
            )
        if not isinstance(node, Mapping):
            return f"{where} is {kind_of(node)}, not a table", f"set it whole: --set {where}=..."
    return None


_ENV_NAME_FIX = "use lowercase letters, digits and '-' (at most 31), e.g. [env.staging]"


def _holds(tree: Any, loc: Loc) -> bool:
    """Whether `tree` (an overlay) sets `loc` itself."""
    node = tree
    for part in loc:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return bool(loc)


def _set_path(tree: dict[str, Any], loc: Loc, value: Any) -> Loc:
    """Set `loc` to `value`, making the tables on the way; the highest key it added or
    replaced (a problem at or under it comes from this `--set`)."""
    node = tree
    for end, part in enumerate(loc[:-1], start=1):
        child = node.get(str(part))
        if not isinstance(child, dict):
            child = {}
            node[str(part)] = child
            _set_path(child, loc[end:], value)
            return loc[:end]
        node = child
    node[str(loc[-1])] = value
    return loc


def _deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_SECRETISH = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY)", re.I)


def _warnings(file: Path, locator: KeyLocator, deployment: Deployment) -> list[str]:
    found = []
    for key, value in deployment.worker.env.items():
        if _SECRETISH.search(key) and value and "{{" not in value:
            line = locator.line_of(("worker", "env", key))
            found.append(
                f"{file}:{line}: worker.env.{key} holds a literal value; store it as a RunPod "
                f'secret and reference it: worker.secrets.{key} = "<secret name>"'
            )
    if deployment.image.ref and not deployment.image.pinned:
        line = locator.line_of(("image", "ref"))
        found.append(
            f"{file}:{line}: image.ref is not pinned by digest; workers may run a different "
            "image than the one you tested (pin REPO@sha256:...)"
        )
    return found
