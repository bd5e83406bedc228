"""`podkit init`'s rendering: names, files, and the registry choice carried through."""

from __future__ import annotations

import pytest

from podkit import __version__
from podkit.errors import ConfigError
from podkit.scaffold.project import (
    PROJECT_FILES,
    WORKFLOW_PATH,
    ProjectSpec,
    project_name,
    render_project,
)
from podkit.scaffold.workflow import render_workflow


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("My_Worker", "my-worker"),
        ("gpu-worker", "gpu-worker"),
        ("  x  ", "x"),
        ("a" * 50, "a" * 40),
        ("Müller Modell", "muller-modell"),
        ("ünï", "uni"),
    ],
)
def test_project_names_are_made_valid(raw: str, name: str) -> None:
    assert project_name(raw) == name


def test_a_name_with_nothing_usable_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError) as err:
        project_name("___")
    assert "--name" in str(err.value)


def test_every_file_is_rendered_with_no_placeholder_left() -> None:
    files = render_project(ProjectSpec("demo-worker", pip_spec=f"podkit=={__version__}"))
    assert set(files) == {*PROJECT_FILES.values(), WORKFLOW_PATH}
    for path, text in files.items():
        assert "@@" not in text, path
    assert 'project = "demo-worker"' in files["podkit.toml"]
    assert f"podkit[worker]=={__version__}" in files["requirements.txt"]
    assert '@action("predict"' in files["handler.py"]
    assert "PODKIT_ACTIONS=handler" in files["Dockerfile"]


@pytest.mark.parametrize("registry", ["ghcr", "gar", "dockerhub"])
def test_the_workflow_is_the_shipped_one_for_the_registry(registry: str) -> None:
    files = render_project(ProjectSpec("w", registry=registry))
    assert files[WORKFLOW_PATH] == render_workflow(registry)


def test_a_custom_podkit_spec_and_action_reach_the_image_the_tests_and_ci() -> None:
    spec = "podkit @ git+https://example.invalid/podkit@v1"
    action = "acme/podkit@" + "ab" * 20 + " # podkit 0.1.0"
    files = render_project(ProjectSpec("w", pip_spec=spec, action=action))
    assert "podkit[worker] @ git+https://example.invalid/podkit@v1" in files["requirements.txt"]
    assert "podkit[emulator] @ git+" in files["requirements-dev.txt"]
    workflow = files[WORKFLOW_PATH]
    assert workflow.count(f"uses: {action}\n") == 6  # plan, apply, summary; rollback, test, summary


def test_the_readme_keeps_the_two_command_setup() -> None:
    readme = render_project(ProjectSpec("w"))["README.md"]
    assert "make demo" in readme and "make test" in readme
    assert "RUNPOD_API_KEY" in readme


@pytest.mark.parametrize(
    ("spec", "worker", "dev"),
    [
        ("podkit==1.2", "podkit[worker]==1.2", "podkit[emulator]==1.2"),
        ("podkit>=1,<2", "podkit[worker]>=1,<2", "podkit[emulator]>=1,<2"),
        ("podkit~=1.2", "podkit[worker]~=1.2", "podkit[emulator]~=1.2"),
        ("podkit", "podkit[worker]", "podkit[emulator]"),
        ("podkit[worker]==1", "podkit[worker]==1", "podkit[emulator,worker]==1"),
        ("podkit @ file:///src/podkit", "podkit[worker] @ file:///src/podkit", None),
        ("git+https://example.invalid/podkit@v1", "podkit[worker] @ git+https://", None),
    ],
)
def test_the_image_always_gets_the_worker_extra_and_the_tests_the_emulator(
    spec: str, worker: str, dev: str | None
) -> None:
    files = render_project(ProjectSpec("w", pip_spec=spec))
    assert worker in files["requirements.txt"]
    assert (dev or worker.replace("worker", "emulator")) in files["requirements-dev.txt"]


@pytest.mark.parametrize("spec", ["requests==2", "./podkit", "podkitx==1", "podkit==1\n-e ."])
def test_a_spec_that_is_no_podkit_requirement_is_refused(spec: str) -> None:
    with pytest.raises(ConfigError) as err:
        render_project(ProjectSpec("w", pip_spec=spec))
    assert "--podkit-spec" in err.value.message


@pytest.mark.parametrize("kind", ["queue", "load_balancer"])
def test_env_files_stay_out_of_the_image_and_the_repository(kind: str) -> None:
    # An adopted handler's image copies the whole directory (`COPY . .`).
    files = render_project(ProjectSpec("w", kind=kind))
    assert {".env", ".env.*"} <= set(files[".dockerignore"].splitlines())
    assert ".env" in files[".gitignore"].splitlines()
