"""What `podkit init` warns about once the project is written: what will not work as written
(a handler that does not parse, a workflow GitHub will not find) and what the user's own
files, kept in place when adopting a handler, may need for the project around them."""

from __future__ import annotations

import ast
import importlib.metadata
import re
from pathlib import Path


def warnings_for(dest: Path, handler: str | None, kept: list[str]) -> list[str]:
    """Every warning for a project written in `dest` (`kept`: its files left as they were)."""
    return _layout_warnings(dest, handler) + _kept_warnings(dest, handler, kept)


def _layout_warnings(dest: Path, handler: str | None) -> list[str]:
    """What will not work as written: a handler that does not parse, a workflow GitHub will
    not find (it reads .github/workflows at the repository's root only)."""
    found: list[str] = []
    if handler is not None:
        try:
            ast.parse((dest / handler).read_bytes(), filename=handler)
        except (SyntaxError, ValueError, OSError) as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) else ""
            found.append(
                f"{handler} does not parse as Python{where}: its tests and the worker fail "
                "until it does"
            )
    root = next((d for d in (dest, *dest.parents) if (d / ".git").exists()), None)
    if root is not None and root != dest:
        found.append(
            f"GitHub runs workflows only from {root / '.github' / 'workflows'}: move "
            f"{dest.relative_to(root) / '.github' / 'workflows' / 'deploy.yml'} there and run "
            f"its steps in {dest.relative_to(root)} (working-directory, build context)"
        )
    return found


def _kept_warnings(dest: Path, handler: str | None, kept: list[str]) -> list[str]:
    """What the user's own files kept in place may need for the project around them."""
    found: list[str] = []
    if handler is not None and "Dockerfile" in kept:
        try:
            dockerfile = (dest / "Dockerfile").read_text(encoding="utf-8", errors="replace")
        except OSError:
            dockerfile = ""
        if handler not in dockerfile:
            found.append(
                f"your Dockerfile does not name {handler}: its CMD must start the handler "
                f'(e.g. CMD ["python", "-u", "{handler}"]), or set '
                "[local] worker_command in podkit.toml to what it does run"
            )
    if "requirements.txt" in kept:
        found.append(
            "your requirements.txt is kept: requirements-dev.txt installs it with podkit's "
            "worker and the local RunPod for the tests; add podkit[worker] to it if the "
            "handler uses podkit's built-ins (with_builtins)"
        )
        pinned = _runpod_pin(dest / "requirements.txt")
        if pinned:
            found.append(
                f"your requirements.txt pins {pinned}; podkit's worker needs "
                f"{_sdk_range()}: widen the pin if pip reports a conflict"
            )
    return found


def _runpod_pin(requirements: Path) -> str | None:
    """The line of a requirements file that constrains the runpod SDK's version, if any."""
    try:
        lines = requirements.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        text = line.split("#", 1)[0].strip()
        name = re.match(r"runpod\b\s*(\[[^\]]*\])?\s*([=<>!~].*)?$", text, re.IGNORECASE)
        if name is not None and name.group(2):
            return text
    return None


def _sdk_range() -> str:
    """podkit's own requirement on the runpod SDK (from its installed metadata)."""
    try:
        requires = importlib.metadata.requires("podkit") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    for req in requires:
        if req.startswith("runpod"):
            return req.split(";", 1)[0].strip()
    return "a recent runpod"
