"""Runs the three workflow linters podkit holds every shipped workflow to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
RUFF = ["--isolated", "--no-cache", "--line-length", "100", "--target-version", "py311"]


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


def project_lint_commands(*paths: str) -> list[list[str]]:
    """hadolint on a scaffold's Dockerfile and ruff (check, format) on `paths` of it."""
    return [
        [str(BIN / "hadolint"), "Dockerfile"],
        [str(BIN / "ruff"), "check", *RUFF, "--select", "E,F,W,I,B,UP,SIM,RUF", *paths],
        [str(BIN / "ruff"), "format", *RUFF, "--check", *paths],
    ]


def assert_project_clean(project: Path) -> None:
    """A scaffolded project: its workflow, Dockerfile and Python pass their linters."""
    assert_clean(project / ".github" / "workflows" / "deploy.yml")
    for cmd in project_lint_commands("."):
        done = subprocess.run(
            cmd, cwd=project, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
