"""Load podkit.toml: parse, overlay an environment and `--set` overrides, validate.

Every problem becomes one `ConfigError` listing each bad key as `FILE:LINE: KEY: what is
wrong`, with the allowed values or the closest known key. Nothing here touches the network.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from podkit.config.locator import KeyLocator
from podkit.config.schema import Deployment
from podkit.errors import ConfigError
from podkit.redact import register
from podkit.secret_shapes import is_secret_key_name, looks_like_secret_value

DEFAULT_FILE = "podkit.toml"
ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9\-]{0,30}$")
RESERVED_KEYS = frozenset({"environment"})

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
    """Read, overlay and validate a podkit.toml; raise `ConfigError` on any problem.

    Every environment in the file is validated, not only the one asked for, so a broken
    production overlay is caught while deploying staging.
    """
    file = Path(path)
    text = _read(file)
    raw = _parse(file, text)
    locator = KeyLocator(text)
    overlays = _environments(file, raw, locator)
    base = {key: value for key, value in raw.items() if key != "env"}
    problems: list[str] = []
    for name in (None, *overlays):
        if name == env:
            continue
        _validate(file, locator, base, name, overlays, (), problems)
    if env is not None and env not in overlays:
        known = ", ".join(overlays) or "none defined"
        raise ConfigError(
            f"{file}: no environment {env!r} (known: {known})",
            hint=f"add an [env.{env}] table to {file.name}, or pick one of the known names",
        )
    deployment = _validate(file, locator, base, env, overlays, overrides, problems)
    if problems or deployment is None:
        raise ConfigError(
            "\n".join(problems), hint=f"fix the keys above in {file} (see docs/config.md)"
        )
    return LoadedConfig(
        deployment=deployment,
        path=file,
        environment=env,
        environments=tuple(overlays),
        warnings=tuple(_warnings(file, locator, deployment)),
    )


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such file",
            hint="run `podkit init` to create one, or pass --config PATH",
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read ({exc.strerror})") from None


def _parse(file: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = f"{where.group(1)}" if where else "?"
        raise ConfigError(
            f"{file}:{line}: not valid TOML: {message}",
            hint="check quoting, brackets and that each key appears once",
        ) from None


def _environments(file: Path, raw: Mapping[str, Any], locator: KeyLocator) -> dict[str, Any]:
    envs = raw.get("env", {})
    line = locator.line_of(("env",))
    if not isinstance(envs, dict):
        raise ConfigError(f"{file}:{line}: env: must be a table of [env.NAME] tables")
    for name, overlay in envs.items():
        where = f"{file}:{locator.line_of(('env', name))}"
        if not ENV_NAME.match(name):
            raise ConfigError(
                f"{where}: env.{name}: environment names are lowercase letters, digits and '-'"
            )
        if not isinstance(overlay, dict):
            raise ConfigError(f"{where}: env.{name}: must be a table ([env.{name}])")
        if "env" in overlay or "project" in overlay:
            bad = "env" if "env" in overlay else "project"
            raise ConfigError(f"{where}: env.{name}.{bad}: cannot be set per environment")
    return dict(envs)


def _validate(
    file: Path,
    locator: KeyLocator,
    base: dict[str, Any],
    env: str | None,
    overlays: Mapping[str, Any],
    overrides: Sequence[str],
    problems: list[str],
) -> Deployment | None:
    merged = _deep_merge(base, overlays.get(env, {})) if env else dict(base)
    override_locs: set[Loc] = set()
    for item in overrides:
        loc, value = _parse_override(item)
        _set_path(merged, loc, value)
        override_locs.add(loc)
    for key in RESERVED_KEYS & merged.keys():
        problems.append(f"{file}:{locator.line_of((key,))}: {key}: unknown key")
    if env:
        merged["environment"] = env
    try:
        return Deployment.model_validate(merged)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(_describe(file, locator, env, loc, error, override_locs))
    return None


def _describe(
    file: Path,
    locator: KeyLocator,
    env: str | None,
    loc: Loc,
    error: Any,
    override_locs: set[Loc],
) -> str:
    key = ".".join(str(part) for part in loc) or "(top level)"
    if any(loc[: len(o)] == o for o in override_locs):
        where = "--set"
    else:
        line = (locator.lines.get(("env", env, *loc)) if env else None) or locator.line_of(loc)
        where = f"{file}:{line if line is not None else 1}"
    scope = f" [env.{env}]" if env else ""
    if error["type"] == "extra_forbidden":
        return f"{where}: {key}{scope}: unknown key{_suggest(loc)}"
    if error["type"] == "missing":
        return f"{where}: {key}{scope}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {key}{scope}: {message}{_shown_input(loc, error.get('input'))}"


# Values under these sections may be secrets (an env value, a mistyped secret, a job input):
# errors about them never repeat what the file holds. ([[models]] sources arrive masked.)
_PRIVATE_ROOTS = frozenset({"worker", "smoke"})


def _shown_input(loc: Loc, got: Any) -> str:
    if got is None or isinstance(got, dict | list) or not loc or loc[0] in _PRIVATE_ROOTS:
        return ""
    return f" (got {got!r})"


def _suggest(loc: Loc) -> str:
    """'; did you mean X? (allowed: ...)' for an unknown key, from the schema at its parent."""
    model: type[BaseModel] | None = Deployment
    for part in loc[:-1]:
        if model is None or isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        annotation = info.annotation if info else None
        model = _model_of(annotation)
    if model is None:
        return ""
    allowed = sorted(name for name in model.model_fields if name not in RESERVED_KEYS)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _parse_override(item: str) -> tuple[Loc, Any]:
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"--set {item!r}: expected KEY=VALUE",
            hint='for example --set endpoint.gpu_types=["NVIDIA H100 80GB HBM3"]',
        )
    loc: Loc = tuple(part.strip() for part in key.strip().split("."))
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    if is_secret_key_name(str(loc[-1])) or looks_like_secret_value(text):
        register(value if isinstance(value, str) else text)
    return loc, value


def _set_path(tree: dict[str, Any], loc: Loc, value: Any) -> None:
    node = tree
    for part in loc[:-1]:
        child = node.get(str(part))
        if not isinstance(child, dict):
            child = {}
            node[str(part)] = child
        node = child
    node[str(loc[-1])] = value


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
