"""`podkit[worker]` resolves beside the current vllm and transformers releases (resolution only,
against PyPI: uv reads each wheel's metadata and downloads no torch)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.functional.ci.workflow_lint import tool

ROOT = Path(__file__).resolve().parents[3]
# The GPU image: Linux x86_64, the Python of the scaffold's Dockerfile.
TARGET = ["--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28"]


def _resolve(tmp_path: Path, lines: list[str], *, with_podkit: bool) -> dict[str, str]:
    wanted = tmp_path / "wanted.in"
    wanted.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sources = [str(ROOT / "pyproject.toml"), "--extra", "worker"] if with_podkit else []
    cmd = [str(tool("uv")), "pip", "compile", *sources, str(wanted), *TARGET]
    cmd += ["--no-config", "--no-python-downloads", "--no-header"]
    cmd += ["--default-index", "https://pypi.org/simple"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{' '.join(lines)} with podkit[worker]:\n{done.stderr}"
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", done.stdout, flags=re.MULTILINE)
    return {name.lower(): version for name, version in pins}


@pytest.mark.parametrize("package", ["vllm", "transformers"])
def test_podkit_worker_resolves_beside_the_newest_installable_release(
    package: str, tmp_path: Path
) -> None:
    # The newest release PyPI can install on its own (a release whose own pins cannot
    # resolve is nobody's image), then the same release together with podkit[worker].
    newest = _resolve(tmp_path, [package], with_podkit=False)[package]
    together = _resolve(tmp_path, [f"{package}=={newest}"], with_podkit=True)
    assert together[package] == newest
    assert "runpod" in together
