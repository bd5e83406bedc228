"""`[local] worker_command`: its two spellings, its overlays, its errors, its directory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from podkit.config import load_config
from podkit.config.local import LocalWorker, local_worker
from podkit.errors import ConfigError

BASE = """project = "demo"
[image]
ref = "ghcr.io/acme/worker:1"
[endpoint]
gpu_types = ["NVIDIA H100 80GB HBM3"]
"""


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "podkit.toml"
    path.write_text(BASE + text)
    return path


def problems(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


@pytest.mark.parametrize(
    "written",
    ["\"python -u app.py --name 'a b'\"", '["python", "-u", "app.py", "--name", "a b"]'],
)
def test_a_command_line_or_a_list_names_the_same_words(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, f"[local]\nworker_command = {written}\n")
    local = load_config(path).deployment.local
    assert local.command == ("python", "-u", "app.py", "--name", "a b")


def test_the_worker_runs_in_the_directory_of_podkit_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "project", '[local]\nworker_command = ["python", "app.py"]\n')
    monkeypatch.chdir(tmp_path)
    worker = local_worker(load_config(path).deployment.local, Path("project/podkit.toml"))
    assert worker is not None
    assert worker.cwd == (tmp_path / "project").resolve()
    assert worker.written == ("python", "app.py")


@pytest.mark.parametrize("first", ["python", "python3"])
def test_python_is_the_interpreter_podkit_runs_on(first: str) -> None:
    worker = LocalWorker((first, "-u", "app.py"), Path("/srv/app"))
    assert worker.command == (sys.executable, "-u", "app.py")
    assert worker.describe() == f"`{first} -u app.py` in /srv/app ({first}: {sys.executable})"


def test_another_interpreter_runs_as_written() -> None:
    worker = LocalWorker((".venv/bin/python", "app.py"), Path("/srv/app"))
    assert worker.command == (".venv/bin/python", "app.py")
    assert worker.describe() == "`.venv/bin/python app.py` in /srv/app"


def test_without_the_key_nothing_is_set(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    deployment = load_config(path).deployment
    assert deployment.local.command is None
    assert local_worker(deployment.local, path) is None


def test_an_environment_overlays_its_own_command(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[local]\nworker_command = "python app.py"\n'
        '[env.staging.local]\nworker_command = "python app.py --debug"\n',
    )
    assert load_config(path).deployment.local.command == ("python", "app.py")
    staging = load_config(path, env="staging").deployment.local
    assert staging.command == ("python", "app.py", "--debug")


@pytest.mark.parametrize(
    ("written", "what", "fix"),
    [
        ("3", "must be a command line in quotes or a list of its words", "worker_command = ["),
        ("[]", "names no command", "the command the Dockerfile's CMD runs"),
        ('["python", ""]', "has an empty word", "the command the Dockerfile's CMD runs"),
        ('"  "', "names no command", "the command the Dockerfile's CMD runs"),
        ('"python \'app.py"', "is not a command line (No closing quotation)", "close the quote"),
        ('["python", 3]', "must be a command line in quotes or a list", "worker_command = ["),
    ],
)
def test_a_bad_command_is_named_at_its_line_with_the_fix(
    tmp_path: Path, written: str, what: str, fix: str
) -> None:
    path = write(tmp_path, f"[local]\nworker_command = {written}\n")
    said = problems(path)
    assert f"podkit.toml:7:1: local.worker_command: {what}" in said
    assert fix in said.split("; ", 1)[1]


def test_a_misplaced_or_misspelt_key_says_where_it_belongs(tmp_path: Path) -> None:
    misplaced = tmp_path / "podkit.toml"
    misplaced.write_text('worker_command = "python app.py"\n' + BASE)
    assert "it belongs in the local section: local.worker_command" in problems(misplaced)
    misspelt = write(tmp_path / "b", '[local]\nworker_comand = "python app.py"\n')
    assert "did you mean 'worker_command'?" in problems(misspelt)
