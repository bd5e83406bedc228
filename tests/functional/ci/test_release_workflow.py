"""The release workflow's build job, run as written on a copy of this checkout: the tag check,
the recorded commit, the sdist and wheel, and their checks."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from podkit import __version__
from tests.gha.runner import JobRun, Runner, load_workflow

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
SHA = "0123456789abcdef0123456789abcdef01234567"


def _build(tmp_path: Path, tag: str) -> tuple[JobRun, Path]:
    ws = tmp_path / "podkit"
    ws.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for rel in filter(None, (name.decode() for name in archive)):
        src = ROOT / rel
        if src.is_file():
            (ws / rel).parent.mkdir(parents=True, exist_ok=True)
            (ws / rel).write_bytes(src.read_bytes())
    temp = tmp_path / "runner-temp-build"
    temp.mkdir()
    (temp / "tools").symlink_to(Path(sys.prefix))  # the lock's tools, as the install step makes
    github = {"event_name": "push", "repository": "acme/podkit", "sha": SHA, "ref": tag}
    runner = Runner(
        workflow=load_workflow(WORKFLOW),
        workspace=ws,
        github=github,
        base_env={
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "GITHUB_REF_TYPE": "tag",
            "GITHUB_REF_NAME": tag.rsplit("/", 1)[-1],
        },
        github_only=frozenset({"tools"}),  # installing the lock into a fresh venv
        timeout_s=300,
    )
    return runner.run_job("build"), ws


def test_a_version_tag_builds_checked_artifacts_that_know_their_commit(tmp_path: Path) -> None:
    run, ws = _build(tmp_path, f"refs/tags/v{__version__}")
    assert run.ok, run.log
    assert run.step("version").outputs["version"] == __version__
    wheel = next((ws / "dist").glob(f"podkit-{__version__}-py3-none-any.whl"))
    assert next((ws / "dist").glob(f"podkit-{__version__}.tar.gz"))
    with zipfile.ZipFile(wheel) as zf:
        release = zf.read("podkit/_release.py").decode()
        assert "podkit/scaffold/templates/workflow/deploy.yml" in zf.namelist()
    assert f'COMMIT = "{SHA}"' in release and 'REPOSITORY = "acme/podkit"' in release
    assert "PASSED" in run.log  # twine check --strict


def test_a_tag_that_is_not_the_version_stops_the_release(tmp_path: Path) -> None:
    run, ws = _build(tmp_path, "refs/tags/v9.9.9")
    assert run.step("version").outcome == "failure"
    assert "does not match __version__" in run.step("version").log
    assert not (ws / "dist").exists()
