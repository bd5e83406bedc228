"""`podkit init` as a user runs it: files written, refusals, and a project podkit accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podkit import __version__
from podkit.cli.main import main
from podkit.config import load_config
from tests.functional.ci.workflow_lint import (
    assert_project_clean,
    project_lint_commands,
)

BIN = Path(sys.executable).parent


def test_init_writes_the_project_and_lists_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "Speech_Worker"
    assert main(["init", str(dest)]) == 0
    out = capsys.readouterr().out
    for rel in ("handler.py", "Dockerfile", "podkit.toml", ".github/workflows/deploy.yml"):
        assert (dest / rel).is_file()
        assert rel in out
    assert "speech-worker" in out


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "podkit.toml").write_text("mine\n")
    assert main(["init", str(tmp_path), "--name", "w"]) == 1
    err = capsys.readouterr().err
    assert "podkit.toml" in err and "--force" in err
    assert (tmp_path / "podkit.toml").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["podkit.toml"]
    assert main(["init", str(tmp_path), "--name", "w", "--force", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "podkit.toml" in listed["files"]
    assert 'project = "w"' in (tmp_path / "podkit.toml").read_text()


def test_init_into_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").write_text("x")
    assert main(["init", str(tmp_path / "taken")]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_init_under_a_file_is_an_error_naming_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").write_text("x")
    dest = tmp_path / "taken" / "worker"
    assert main(["init", str(dest), "--json"]) == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert str(dest) in error["message"] and "Traceback" not in captured.err
    assert (tmp_path / "taken").read_text() == "x"


def test_init_on_a_symlink_loop_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert main(["init", str(tmp_path / "a"), "--json"]) == 1
    captured = capsys.readouterr()
    assert str(tmp_path / "a") in json.loads(captured.out)["error"]["message"]
    assert "Traceback" not in captured.err


def test_the_scaffolded_config_is_valid_for_both_environments(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "w"), "--registry", "gar"]) == 0
    for env in ("staging", "production"):
        loaded = load_config(tmp_path / "w" / "podkit.toml", env=env)
        assert loaded.deployment.project == "w"
        assert [s.name for s in loaded.deployment.smoke] == ["predict"]


def test_the_scaffolded_files_pass_their_linters(tmp_path: Path) -> None:
    dest = tmp_path / "w"
    assert main(["init", str(dest), "--registry", "dockerhub"]) == 0
    assert_project_clean(dest)


def test_the_scaffolded_project_passes_its_own_tests(tmp_path: Path) -> None:
    dest = tmp_path / "w"
    assert main(["init", str(dest)]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=dest,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


HANDLER = """import runpod


def handler(job):
    return {"echo": job["input"]}


runpod.serverless.start({"handler": handler})
"""


def test_init_adopts_an_existing_sdk_handler_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "my-worker"
    project.mkdir()
    (project / "main.py").write_bytes(HANDLER.encode())
    assert main(["init", str(project / "main.py")]) == 0
    out = capsys.readouterr().out
    assert "adopted main.py" in out and "with_builtins" not in out.split("wrote:")[0]
    assert (project / "main.py").read_bytes() == HANDLER.encode()
    assert not (project / "handler.py").exists()
    assert 'CMD ["python", "-u", "main.py"]' in (project / "Dockerfile").read_text()
    assert "PODKIT_ACTIONS" not in (project / "podkit.toml").read_text()
    loaded = load_config(project / "podkit.toml", env="staging")
    assert [s.name for s in loaded.deployment.smoke] == ["handler"]
    assert (project / ".github" / "workflows" / "deploy.yml").is_file()
    assert (project / "tests" / "test_local_runpod.py").is_file()


def test_init_refuses_a_directory_with_two_handlers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(HANDLER)
    assert main(["init", str(tmp_path), "--name", "w"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "a.py, b.py" in err and "podkit init PATH/TO/handler.py" in err


def test_an_adopted_project_passes_its_linters_and_its_own_tests(tmp_path: Path) -> None:
    dest = tmp_path / "w"
    dest.mkdir()
    user = Path(__file__).resolve().parents[2] / "fixtures" / "user_handler" / "handler.py"
    (dest / "handler.py").write_bytes(user.read_bytes())  # calls nvidia-smi, lists the volume
    assert main(["init", str(dest)]) == 0
    for cmd in (
        *project_lint_commands("tests", "demo.py"),
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
    ):
        done = subprocess.run(
            cmd, cwd=dest, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert (dest / "handler.py").read_bytes() == user.read_bytes()


def test_adopting_keeps_the_repositorys_own_files_and_passes_its_own_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker repository has its Dockerfile, requirements and Makefile already: adopting
    writes around them, keeps them byte for byte, and says so."""
    dest = tmp_path / "w"
    dest.mkdir()
    user = Path(__file__).resolve().parents[2] / "fixtures" / "user_handler" / "handler.py"
    own = {
        "handler.py": user.read_bytes(),
        "Dockerfile": b'FROM python:3.11-slim\nCOPY . /app\nCMD ["python", "/app/handler.py"]\n',
        "requirements.txt": b"runpod\n",
        "Makefile": b"build:\n\tdocker build .\n",
        "README.md": b"# my worker\n",
    }
    for name, data in own.items():
        (dest / name).write_bytes(data)
    assert main(["init", str(dest), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["kept"]) == ["Dockerfile", "Makefile", "README.md", "requirements.txt"]
    assert "podkit.toml" in report["files"] and "Dockerfile" not in report["files"]
    for name, data in own.items():
        assert (dest / name).read_bytes() == data
    dev = (dest / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev and "worker" in dev.split("podkit[", 1)[1].split("]")[0]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=dest, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_adopting_warns_when_the_kept_dockerfile_does_not_start_the_handler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)
    (tmp_path / "Dockerfile").write_text('FROM python:3.11\nCMD ["python", "serve.py"]\n')
    assert main(["init", str(tmp_path), "--name", "w"]) == 0
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert "your Dockerfile does not name handler.py" in err and "worker_command" in err
    assert "kept as they are" in captured.out and "the Dockerfile's CMD runs it" not in captured.out
    assert main(["init", str(tmp_path), "--name", "w", "--force"]) == 0
    assert 'CMD ["python", "-u", "handler.py"]' in (tmp_path / "Dockerfile").read_text()


def test_a_fresh_project_installs_and_passes_make_test(tmp_path: Path) -> None:
    # What a user does next: `make test` on a fresh machine builds .venv from the project's
    # own requirements, which name where this podkit came from (never an unpublished pin).
    dest = tmp_path / "fresh"
    assert main(["init", str(dest)]) == 0
    requirements = (dest / "requirements.txt").read_text()
    assert f"podkit[worker]=={__version__}" in requirements if _released() else "@" in requirements
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p != str(BIN)
    )  # the system python3, as on a fresh machine
    done = subprocess.run(
        ["make", "test"],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "3 passed" in done.stdout


def _released() -> bool:
    """True when this podkit came from an index (a published release)."""
    from importlib import metadata

    return metadata.distribution("podkit").read_text("direct_url.json") is None


def test_an_action_that_is_no_uses_reference_is_refused_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "w"
    assert main(["init", str(dest), "--action", "bad action"]) == 1
    err = capsys.readouterr().err
    assert "--action 'bad action' is not a GitHub Actions `uses:` reference" in err
    assert "OWNER/REPO[/PATH]@REF" in err and "--action acme/podkit@" in err
    assert not dest.exists()


STREAMING = {
    "generator": "def handler(job):\n    for i in range(3):\n        yield {'part': i}\n",
    "async_generator": "async def handler(job):\n    for i in range(3):\n        yield i\n",
}


@pytest.mark.parametrize("kind", sorted(STREAMING))
def test_an_adopted_streaming_handler_passes_its_own_handler_test(
    tmp_path: Path, kind: str
) -> None:
    source = (
        f"import runpod\n\n\n{STREAMING[kind]}\n\nif __name__ == '__main__':\n"
        "    runpod.serverless.start({'handler': handler, 'return_aggregate_stream': True})\n"
    )
    (tmp_path / "handler.py").write_text(source)
    assert main(["init", str(tmp_path), "--name", "w"]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_handler.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_handler_one_folder_down_is_pointed_at_instead_of_writing_a_new_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "handler.py").write_text(HANDLER)
    assert main(["init", str(tmp_path), "--name", "w"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "src/handler.py is one" in err and "podkit init src/handler.py" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_a_file_that_only_mentions_the_sdk_start_is_not_a_handler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = '"""Call runpod.serverless.start({...}) in handler.py."""\n# runpod.serverless.start(\n'
    (tmp_path / "notes.py").write_text(notes)
    assert main(["init", str(tmp_path), "--name", "w", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["adopted"] is None and "handler.py" in report["files"]
    assert (tmp_path / "notes.py").read_text() == notes


def test_adopting_a_requirements_file_that_pins_the_sdk_names_the_range_podkit_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)
    (tmp_path / "requirements.txt").write_text("torch==2.3.0\nrunpod==1.7.0  # pinned\n")
    assert main(["init", str(tmp_path), "--name", "w"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "your requirements.txt pins runpod==1.7.0; podkit's worker needs runpod" in err
    assert (tmp_path / "requirements.txt").read_text().startswith("torch==2.3.0\n")
