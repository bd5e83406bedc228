"""`podkit init` against what is already on disk and what the user passes: links, files in
the way of folders, odd handler names, secrets in options. Each refusal writes nothing."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from podkit.cli.main import main

HANDLER = """import runpod


def handler(job):
    return job["input"]


runpod.serverless.start({"handler": handler})
"""
CANARY = "ghp_InitCanary0123456789abcdefghijKLMNOPQR"


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_file_where_a_folder_goes_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".github").write_text("mine\n")
    assert main(["init", str(tmp_path), "--name", "w"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert ".github is not a folder" in err and "Traceback" not in err
    assert _tree(tmp_path) == [".github"]


def test_a_directory_where_a_file_goes_is_refused_even_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Makefile").mkdir()
    assert main(["init", str(tmp_path), "--name", "w", "--force"]) == 1
    assert "Makefile is a directory" in " ".join(capsys.readouterr().err.split())
    assert _tree(tmp_path) == ["Makefile"]


def test_a_dangling_link_is_the_users_file_and_force_replaces_the_link_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, outside = tmp_path / "p", tmp_path / "outside"
    project.mkdir()
    (project / "Makefile").symlink_to(outside)
    assert main(["init", str(project), "--name", "w"]) == 1
    assert "would overwrite Makefile" in capsys.readouterr().err
    assert not outside.exists() and _tree(project) == ["Makefile"]
    assert main(["init", str(project), "--name", "w", "--force"]) == 0
    assert not outside.exists()
    assert not (project / "Makefile").is_symlink()
    assert "pytest" in (project / "Makefile").read_text()


def test_a_folder_linked_out_of_the_project_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, elsewhere = tmp_path / "p", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "tests").symlink_to(elsewhere)
    assert main(["init", str(project), "--name", "w", "--force"]) == 1
    assert "tests is a link out of the project" in " ".join(capsys.readouterr().err.split())
    assert list(elsewhere.iterdir()) == [] and _tree(project) == ["tests"]


@pytest.mark.parametrize("name", ['my "h".py', "back\\slash.py", "new\nline.py"])
def test_a_handler_name_no_config_can_hold_is_refused(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / name).write_text(HANDLER)
    assert main(["init", str(tmp_path / name)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "rename the file" in err and "Traceback" not in err
    assert _tree(tmp_path) == [name]


def test_a_handler_name_with_spaces_and_accents_is_written_exactly(tmp_path: Path) -> None:
    name = "mein händler.py"
    (tmp_path / name).write_text(HANDLER)
    assert main(["init", str(tmp_path / name)]) == 0
    config = tomllib.loads((tmp_path / "podkit.toml").read_text(encoding="utf-8"))
    assert config["local"]["worker_command"] == ["python", "-u", name]
    cmd = (tmp_path / "Dockerfile").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert json.loads(cmd.removeprefix("CMD ")) == ["python", "-u", name]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--podkit-spec", f"podkit @ git+https://x-access-token:{CANARY}@github.com/a/podkit"),
        ("--podkit-spec", "podkit @ git+https://me:hunter2-pass@example.com/podkit"),
        ("--action", f"acme/podkit@{'0' * 40} # {CANARY}"),
    ],
)
def test_a_secret_in_an_option_is_never_written_into_the_project(
    tmp_path: Path,
    option: str,
    value: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GH_TOKEN", CANARY)
    dest = tmp_path / "w"
    assert main(["init", str(dest), option, value]) == 1
    captured = capsys.readouterr()
    assert f"{option} holds a secret" in " ".join(captured.err.split())
    assert CANARY not in captured.out + captured.err and "hunter2" not in captured.err
    assert not dest.exists()


def test_an_environment_reference_in_the_requirement_is_kept_for_pip(tmp_path: Path) -> None:
    spec = "podkit @ git+https://x-access-token:${GH_TOKEN}@github.com/a/podkit@v1"
    assert main(["init", str(tmp_path / "w"), "--podkit-spec", spec]) == 0
    requirements = (tmp_path / "w" / "requirements.txt").read_text()
    assert "podkit[worker] @ git+https://x-access-token:${GH_TOKEN}@github.com/" in requirements


def test_placeholders_inside_an_option_are_written_as_given(tmp_path: Path) -> None:
    action = f"acme/podkit@{'0' * 40} # @@ACTION@@ @@other@@"
    assert main(["init", str(tmp_path / "w"), "--action", action]) == 0
    workflow = (tmp_path / "w" / ".github" / "workflows" / "deploy.yml").read_text()
    assert f"uses: {action}\n" in workflow


def test_a_requirement_on_two_lines_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = "podkit==1.0\n--index-url http://127.0.0.1:9/simple"
    assert main(["init", str(tmp_path / "w"), "--podkit-spec", spec]) == 1
    assert "--podkit-spec is not one requirement" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def test_an_adopted_handler_that_does_not_parse_is_named_in_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "handler.py").write_text(HANDLER.replace("(job)", "(job"))
    assert main(["init", str(tmp_path), "--name", "w"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "warning: handler.py does not parse as Python (line 4)" in err


def test_a_project_below_the_repository_root_is_told_where_workflows_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "handler.py").write_text(HANDLER)
    assert main(["init", str(tmp_path / "src" / "handler.py"), "--name", "w"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"GitHub runs workflows only from {tmp_path / '.github' / 'workflows'}" in err
