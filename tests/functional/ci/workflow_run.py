"""Running the shipped deploy workflow's steps locally, with the build replaced by a digest."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from podkit import _release
from tests.gha.runner import Runner, load_workflow

ROOT = Path(__file__).resolve().parents[3]
DIGEST = "sha256:" + "5e" * 32
FAKE_KEY = "rpa_FAKEKEY0123456789SHOULDNEVERBEPRINTED"
# Steps that only make sense on GitHub: installing podkit (the Action's `install` step; the
# test's venv has podkit) and asking the GitHub API for the last state artifact (the test keeps
# `.podkit/` between runs instead). podkit's own Action runs from this checkout's action.yml.
GITHUB_ONLY = frozenset({"install", "previous"})


def runner(
    workflow: Path,
    workspace: Path,
    *,
    event: str = "push",
    inputs: dict[str, Any] | None = None,
    digest: str = DIGEST,
    target: str | None = None,
) -> Runner:
    """A runner for `workflow` in `workspace`, as GitHub would start it for `event`."""
    venv_bin = str(Path(sys.executable).parent)
    base_env = {"PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    if target:
        base_env["PODKIT_TARGET"] = target
    return Runner(
        workflow=load_workflow(workflow),
        workspace=workspace,
        github={
            "event_name": event,
            "repository": "acme/GPU-Worker",
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "actor": "octocat",
            "ref": "refs/heads/main",
            "token": "ghs_notarealtoken",
        },
        inputs=inputs or {},
        secrets={"RUNPOD_API_KEY": FAKE_KEY, "GITHUB_TOKEN": "ghs_notarealtoken"},
        base_env=base_env,
        provided={"build": {"digest": digest}, "previous": {"run_id": ""}},
        github_only=GITHUB_ONLY,
        actions={_release.REPOSITORY: ROOT},
    )
