"""Fail when requirements.lock no longer satisfies pyproject.toml (a dependency was added or
changed without `make lock`).

    python scripts/check_lock.py [requirements.lock]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def locked_versions(lock_text: str) -> dict[str, str]:
    """`name==version` lines of a pip-style lock file, by canonical name."""
    pins: dict[str, str] = {}
    for line in lock_text.splitlines():
        m = _PIN.match(line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def wanted(pyproject_text: str) -> list[Requirement]:
    """Every requirement of the project and of all its extras."""
    project = tomllib.loads(pyproject_text)["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return [Requirement(line) for line in lines]


def problems(pyproject_text: str, lock_text: str) -> list[str]:
    """What the lock lacks: each missing package, or a locked version outside the range."""
    pins = locked_versions(lock_text)
    found: list[str] = []
    for req in wanted(pyproject_text):
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        version = pins.get(canonicalize_name(req.name))
        if version is None:
            found.append(f"{req.name} is not in the lock")
        elif not req.specifier.contains(version, prereleases=True):
            found.append(f"{req.name}=={version} is outside {req}")
    return found


def main(argv: list[str]) -> int:
    lock = Path(argv[1]) if len(argv) > 1 else ROOT / "requirements.lock"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = problems(pyproject, lock.read_text(encoding="utf-8"))
    for problem in found:
        sys.stderr.write(f"{lock.name}: {problem} (pyproject.toml wants it); run `make lock`\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
