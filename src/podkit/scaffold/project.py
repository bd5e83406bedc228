"""`podkit init`: the files of a new worker project, rendered and written safely.

Rendering is pure (`render_project` -> {relative path: text}); writing checks every target
first and refuses to overwrite anything unless asked, so a refused run writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from podkit import __version__
from podkit.errors import ConfigError
from podkit.scaffold.workflow import registry, render_workflow

WORKFLOW_PATH = ".github/workflows/deploy.yml"
# Template file (under templates/project/) -> where it goes in the new project.
PROJECT_FILES: dict[str, str] = {
    "handler.py.tmpl": "handler.py",
    "Dockerfile.tmpl": "Dockerfile",
    "podkit.toml.tmpl": "podkit.toml",
    "README.md.tmpl": "README.md",
    "Makefile.tmpl": "Makefile",
    "demo.py.tmpl": "demo.py",
    "requirements.txt.tmpl": "requirements.txt",
    "requirements-dev.txt.tmpl": "requirements-dev.txt",
    "tests/test_handler.py.tmpl": "tests/test_handler.py",
    "tests/test_local_runpod.py.tmpl": "tests/test_local_runpod.py",
    "gitignore.tmpl": ".gitignore",
    "dockerignore.tmpl": ".dockerignore",
}
# `podkit init --type load_balancer`: a FastAPI worker (templates/load_balancer/).
LOAD_BALANCER_FILES: dict[str, str] = {
    "app.py.tmpl": "app.py",
    "Dockerfile.tmpl": "Dockerfile",
    "podkit.toml.tmpl": "podkit.toml",
    "README.md.tmpl": "README.md",
    "Makefile.tmpl": "Makefile",
    "requirements.txt.tmpl": "requirements.txt",
    "requirements-dev.txt.tmpl": "requirements-dev.txt",
    "tests/conftest.py.tmpl": "tests/conftest.py",
    "tests/test_app.py.tmpl": "tests/test_app.py",
    "tests/test_local_runpod.py.tmpl": "tests/test_local_runpod.py",
    "gitignore.tmpl": ".gitignore",
    "dockerignore.tmpl": ".dockerignore",
}
KINDS = {
    "queue": ("project", PROJECT_FILES),
    "load_balancer": ("load_balancer", LOAD_BALANCER_FILES),
}
_NAME_OK = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

REGISTRY_SETUP = {
    "ghcr": "; the image goes to GHCR with the workflow's own token",
    "gar": (
        ", and the repository variables `GAR_LOCATION`, `GCP_PROJECT`, `GAR_REPOSITORY`, "
        "`GCP_WORKLOAD_IDENTITY_PROVIDER` and `GCP_SERVICE_ACCOUNT` (keyless login through OIDC)"
    ),
    "dockerhub": ", the secret `DOCKERHUB_TOKEN` and the variable `DOCKERHUB_USERNAME`",
}
IMAGE_REPOSITORY = {
    "ghcr": "ghcr.io/OWNER/{name}",
    "gar": "LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/{name}",
    "dockerhub": "docker.io/USERNAME/{name}",
}


@dataclass(frozen=True)
class ProjectSpec:
    """What to scaffold: the project name, the registry, and how CI installs podkit."""

    name: str
    registry: str = "ghcr"
    pip_spec: str | None = None
    kind: str = "queue"  # or "load_balancer"


def project_name(raw: str) -> str:
    """A valid podkit project name from a directory name ('My_Worker' -> 'my-worker')."""
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:40].strip("-")
    if not _NAME_OK.match(name):
        raise ConfigError(
            f"cannot make a project name from {raw!r}",
            hint="pass --name with lowercase letters, digits and '-' (at most 40 characters)",
        )
    return name


def render_project(spec: ProjectSpec) -> dict[str, str]:
    """Every file of the new project, by relative path."""
    reg = registry(spec.registry)
    pip_spec = spec.pip_spec or f"podkit=={__version__}"
    words = {
        "PROJECT": spec.name,
        "IMAGE_REPOSITORY": IMAGE_REPOSITORY[reg.key].format(name=spec.name),
        "REGISTRY_TITLE": reg.title,
        "REGISTRY_SETUP": REGISTRY_SETUP[reg.key],
        "PODKIT_WORKER_SPEC": _with_extra(pip_spec, "worker"),
        "PODKIT_DEV_SPEC": _with_extra(pip_spec, "emulator"),
        "PODKIT_SPEC": pip_spec,
    }
    folder, templates = KINDS[spec.kind]
    base = resources.files("podkit.scaffold").joinpath(f"templates/{folder}")
    files: dict[str, str] = {}
    for template, target in templates.items():
        text = base.joinpath(template).read_text(encoding="utf-8")
        for key, value in words.items():
            text = text.replace(f"@@{key}@@", value)
        files[target] = text
    files[WORKFLOW_PATH] = render_workflow(reg.key, pip_spec=pip_spec)
    return files


def _with_extra(spec: str, extra: str) -> str:
    """`podkit==1.0` -> `podkit[extra]==1.0`, `podkit @ URL` -> `podkit[extra] @ URL`."""
    m = re.match(r"^podkit(\s*(?:==|@).+)$", spec)
    return f"podkit[{extra}]{m.group(1)}" if m else spec


def write_project(dest: Path, files: dict[str, str], *, force: bool = False) -> list[Path]:
    """Write `files` under `dest`; refuse (writing nothing) if any exists, unless `force`."""
    if dest.exists() and not dest.is_dir():
        raise ConfigError(
            f"{dest} exists and is not a directory", hint="pass a new or existing directory"
        )
    targets = {dest / rel: text for rel, text in files.items()}
    if not force:
        existing = [p for p in targets if p.exists()]
        if existing:
            shown = ", ".join(str(p.relative_to(dest)) for p in existing)
            raise ConfigError(
                f"{dest}: would overwrite {shown}",
                hint="pick an empty directory, or pass --force to overwrite these files",
            )
    written: list[Path] = []
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
