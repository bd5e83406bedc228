"""Runs the three workflow linters podkit holds every shipped workflow to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def tool(name: str) -> Path:
    """A linter binary from the venv; missing means the `dev` extra is not installed."""
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} not found next to {sys.executable}: install podkit[dev]")
    return path


def lint_commands(workflow: Path) -> dict[str, list[str]]:
    """The command line of each linter for one workflow file (offline, strictest persona)."""
    return {
        "actionlint": [
            str(tool("actionlint")),
            "-shellcheck",
            str(tool("shellcheck")),
            "-pyflakes=",
            str(workflow),
        ],
        "zizmor": [
            str(tool("zizmor")),
            "--offline",
            "--no-config",
            "--persona",
            "pedantic",
            "--no-progress",
            str(workflow),
        ],
        "check-jsonschema": [
            str(tool("check-jsonschema")),
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow),
        ],
    }


def assert_clean(workflow: Path) -> None:
    """Every linter passes `workflow` with no findings."""
    for name, cmd in lint_commands(workflow).items():
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=60, check=False, cwd=workflow.parent
        )
        report = done.stdout + done.stderr
        assert done.returncode == 0, f"{name} on {workflow}:\n{report}"
        if name == "zizmor":
            assert "No findings to report" in report, report
