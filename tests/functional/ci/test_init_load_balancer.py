"""`podkit init --type load_balancer`: a FastAPI worker project podkit accepts, whose files pass
their linters and whose own tests pass (in-process and through the local load balancer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.config import load_config
from tests.functional.ci.workflow_lint import assert_project_clean


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("lb") / "chat-api"
    assert main(["init", str(dest), "--type", "load_balancer"]) == 0
    return dest


def test_the_project_is_a_load_balancer_podkit_accepts(project: Path) -> None:
    for rel in ("app.py", "Dockerfile", "podkit.toml", "tests/test_app.py"):
        assert (project / rel).is_file()
    assert (project / ".github" / "workflows" / "deploy.yml").is_file()
    for env in ("staging", "production"):
        deployment = load_config(project / "podkit.toml", env=env).deployment
        assert deployment.endpoint.type == "load_balancer"
        assert [s.path for s in deployment.smoke] == ["/predict"]


def test_an_unknown_type_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "x"), "--type", "lb"]) == 1
    assert "use queue or load_balancer" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_queue_handler_is_not_adopted_as_a_load_balancer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = 'import runpod\n\nrunpod.serverless.start({"handler": lambda job: job})\n'
    (tmp_path / "main.py").write_text(handler)
    assert main(["init", str(tmp_path / "main.py"), "--type", "load_balancer"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "main.py is a queue handler" in err and "drop --type to adopt it" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.py"]


def test_the_files_pass_their_linters(project: Path) -> None:
    assert_project_clean(project)


def test_the_project_passes_its_own_tests(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
